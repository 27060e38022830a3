"""The transport-free core: bytes in, response event and bytes out, with its signals.

Every transport (HTTP, and later WebSocket and Socket.IO) calls one
:class:`Dispatcher`, so validation, errors and signals are the same everywhere. This
module does not import Flask; the caller passes the signal sender (the app).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from time import perf_counter
from typing import Any, Callable, Mapping, NamedTuple, Optional, Union

from . import coroutines
from .codec import dumps
from .context import _handling
from .errors import BadProtocol, BadRequest, EventError, EventNotFound
from .event import (
    Event,
    bad_protocol_event,
    error_response_event,
    parse_event,
    random_id,
    response_event,
    without_auth,
)
from .redaction import (
    detached,
    redacted,
    scrub,
    scrubbed_traceback,
    secret_forms,
    with_nested_auth_cleared,
)
from .registry import HandlerSpec, Registry
from .schemas import PayloadValidationError
from .signals import error_noticed, event_error_noticed, event_finished, event_started, send

__all__ = ["Dispatcher", "Reply", "Settings", "TooManyInFlight"]

logger = logging.getLogger("flask_events")


Input = Union[bytes, bytearray, memoryview, str, Mapping[str, Any]]


class UnhandledError(EventError):
    """What the caller sees when a handler raised an unexpected exception."""

    code = "UNHANDLED_ERROR"
    message = "An unexpected error occurred while handling the event"


class InvalidPayload(BadRequest):
    """The payload does not match the handler's input schema (PROTOCOL §2)."""

    code = "INVALID_PAYLOAD"
    message = "The payload does not match the event's schema"


class InvalidResponse(Exception):
    """A handler's result does not match its output schema (checked in debug/testing).

    Not an :class:`EventError`: it is a server bug, answered ``<name>:error``.
    """


class UnserializableResponse(EventError):
    """What the caller sees when the response could not be encoded as JSON."""

    code = "UNSERIALIZABLE_RESPONSE"
    message = "The response could not be serialized"


class TooManyInFlight(EventError):
    """What the caller sees when its connection already has as many events being
    handled as it may (``EVENTS_SOCKET_MAX_IN_FLIGHT``); the event did not run.
    """

    code = "TOO_MANY_IN_FLIGHT"
    message = "Too many events in flight on this connection: wait for answers, then retry"

    def __init__(self, limit: int) -> None:
        super().__init__(parameters={"max": limit})


class Reply(NamedTuple):
    """What a transport sends back for one input."""

    #: The response event, encoded (``auth`` always ``{}``).
    body: bytes
    #: 200 for every protocol outcome; 500 when the response could not be encoded.
    status: int
    #: The response event that ``body`` encodes.
    event: Event


@dataclass(frozen=True)
class Settings:
    """Per-sender settings the dispatcher asks for when it needs them."""

    #: Check dumped results against the output schema (a mismatch is an error).
    validate_output: bool = False
    #: Most sub-events in one batch.
    batch_max_events: int = 100
    #: Most sub-events of one parallel batch running at once (a cap per batch).
    batch_max_workers: int = 16
    #: Seconds a batch may take before its sub-events not yet started are answered
    #: ``BATCH_TIMEOUT`` instead of running; ``None``: no limit.
    batch_timeout: Optional[float] = 30.0


class Dispatcher:
    """Runs events against the handlers of one :class:`~flask_events.registry.Registry`.

    :param registry: the handlers to serve; later registrations are seen at once.
    :param settings: returns the :class:`Settings` for a signal sender (the app);
        called only when output validation or a batch needs them.
    """

    def __init__(
        self, registry: Registry, settings: Callable[[Any], Settings] = lambda sender: Settings()
    ) -> None:
        self.registry = registry
        self.settings = settings
        self._handlers = registry._handlers
        #: Called with each event of a non-public handler before it runs; returns the
        #: principal (see :class:`~flask_events.Handling`) or raises ``Unauthorized`` /
        #: ``Forbidden``. ``None``: no authentication.
        self.authenticator: Optional[Callable[[Event], Any]] = None

    def handle(
        self,
        data: Input,
        *,
        sender: Any,
        transport: str = "http",
        max_depth: Optional[int] = None,
    ) -> Reply:
        """Parse ``data``, run its handler, and encode the answer. Never raises
        for bad input or a failing handler.

        :param data: one envelope: JSON bytes (read as UTF-8), a JSON string, or a
            decoded object.
        :param sender: the sender of the signals (the Flask app).
        :param transport: the transport's name, passed on to the signals.
        :param max_depth: the deepest nesting accepted (see
            :func:`~flask_events.parse_event`); deeper is answered ``badProtocol``.
        """
        try:
            request = parse_event(data, max_depth=max_depth)
        except BadProtocol as error:
            return self.reject(error, sender=sender, transport=transport)
        response = self.dispatch(request, sender=sender, transport=transport)
        return self.encode(request, response, sender=sender, transport=transport)

    def reject(self, error: BadProtocol, *, sender: Any, transport: str = "http") -> Reply:
        """Answer input that could not be read as an event with ``badProtocol``."""
        # its frames hold the raw input, credentials and all: cut them off
        send(error_noticed, sender, error=detached(error), transport=transport)
        event = bad_protocol_event(error)
        return Reply(event.to_json(), 200, event)

    def refuse(
        self,
        data: Input,
        error: EventError,
        *,
        sender: Any,
        transport: str = "http",
        max_depth: Optional[int] = None,
    ) -> Reply:
        """Answer ``data`` with ``error`` without running its handler (a limit was
        reached); input that is not an event is answered ``badProtocol`` as usual.
        """
        try:
            request = parse_event(data, max_depth=max_depth)
        except BadProtocol as bad:
            return self.reject(bad, sender=sender, transport=transport)
        response = self.refused(request, error, sender, transport)
        return self.encode(request, response, sender=sender, transport=transport)

    def dispatch(self, request: Event, *, sender: Any, transport: str = "http") -> Event:
        """Run the handler of a parsed ``request`` and return its response event."""
        spec = self._handlers.get((request.name, request.version))
        if spec is None:
            return self._not_found(request, sender, transport)
        return self._execute(spec, request, sender, transport)[0]

    def encode(
        self, request: Event, response: Event, *, sender: Any, transport: str = "http"
    ) -> Reply:
        """Encode ``response`` with ``auth`` ``{}`` — its own and that of any event a
        handler put inside its payload; if it cannot be encoded, answer
        ``<name>:error`` (``UNSERIALIZABLE_RESPONSE``) with status 500.
        """
        if response.auth:
            response = without_auth(response)
        try:
            body = dumps(response)
            # events a handler put inside its answer are answered without credentials
            response, body = with_nested_auth_cleared(response, body)
            return Reply(body, 200, response)
        except TypeError as exc:
            error: Exception = exc
        # %r and no traceback: one line, whatever the request's values or the error's
        # text (which quotes what the payload's objects raised: scrubbed)
        logger.error(
            "response to event %r v%r (id=%r, flowId=%r) is not serializable: %s: %r",
            request.name,
            request.version,
            request.id,
            request.flow_id,
            type(error).__name__,
            scrub(str(error), secret_forms(request.auth)),
        )
        send(event_error_noticed, sender, event=request, error=error, transport=transport)
        fallback = error_response_event(request, UnserializableResponse())
        try:
            return Reply(fallback.to_json(), 500, fallback)
        except TypeError:  # the request's name or ids cannot be written (not JSON text)
            fallback = Event("error", 1, random_id(), random_id(), fallback.payload)
            return Reply(fallback.to_json(), 500, fallback)

    def _not_found(self, request: Event, sender: Any, transport: str) -> Event:
        error = EventNotFound.for_event(request.name, request.version)
        return self.refused(request, error, sender, transport)

    @staticmethod
    def refused(request: Event, error: EventError, sender: Any, transport: str) -> Event:
        """The answer to ``request`` for an error Flask-Events built itself (unknown
        event, a limit, a nested batch), after ``event_error_noticed``. Such an error
        holds nothing of ``auth``, so it is passed unscrubbed: an unknown name costs no
        scrubbing of a large ``auth``.
        """
        send(
            event_error_noticed,
            sender,
            event=request,
            error=error,
            transport=transport,
            credentials={},
        )
        return error_response_event(request, error)

    def _execute(
        self, spec: HandlerSpec, request: Event, sender: Any, transport: str
    ) -> tuple[Event, Optional[Exception]]:
        """Run one handler: signals, input, call, output. Returns the response event
        and the exception the handler raised (``None`` if it returned).
        """
        shown = request  # what subscribers see: redacted once, the same object throughout
        if event_started.receivers:
            shown = redacted(request)
            send(event_started, sender, event=shown, transport=transport)
        timed = bool(event_finished.receivers)
        start = perf_counter() if timed else 0.0
        token = _handling.set((request, sender, transport))
        try:
            if self.authenticator is not None and not spec.public:
                self._authenticate(request, sender, transport)
            if spec.plain:  # sync, no schemas: the common case
                result = spec.func(request)
                response = result if isinstance(result, Event) else response_event(request, result)
            else:
                response = self._declared(spec, request, sender)
            error = None
        except Exception as exc:
            response, error = self._failure(spec, request, exc), exc
        finally:
            _handling.reset(token)
        if timed:
            self._finished(shown, request, response, error, start, sender, transport)
        return response, error

    async def _execute_async(
        self, spec: HandlerSpec, request: Event, sender: Any, transport: str
    ) -> tuple[Event, Optional[Exception]]:
        """:meth:`_execute` for an ``async def`` handler, awaited on the running loop."""
        shown = redacted(request)
        if event_started.receivers:
            send(event_started, sender, event=shown, transport=transport)
        start = perf_counter()
        _handling.set((request, sender, transport))  # this task's own context
        try:
            if self.authenticator is not None and not spec.public:
                self._authenticate(request, sender, transport)
            if spec.input is None:
                result = await spec.func(request)
            else:
                result = await spec.func(request, _load_input(spec, request))
            response = self._response(spec, request, result, sender)
            error = None
        except Exception as exc:
            response, error = self._failure(spec, request, exc), exc
        if event_finished.receivers:
            self._finished(shown, request, response, error, start, sender, transport)
        return response, error

    def _authenticate(self, request: Event, sender: Any, transport: str) -> None:
        """Run the authenticator; its result becomes ``current_handling().principal``."""
        assert self.authenticator is not None
        _handling.set((request, sender, transport, self.authenticator(request)))

    def _declared(self, spec: HandlerSpec, request: Event, sender: Any) -> Event:
        """Call a handler with schemas, or an async one, from sync code."""
        if spec.input is None:
            result = spec.func(request)
        else:
            result = spec.func(request, _load_input(spec, request))
        if spec.is_async:
            result = coroutines.run(result)
        return self._response(spec, request, result, sender)

    def _response(self, spec: HandlerSpec, request: Event, result: Any, sender: Any) -> Event:
        if isinstance(result, Event):
            return result
        if spec.output is not None:
            result = spec.output.dump(result)
            if self.settings(sender).validate_output:
                _check_output(spec, result)
        return response_event(request, result)

    def _failure(self, spec: HandlerSpec, request: Event, error: Exception) -> Event:
        if isinstance(error, EventError):
            return error_response_event(request, error)
        _log_failure(spec, request, error)
        return error_response_event(request, UnhandledError())

    @staticmethod
    def _finished(
        shown: Event,
        request: Event,
        response: Event,
        error: Optional[Exception],
        start: float,
        sender: Any,
        transport: str,
    ) -> None:
        send(
            event_finished,
            sender,
            event=shown,
            response=response,
            error=error,
            duration=perf_counter() - start,
            transport=transport,
            credentials=request.auth,
        )


def _log_failure(spec: HandlerSpec, request: Event, error: Exception) -> None:
    """Log a handler's unexpected exception as one record: a one-line message naming
    the event (its request-supplied values written with ``%r``, so they cannot start
    a new line), and as the record's ``exc_text`` — where ``logger.exception`` puts
    it, printed below the line by formatters — its traceback with every credential
    of ``auth`` replaced (a handler may have put a token in its exception).
    """
    if not logger.isEnabledFor(logging.ERROR):
        return
    filename, line, function, stack = logger.findCaller()
    record = logger.makeRecord(
        logger.name,
        logging.ERROR,
        filename,
        line,
        "handler %s failed for event %r v%r (id=%r, flowId=%r)",
        (spec.qualname, request.name, request.version, request.id, request.flow_id),
        None,
        function,
        None,
        stack,
    )
    record.exc_text = scrubbed_traceback(error, secret_forms(request.auth))
    logger.handle(record)


def _load_input(spec: HandlerSpec, request: Event) -> Any:
    assert spec.input is not None
    try:
        return spec.input.load(request.payload)
    except PayloadValidationError as exc:
        raise InvalidPayload(parameters={"errors": exc.errors}) from None


def _check_output(spec: HandlerSpec, dumped: Any) -> None:
    """Validate a dumped result (debug and testing): a mismatch is a loud server error."""
    assert spec.output is not None
    try:
        spec.output.check(dumped, output=True)
    except PayloadValidationError as exc:
        raise InvalidResponse(
            f"the result of {spec.qualname} does not match {spec.output.name}: {exc.errors}"
        ) from None
