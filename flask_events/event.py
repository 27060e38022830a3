"""The event envelope: parsing and validation, serialization, and builders.

This module is transport-free: it does not import Flask.
"""

from __future__ import annotations

import uuid
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
_decode = codec.decode
_DECODE_ERRORS = codec.DECODE_ERRORS
_dumps = codec.dumps


def random_id() -> str:
    """A fresh UUIDv4 as a string (the Go library's ``RandomID``)."""
    return str(uuid.uuid4())


class Event:
    """One event envelope (PROTOCOL §1).

    ``flow_id`` is ``flowId`` on the wire. ``id`` and ``flow_id`` default to fresh
    UUIDv4s; ``identity``, ``auth`` and ``metadata`` to empty objects. ``auth`` is
    kept out of ``repr`` so that logging an event never logs credentials.
    """

    __slots__ = ("auth", "flow_id", "id", "identity", "metadata", "name", "payload", "version")

    def __init__(
        self,
        name: str,
        version: int,
        id: Optional[str] = None,
        flow_id: Optional[str] = None,
        payload: Any = None,
        identity: Optional[JSONObject] = None,
        auth: Optional[JSONObject] = None,
        metadata: Optional[JSONObject] = None,
    ) -> None:
        self.name = name
        self.version = version
        self.id = random_id() if id is None else id
        self.flow_id = random_id() if flow_id is None else flow_id
        self.payload = payload
        self.identity = {} if identity is None else identity
        self.auth = {} if auth is None else auth
        self.metadata = {} if metadata is None else metadata

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, key) == getattr(other, key) for key in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dataclass

    def __repr__(self) -> str:
        return (
            f"Event(name={self.name!r}, version={self.version!r}, id={self.id!r}, "
            f"flow_id={self.flow_id!r}, payload={self.payload!r}, "
            f"identity={self.identity!r}, metadata={self.metadata!r})"
        )

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Event:
        """Validate a decoded envelope and build the event (see :func:`parse_event`).

        :raises BadProtocol: naming the first missing or mistyped property.
        """
        return parse_event(raw)

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
        return _dumps(self.to_dict(include_auth=include_auth))

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

    This is the hot path of every transport, so it is written as one function.

    :raises BadProtocol: if the input is not JSON, not an object, or misses or
        mistypes a property (PROTOCOL §1).
    """
    if type(data) is bytes or isinstance(data, (str, bytearray, memoryview)):
        try:
            raw = _decode(data)
        except _DECODE_ERRORS as exc:
            raise BadProtocol.unreadable(codec.describe(exc)) from None
    else:
        raw = data
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise BadProtocol(
            "The event must be a JSON object",
            parameters={"message": f"expected a JSON object, got {_json_type(raw)}"},
        )
    try:
        name, version = raw["name"], raw["version"]
        event_id, flow_id, payload = raw["id"], raw["flowId"], raw["payload"]
    except KeyError:
        raise _first_bad_property(raw) from None
    if not (
        type(name) is str
        and name
        and type(version) is int
        and version >= 1
        and type(event_id) is str
        and event_id
        and type(flow_id) is str
        and flow_id
    ):
        raise _first_bad_property(raw)
    identity, auth, metadata = raw.get("identity"), raw.get("auth"), raw.get("metadata")
    if type(identity) is not dict:
        identity = _optional_object(raw, "identity")
    if type(auth) is not dict:
        auth = _optional_object(raw, "auth")
    if type(metadata) is not dict:
        metadata = _optional_object(raw, "metadata")
    return Event(name, version, event_id, flow_id, payload, identity, auth, metadata)


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


_REQUIRED = (
    ("name", "a non-empty string"),
    ("version", "an integer >= 1"),
    ("id", "a non-empty string"),
    ("flowId", "a non-empty string"),
)


def _first_bad_property(raw: Mapping[str, Any]) -> BadProtocol:
    """The error for the first required property that is missing or mistyped."""
    for name, expected in _REQUIRED:
        if name not in raw:
            return BadProtocol.for_property(name, f"Property '{name}' is required", raw)
        value = raw[name]
        valid = (
            type(value) is int and value >= 1
            if name == "version"
            else (type(value) is str and bool(value))
        )
        if not valid:
            got = _json_type(value)
            return BadProtocol.for_property(
                name, f"Property '{name}' must be {expected}, got {got}", raw
            )
    return BadProtocol.for_property("payload", "Property 'payload' is required", raw)


def _optional_object(raw: Mapping[str, Any], name: str) -> JSONObject:
    """An optional object property: missing or ``null`` is ``{}``."""
    value = raw.get(name)
    if value is None:
        return {}
    if type(value) is dict:
        return value
    got = _json_type(value)
    raise BadProtocol.for_property(name, f"Property '{name}' must be an object, got {got}", raw)


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
