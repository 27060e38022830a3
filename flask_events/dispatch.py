"""The transport-free core: bytes in, response event and bytes out, with its signals.

Every transport (HTTP, and later WebSocket and Socket.IO) calls one
:class:`Dispatcher`, so validation, errors and signals are the same everywhere. This
module does not import Flask; the caller passes the signal sender (the app).
"""

from __future__ import annotations

import logging
from time import perf_counter
from typing import Any, Mapping, NamedTuple, Optional, Union

import orjson

from .errors import BadProtocol, EventError, EventNotFound
from .event import (
    Event,
    bad_protocol_event,
    error_response_event,
    parse_event,
    response_event,
)
from .registry import HandlerSpec, Registry
from .signals import error_noticed, event_error_noticed, event_finished, event_started, send

__all__ = ["Dispatcher", "Reply"]

logger = logging.getLogger("flask_events")

Input = Union[bytes, bytearray, memoryview, str, Mapping[str, Any]]


class UnhandledError(EventError):
    """What the caller sees when a handler raised an unexpected exception."""

    code = "UNHANDLED_ERROR"
    message = "An unexpected error occurred while handling the event"


class UnserializableResponse(EventError):
    """What the caller sees when the response could not be encoded as JSON."""

    code = "UNSERIALIZABLE_RESPONSE"
    message = "The response could not be serialized"


class Reply(NamedTuple):
    """What a transport sends back for one input."""

    #: The response event, encoded (``auth`` always ``{}``).
    body: bytes
    #: 200 for every protocol outcome; 500 when the response could not be encoded.
    status: int
    #: The response event that ``body`` encodes.
    event: Event


#: Hot-path shortcuts: a Reply built without NamedTuple's Python-level ``__new__``,
#: and orjson called directly (``encode`` has the exact fallback).
_new_reply = tuple.__new__
_orjson_dumps = orjson.dumps


class Dispatcher:
    """Runs events against the handlers of one :class:`~flask_events.registry.Registry`.

    :param registry: the handlers to serve; later registrations are seen at once.
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._handlers = registry._handlers

    def handle(self, data: Input, *, sender: Any, transport: str = "http") -> Reply:
        """Parse ``data``, run its handler, and encode the answer. Never raises
        for bad input or a failing handler.

        :param data: one envelope: JSON bytes (read as UTF-8), a JSON string, or a
            decoded object.
        :param sender: the sender of the signals (the Flask app).
        :param transport: the transport's name, passed on to the signals.
        """
        try:
            request = parse_event(data)
        except BadProtocol as error:
            return self.reject(error, sender=sender, transport=transport)
        spec = self._handlers.get((request.name, request.version))
        if spec is None:
            response = self._not_found(request, sender, transport)
        else:
            response = self._run(spec, request, sender, transport)
        try:  # the common case inline; encode() handles what orjson refuses
            body = _orjson_dumps(response.to_dict(include_auth=False))
        except TypeError:
            return self.encode(request, response, sender=sender, transport=transport)
        return _new_reply(Reply, (body, 200, response))

    def reject(self, error: BadProtocol, *, sender: Any, transport: str = "http") -> Reply:
        """Answer input that could not be read as an event with ``badProtocol``."""
        send(error_noticed, sender, error=error, transport=transport)
        event = bad_protocol_event(error)
        return Reply(event.to_json(include_auth=False), 200, event)

    def dispatch(self, request: Event, *, sender: Any, transport: str = "http") -> Event:
        """Run the handler of a parsed ``request`` and return its response event."""
        spec = self._handlers.get((request.name, request.version))
        if spec is None:
            return self._not_found(request, sender, transport)
        return self._run(spec, request, sender, transport)

    def encode(
        self, request: Event, response: Event, *, sender: Any, transport: str = "http"
    ) -> Reply:
        """Encode ``response`` (``auth`` always ``{}``); if it cannot be encoded,
        answer ``<name>:error`` with status 500.
        """
        try:
            return Reply(response.to_json(include_auth=False), 200, response)
        except TypeError as exc:
            error = exc
        logger.error(
            "response to event %r v%s (id=%s, flowId=%s) is not serializable: %s",
            request.name,
            request.version,
            request.id,
            request.flow_id,
            error,
        )
        send(event_error_noticed, sender, event=request, error=error, transport=transport)
        fallback = error_response_event(request, UnserializableResponse())
        return Reply(fallback.to_json(include_auth=False), 500, fallback)

    def _not_found(self, request: Event, sender: Any, transport: str) -> Event:
        error = EventNotFound.for_event(request.name, request.version)
        send(event_error_noticed, sender, event=request, error=error, transport=transport)
        return error_response_event(request, error)

    def _run(self, spec: HandlerSpec, request: Event, sender: Any, transport: str) -> Event:
        if event_started.receivers:
            send(event_started, sender, event=request, transport=transport)
        timed = bool(event_finished.receivers)
        start = perf_counter() if timed else 0.0
        error: Optional[Exception] = None
        try:
            result = spec.func(request)
        except EventError as exc:
            error = exc
            response = error_response_event(request, exc)
        except Exception as exc:
            error = exc
            logger.error(
                "handler %s failed for event %r v%s (id=%s, flowId=%s)",
                spec.qualname,
                request.name,
                request.version,
                request.id,
                request.flow_id,
                exc_info=True,
            )
            response = error_response_event(request, UnhandledError())
        else:
            response = (
                result
                if type(result) is Event or isinstance(result, Event)
                else (response_event(request, result))
            )
        if timed:
            send(
                event_finished,
                sender,
                event=request,
                response=response,
                error=error,
                duration=perf_counter() - start,
                transport=transport,
            )
        return response
