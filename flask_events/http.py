"""The HTTP binding (docs/protocol.rst#http-binding): the view of the
events endpoint, and reading a request body so that whatever the client or the WSGI
server does, the answer is an event.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from flask import Flask, Request, Response, current_app, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.wsgi import get_content_length

from .config import setting
from .dispatch import Dispatcher, Reply
from .errors import BadProtocol

__all__ = ["events_view_for"]


def events_view_for(dispatcher: Dispatcher) -> Callable[[], Response]:
    """The view of the events endpoint (a plain function: Flask calls it fastest)."""

    def events() -> Response:
        """Receive one event envelope and answer with its response event.

        Every protocol outcome is HTTP 200 with an event body; 413 with a
        ``badProtocol`` event above ``EVENTS_MAX_CONTENT_LENGTH``; 500 with an
        ``<name>:error`` event when the response cannot be serialized.
        """
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        prefix = dispatcher.config_prefix
        limit = setting(app, "EVENTS_MAX_CONTENT_LENGTH", prefix)
        try:
            data = _read_body(request._get_current_object(), limit)  # type: ignore[attr-defined]
        except RequestEntityTooLarge:
            error = BadProtocol.unreadable(f"the body is larger than {limit} bytes")
            return _respond(app, dispatcher.reject(error, sender=app), 413)
        except BadProtocol as error:
            return _respond(app, dispatcher.reject(error, sender=app))
        max_depth = setting(app, "EVENTS_MAX_DEPTH", prefix)
        reply = dispatcher.handle(data, sender=app, max_depth=max_depth)
        return _respond(app, reply)

    return events


def _read_body(req: Request, limit: Optional[int]) -> bytes:
    """The raw request body, refusing more than ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before reading; a body
    without one (chunked) is read only up to one byte past the limit.

    Whatever goes wrong while reading is answered here, in one place: the WSGI server
    raises its own exception classes for a body it cannot frame (gunicorn's
    ``InvalidChunkSize``, ``ChunkMissingTerminator``, ``NoMoreData``...; werkzeug's
    ``OSError`` or ``ClientDisconnected``; a socket timeout), so any ``Exception``
    from the stream becomes ``badProtocol`` naming only the exception's class (its
    text may quote body bytes).

    :raises RequestEntityTooLarge: above the limit (ours or the app's
        ``MAX_CONTENT_LENGTH``).
    :raises BadProtocol: the body could not be read, or ended before its
        ``Content-Length``.
    """
    declared = _declared_length(req.environ)
    if limit is not None and declared > limit:  # refuse before reading
        raise RequestEntityTooLarge()
    size = declared if declared >= 0 else (None if limit is None else limit + 1)
    failure = None
    try:
        data = _read_up_to(req.stream, size)
    except RequestEntityTooLarge:
        raise
    except ClientDisconnected:  # werkzeug's LimitedStream: fewer bytes than declared
        data, failure = b"", _SHORT
    except Exception as exc:  # the server's own framing errors, see above
        data, failure = b"", f"the body could not be read: {type(exc).__name__}"
    if failure is None and len(data) < declared:
        failure = _SHORT
    if failure is not None:  # raised outside ``except``: no chained server exception
        raise BadProtocol("The request body could not be read", parameters={"message": failure})
    if limit is not None and len(data) > limit:
        raise RequestEntityTooLarge()
    return data


_SHORT = "the body ended before its Content-Length"


def _read_up_to(stream: Any, size: Optional[int]) -> bytes:
    """Read ``size`` bytes (all, if ``None``) or until the stream ends: one ``read``
    may return less than asked (werkzeug's ``LimitedStream`` reads its socket once).
    """
    if size is None:
        return stream.read()  # type: ignore[no-any-return]
    chunks = []
    while size > 0:
        chunk = stream.read(size)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _declared_length(environ: dict[str, Any]) -> int:
    """The ``Content-Length`` the client declared, or -1 for none (or a chunked
    ``Transfer-Encoding``, which overrides it); werkzeug's reading of the header.
    """
    length = get_content_length(environ)
    return -1 if length is None else length


def _respond(app: Flask, reply: Reply, status: Optional[int] = None) -> Response:
    return app.response_class(reply.body, status or reply.status, content_type="application/json")
