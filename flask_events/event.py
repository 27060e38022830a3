"""The event envelope: parsing and validation, serialization, and builders.

This module is transport-free: it does not import Flask.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Union

from . import codec
from .errors import BadProtocol, EventError, EventNotFound

__all__ = [
    "Event",
    "bad_protocol_event",
    "error_event",
    "error_response_event",
    "event_not_found_event",
    "parse_event",
    "random_id",
    "redirect_event",
    "response_event",
]

JSONObject = dict[str, Any]


def random_id() -> str:
    """A fresh UUIDv4 as a string (the Go library's ``RandomID``)."""
    return str(uuid.uuid4())


@dataclass
class Event:
    """One event envelope (PROTOCOL §1).

    ``flow_id`` is ``flowId`` on the wire. ``auth`` is kept out of ``repr`` so that
    logging an event never logs credentials.
    """

    name: str
    version: int
    id: str = field(default_factory=random_id)
    flow_id: str = field(default_factory=random_id)
    payload: Any = None
    identity: JSONObject = field(default_factory=dict)
    auth: JSONObject = field(default_factory=dict, repr=False)
    metadata: JSONObject = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Event:
        """Validate a decoded envelope and build the event.

        :raises BadProtocol: naming the first missing or mistyped property.
        """
        name = raw.get("name")
        if type(name) is not str or not name:
            raise _bad_property(raw, "name", "a non-empty string")
        version = raw.get("version")
        if type(version) is not int or version < 1:
            raise _bad_property(raw, "version", "an integer >= 1")
        event_id = raw.get("id")
        if type(event_id) is not str or not event_id:
            raise _bad_property(raw, "id", "a non-empty string")
        flow_id = raw.get("flowId")
        if type(flow_id) is not str or not flow_id:
            raise _bad_property(raw, "flowId", "a non-empty string")
        if "payload" not in raw:
            raise BadProtocol.for_property("payload", "Property 'payload' is required", raw)
        return cls(
            name,
            version,
            event_id,
            flow_id,
            raw["payload"],
            _object_property(raw, "identity"),
            _object_property(raw, "auth"),
            _object_property(raw, "metadata"),
        )

    def to_dict(self, *, include_auth: bool = True) -> JSONObject:
        """The wire form: all eight keys, in the order of PROTOCOL §2.

        :param include_auth: ``False`` sends ``"auth": {}`` whatever the event holds;
            the server always serializes its answers that way.
        """
        return {
            "name": self.name,
            "version": self.version,
            "id": self.id,
            "flowId": self.flow_id,
            "payload": self.payload,
            "identity": self.identity,
            "auth": self.auth if include_auth else {},
            "metadata": self.metadata,
        }

    def to_json(self, *, include_auth: bool = True) -> bytes:
        """:meth:`to_dict` encoded as UTF-8 JSON bytes.

        :raises TypeError: if a field (usually the payload) is not serializable.
        """
        return codec.dumps(self.to_dict(include_auth=include_auth))

    @property
    def kind(self) -> str:
        """How a client classifies this event as a response (PROTOCOL §2).

        ``"response"``, ``"redirect"``, or the error type (``"notFound"``,
        ``"eventNotFound"``, ``"badProtocol"``...): the text after the last ``:``.
        """
        return self.name.rsplit(":", 1)[-1]

    @property
    def is_success(self) -> bool:
        """True for a ``...:response`` event."""
        return self.kind == "response"

    @property
    def is_redirect(self) -> bool:
        """True for a ``...:redirect`` event."""
        return self.kind == "redirect"

    @property
    def is_error(self) -> bool:
        """True for any event a client reads as an error."""
        return self.kind not in ("response", "redirect")


def parse_event(data: Union[bytes, bytearray, memoryview, str, Mapping[str, Any]]) -> Event:
    """Read an event from JSON bytes (always UTF-8), a JSON string, or a decoded dict.

    :raises BadProtocol: if the input is not JSON, not an object, or misses or
        mistypes a property (PROTOCOL §1).
    """
    if isinstance(data, Mapping):
        return Event.from_dict(data)
    try:
        raw = codec.loads(data)
    except ValueError as exc:
        raise BadProtocol.unreadable(str(exc)) from None
    if type(raw) is not dict:
        raise BadProtocol(
            "The event must be a JSON object",
            parameters={"message": f"expected a JSON object, got {_json_type(raw)}"},
        )
    return Event.from_dict(raw)


def response_event(request: Event, payload: Any) -> Event:
    """``<name>:response`` for ``request`` (the Go library's ``NewResponse``)."""
    return Event(f"{request.name}:response", request.version, request.id, request.flow_id, payload)


def redirect_event(
    request: Event, url: str, query_parameters: Optional[Mapping[str, Any]] = None
) -> Event:
    """``<name>:redirect`` for ``request``: tells the caller to go to ``url``."""
    payload = {"url": url, "queryParameters": dict(query_parameters or {})}
    return Event(f"{request.name}:redirect", request.version, request.id, request.flow_id, payload)


def error_response_event(request: Event, error: EventError) -> Event:
    """The error event answering ``request``, with ``error``'s code, parameters, message.

    Named ``<name>:<type>`` with the request's version, or just ``<type>`` with
    version 1 for the unprefixed errors (``eventNotFound``, ``badProtocol``).
    """
    if error.prefixed:
        name, version = f"{request.name}:{error.type}", request.version
    else:
        name, version = error.type, 1
    return Event(name, version, request.id, request.flow_id, error.to_payload())


def error_event(
    flow_id: str,
    message: str,
    metadata: Optional[Mapping[str, Any]] = None,
    code: Optional[str] = None,
) -> Event:
    """An event named ``error``, version 1, with a fresh id.

    The Go library's ``NewError`` (and ``NewErrorWithMetadata`` when ``metadata`` is
    given). The payload is ``{"message": message}``, plus ``code`` when given.
    """
    payload: JSONObject = {"message": message}
    if code is not None:
        payload["code"] = code
    return Event("error", 1, random_id(), flow_id, payload, metadata=dict(metadata or {}))


def event_not_found_event(request: Event) -> Event:
    """``eventNotFound``: no handler is registered for the request's (name, version)."""
    return error_response_event(request, EventNotFound.for_event(request.name, request.version))


def bad_protocol_event(error: BadProtocol) -> Event:
    """``badProtocol``, with the request's ids where they were readable."""
    return Event(
        error.type,
        1,
        error.event_id or random_id(),
        error.flow_id or random_id(),
        error.to_payload(),
    )


def _bad_property(raw: Mapping[str, Any], name: str, expected: str) -> BadProtocol:
    if name not in raw:
        return BadProtocol.for_property(name, f"Property '{name}' is required", raw)
    got = _json_type(raw[name])
    return BadProtocol.for_property(name, f"Property '{name}' must be {expected}, got {got}", raw)


def _object_property(raw: Mapping[str, Any], name: str) -> JSONObject:
    value = raw.get(name)
    if value is None:
        return {}
    if type(value) is not dict:
        raise BadProtocol.for_property(
            name, f"Property '{name}' must be an object, got {_json_type(value)}", raw
        )
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer out of range" if value < 1 else "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
