"""What an exception raised while handling an event becomes: the blueprint's error
handlers, werkzeug's ``HTTPException`` (``abort(404)``) as a typed error, and the log
line of an unexpected one. Transport-free: werkzeug, no Flask.
"""

from __future__ import annotations

import inspect
import logging
import re
from typing import Any, Callable, Optional, Type, Union

from werkzeug.exceptions import HTTPException, default_exceptions

from . import coroutines
from .errors import (
    BadRequest,
    EventError,
    EventsError,
    Forbidden,
    Gone,
    NotFound,
    Unauthorized,
    UnhandledError,
    Unprocessable,
)
from .event import Event, error_response_event
from .redaction import scrubbed_traceback, secret_forms

__all__ = ["ErrorHandlers", "UnhandledError", "answer", "http_error", "log_failure", "qualname"]

logger = logging.getLogger("flask_events")

#: What an error handler is declared for: an exception class, or an HTTP status that
#: an ``HTTPException`` carries.
# ``Type``, not ``type``: Sphinx would link ``type`` to the errors' ``type`` attributes
ErrorKey = Union[Type[BaseException], int]
#: Gets the exception; returns (or raises) an ``EventError``, or returns an ``Event``.
ErrorHandler = Callable[[Exception], Union[EventError, Event]]

#: The HTTP statuses that have an error type of their own (docs/protocol.rst#outcomes).
_TYPED: dict[int, type[EventError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    410: Gone,
    422: Unprocessable,
}


def http_error(error: HTTPException) -> EventError:
    """The typed error answering a werkzeug ``HTTPException`` (``abort(status)``).

    400, 401, 403, 404, 410 and 422 give ``badRequest``, ``unauthorized``,
    ``forbidden``, ``notFound``, ``gone`` and ``unprocessable``; any other 4xx gives
    ``badRequest``; anything else (3xx, 5xx, or ``abort(response)`` with no status
    of its own) gives ``error``. Its code is werkzeug's name of the status in upper
    snake case (``NOT_FOUND``, ``TOO_MANY_REQUESTS``; ``HTTP_ERROR`` without a
    status), its message the description given to it (``abort(404, "No such
    account")``; without one, the error type's default message), its
    parameters ``{"status": N}`` (the status of ``abort(response)``'s response),
    with the keyword arguments of flask-smorest's ``abort(status, message=...,
    **kwargs)``: ``message`` as the message, the others as parameters.
    """
    status = error.code
    if status is None and error.response is not None:
        status = error.response.status_code
    if error.code is None:
        cls: type[EventError] = EventError
        code = "HTTP_ERROR"
    else:
        cls = _TYPED.get(error.code) or (BadRequest if 400 <= error.code < 500 else EventError)
        code = re.sub(r"[^0-9A-Za-z]+", "_", error.name).strip("_").upper()
    # werkzeug's own description (about URLs and browsers) says nothing of an event
    own = error.description != type(error).description
    message = error.description if own and isinstance(error.description, str) else None
    parameters: dict[str, Any] = {} if status is None else {"status": status}
    data = getattr(error, "data", None)  # flask_smorest.abort's keyword arguments
    if isinstance(data, dict):
        extra = dict(data)
        if isinstance(extra.get("message"), str):
            message = extra.pop("message")
        parameters.update(extra)
    return cls(message, code=code, parameters=parameters)


class ErrorHandlers:
    """The error handlers one blueprint declares, found as Flask finds its own: the
    most specific class of the exception first (along its MRO); a status (an
    ``int``) matches an ``HTTPException`` with that status, after the classes
    specific to that status and before the more general ones.
    """

    def __init__(self) -> None:
        self._handlers: dict[ErrorKey, ErrorHandler] = {}

    def __bool__(self) -> bool:
        return bool(self._handlers)

    def add(self, key: ErrorKey, func: ErrorHandler, *, owner: str = "") -> None:
        """Declare ``func`` for ``key``.

        :param owner: who declares it, for messages (the blueprint's name).
        :raises EventsError: ``key`` is neither an exception class nor an HTTP error
            status werkzeug knows, or has a handler already (both are named).
        """
        if isinstance(key, bool) or not (
            (isinstance(key, int) and key in default_exceptions)
            or (isinstance(key, type) and issubclass(key, Exception))
        ):
            raise EventsError(
                f"{owner}: an error handler is declared for an exception class or an "
                f"HTTP error status (such as 404), not for {key!r}"
            )
        existing = self._handlers.get(key)
        if existing is not None:
            raise EventsError(
                f"{owner} has an error handler for {_key_name(key)} already, "
                f"{qualname(existing)}; cannot also declare {qualname(func)}"
            )
        self._handlers[key] = func

    def find(self, error: BaseException) -> Optional[ErrorHandler]:
        """The handler declared for ``error``, or ``None``."""
        if not self._handlers:
            return None
        status = error.code if isinstance(error, HTTPException) else None
        for cls in type(error).__mro__:
            if status is not None and getattr(cls, "code", None) != status:
                found = self._handlers.get(status)  # past the classes of this status
                if found is not None:
                    return found
                status = None
            found = self._handlers.get(cls)
            if found is not None:
                return found
        return None


def _key_name(key: ErrorKey) -> str:
    return f"status {key}" if isinstance(key, int) else f"{key.__module__}.{key.__qualname__}"


def qualname(func: Any) -> str:
    """``module.function`` of a declared function, for messages."""
    module = getattr(func, "__module__", None) or "?"
    return f"{module}.{getattr(func, '__qualname__', None) or repr(func)}"


def log_failure(what: str, request: Event, error: BaseException) -> None:
    """Log an unexpected exception as one record: a one-line message naming ``what``
    failed and the event (its request-supplied values written with ``%r``, so they
    cannot start a new line), and as the record's ``exc_text`` — where
    ``logger.exception`` puts it, printed below the line by formatters — its
    traceback with every credential of ``auth`` replaced (a handler may have put a
    token in its exception).
    """
    if not logger.isEnabledFor(logging.ERROR):
        return
    filename, line, function, stack = logger.findCaller()
    record = logger.makeRecord(
        logger.name,
        logging.ERROR,
        filename,
        line,
        "%s failed for event %r v%r (id=%r, flowId=%r)",
        (what, request.name, request.version, request.id, request.flow_id),
        None,
        function,
        None,
        stack,
    )
    record.exc_text = scrubbed_traceback(error, secret_forms(request.auth))
    logger.handle(record)


def answer(
    request: Event,
    error: Exception,
    handlers: Optional[ErrorHandlers],
    what: str,
    propagate: Callable[[], bool],
) -> tuple[Event, Optional[Exception]]:
    """The answer to ``error``, raised while handling ``request``, and the exception
    to propagate instead of answering, if any.

    The error handler declared for it in ``handlers`` answers first; else an
    :class:`~flask_events.EventError` is answered as it is, an ``HTTPException`` as
    :func:`http_error`, anything else ``<name>:error`` (``UNHANDLED_ERROR``), logged
    — or, when ``propagate()`` is true, it is to be propagated (not logged).

    :param what: what raised it, for the log (``"handler module.function"``).
    """
    handler = None if handlers is None else handlers.find(error)
    if handler is not None:
        return _handled(request, error, handler, propagate)
    if isinstance(error, EventError):
        return error_response_event(request, error), None
    if isinstance(error, HTTPException):
        return error_response_event(request, http_error(error)), None
    return _unexpected(request, error, what, propagate)


def _handled(
    request: Event, error: Exception, handler: ErrorHandler, propagate: Callable[[], bool]
) -> tuple[Event, Optional[Exception]]:
    """The answer of the error handler declared for ``error``: an ``EventError`` it
    returns or raises, or an ``Event`` it returns; anything else is its bug.
    """
    what = f"error handler {qualname(handler)}"
    try:
        result: Any = handler(error)
        if inspect.iscoroutine(result):  # an ``async def`` one: run to completion
            result = coroutines.run(result)
    except EventError as refusal:
        result = refusal
    except Exception as failure:
        return _unexpected(request, failure, what, propagate)
    if isinstance(result, EventError):
        return error_response_event(request, result), None
    if isinstance(result, Event):
        return result, None
    wrong = TypeError(
        f"{what} returned {type(result).__name__}: it must return or raise an "
        "EventError, or return an Event"
    )
    wrong.__cause__ = error
    return _unexpected(request, wrong, what, propagate)


def _unexpected(
    request: Event, error: Exception, what: str, propagate: Callable[[], bool]
) -> tuple[Event, Optional[Exception]]:
    """``<name>:error`` for an unexpected exception, logged; or the exception to
    propagate (not logged: it is raised).
    """
    if propagate():
        return error_response_event(request, UnhandledError()), error
    log_failure(what, request, error)
    return error_response_event(request, UnhandledError()), None
