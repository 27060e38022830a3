"""The event envelope: parsing and validation, serialization, and builders.

:class:`Event` is a ``msgspec.Struct``: a well-formed envelope is decoded, validated
and built in one pass of compiled code, and encoded the same way. Anything else takes
a slower path that names exactly what is wrong (docs/protocol.rst#envelope).
Transport-free: no Flask import.
"""

from __future__ import annotations

import uuid
import warnings
from typing import Annotated, Any, Mapping, Optional, Union

import msgspec

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
    "without_auth",
]

#: A JSON object as Python has it (``identity``, ``auth``, ``metadata``).
JSONObject = dict[str, Any]
# Constraints checked when an envelope is decoded (not when an Event is constructed).
_NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
_Version = Annotated[int, msgspec.Meta(ge=1)]


def random_id() -> str:
    """A fresh UUIDv4 as a string (the Go library's ``RandomID``)."""
    return str(uuid.uuid4())


class Event(msgspec.Struct):
    """One event envelope
    (docs/protocol.rst#envelope): ``Event(name, version, id, flow_id, payload)``,
    plus ``identity``, ``auth`` and ``metadata`` (empty objects by default).

    ``flow_id`` is ``flowId`` on the wire. Use :meth:`new` for an event with fresh
    ids. ``auth`` is kept out of ``repr`` so that logging an event never logs
    credentials. Events compare by value.
    """

    name: _NonEmpty
    version: _Version
    id: _NonEmpty
    flow_id: _NonEmpty = msgspec.field(name="flowId")
    payload: Any
    identity: JSONObject = {}
    auth: JSONObject = {}
    metadata: JSONObject = {}

    @classmethod
    def new(
        cls,
        name: str,
        version: int,
        payload: Any = None,
        *,
        id: Optional[str] = None,
        flow_id: Optional[str] = None,
        identity: Optional[JSONObject] = None,
        auth: Optional[JSONObject] = None,
        metadata: Optional[JSONObject] = None,
    ) -> Event:
        """An event with a fresh id and a fresh flowId, unless they are given."""
        return cls(
            name,
            version,
            id or random_id(),
            flow_id or random_id(),
            payload,
            identity or {},
            auth or {},
            metadata or {},
        )

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Event:
        """Validate a decoded envelope and build the event.

        .. deprecated:: 0.1
           Use :func:`parse_event`, which this calls (it warns ``DeprecationWarning``).

        :raises BadProtocol: naming the first missing or mistyped property.
        """
        warnings.warn(
            "Event.from_dict is deprecated: use flask_events.parse_event",
            DeprecationWarning,
            stacklevel=2,
        )
        return parse_event(raw)

    def __repr__(self) -> str:
        return (
            f"Event(name={self.name!r}, version={self.version!r}, id={self.id!r}, "
            f"flow_id={self.flow_id!r}, payload={self.payload!r}, "
            f"identity={self.identity!r}, metadata={self.metadata!r})"
        )

    def to_dict(self, *, include_auth: bool = True) -> JSONObject:
        """The wire form: all eight keys, in the order of docs/protocol.rst#responses.

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
        """The wire form encoded as UTF-8 JSON bytes.

        :raises TypeError: if a field (usually the payload) is not serializable.
        """
        return codec.dumps(self if include_auth else without_auth(self))

    @property
    def kind(self) -> str:
        """How a client classifies this event as a response (docs/protocol.rst#responses).

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

    @property
    def error_code(self) -> Optional[str]:
        """The ``code`` of an error event's payload (``None`` for other events)."""
        if self.is_error and isinstance(self.payload, dict):
            code = self.payload.get("code")
            return code if isinstance(code, str) else None
        return None


_decode_event = msgspec.json.Decoder(Event).decode
_convert = msgspec.convert
_replace = msgspec.structs.replace


def without_auth(event: Event) -> Event:
    """``event`` with ``auth`` emptied (itself if it is empty already)."""
    return _replace(event, auth={}) if event.auth else event


def parse_event(
    data: Union[bytes, bytearray, memoryview, str, Mapping[str, Any]],
    *,
    max_depth: Optional[int] = None,
) -> Event:
    """Read an event from JSON bytes (always UTF-8), a JSON string, or a decoded dict.

    :param max_depth: refuse arrays and objects nested more than this many levels
        (the envelope itself is level 1); ``None``: only the interpreter's recursion
        limit applies.
    :raises BadProtocol: if the input is not JSON, not an object, nests too deeply,
        or misses or mistypes a property (docs/protocol.rst#envelope).
    """
    if max_depth is not None and codec.too_deep(data, max_depth):
        raise BadProtocol.unreadable(f"JSON is nested more than {max_depth} levels deep")
    text = type(data) is bytes or isinstance(data, (str, bytearray, memoryview))
    try:
        return _decode_event(data) if text else _convert(data, Event)  # type: ignore[arg-type]
    except msgspec.ValidationError:
        pass  # valid JSON but not a valid envelope: explain below
    except codec.DECODE_ERRORS as exc:
        raise BadProtocol.unreadable(codec.describe(exc)) from None
    if not text:
        return _explain(data)
    try:
        raw = codec.decode(data)  # type: ignore[arg-type]
    except (
        codec.DECODE_ERRORS
    ) as exc:  # the untyped decoder may give up where the typed one did not
        raise BadProtocol.unreadable(codec.describe(exc)) from None
    return _explain(raw)


def _explain(raw: Any) -> Event:
    """The slow path: name the first property that is missing or mistyped — or build
    the event, when only the leniencies of docs/protocol.rst#envelope
    were needed (``null`` objects).
    """
    if not isinstance(raw, Mapping):
        raise not_an_object(raw)
    bad = _first_bad_property(raw)
    if bad is not None:
        raise bad
    return Event(
        raw["name"],
        raw["version"],
        raw["id"],
        raw["flowId"],
        raw["payload"],
        _optional_object(raw, "identity"),
        _optional_object(raw, "auth"),
        _optional_object(raw, "metadata"),
    )


def not_an_object(raw: Any) -> BadProtocol:
    """The error for decoded JSON that is not an object, so not an envelope."""
    return BadProtocol(
        "The event must be a JSON object",
        parameters={"message": f"expected a JSON object, got {_json_type(raw)}"},
    )


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


def _first_bad_property(raw: Mapping[str, Any]) -> Optional[BadProtocol]:
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
    if "payload" not in raw:
        return BadProtocol.for_property("payload", "Property 'payload' is required", raw)
    return None


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
