"""Every answer an event can get, for the documentation (/doc, doc.json, OpenAPI,
AsyncAPI): its response, the typed errors its handler declares, and the protocol
outcomes (docs/protocol.rst#outcomes). Transport-free.
"""

from __future__ import annotations

from typing import Any, Optional, Type

from .errors import (
    BadProtocol,
    EventError,
    EventNotFound,
    Forbidden,
    InvalidPayload,
    Unauthorized,
    UnhandledError,
)
from .registry import HandlerSpec

__all__ = ["ERROR_PAYLOAD", "outcomes"]

#: The JSON Schema of every error event's payload.
ERROR_PAYLOAD: dict[str, Any] = {
    "type": "object",
    "required": ["code", "parameters", "message"],
    "properties": {
        "code": {"type": "string"},
        "parameters": {"type": "object"},
        "message": {"type": "string"},
    },
}


def outcomes(spec: HandlerSpec, authenticated: bool = False) -> list[dict[str, Any]]:
    """What ``spec``'s event can be answered, in order: the response, the declared
    errors, then the protocol outcomes.

    Each is ``{"name", "version", "kind", "code", "when"}``: ``kind`` is
    ``"response"``, ``"error"`` (declared) or ``"protocol"``; ``code`` is ``None``
    for the response and for an error class declared without a code (any code of its
    type).

    :param authenticated: whether the blueprint's authenticator checks this event
        (``unauthorized`` and ``forbidden`` are then protocol outcomes).
    """
    name, version = spec.name, spec.version
    found = [
        _outcome(f"{name}:response", version, "response", None, "The event was handled"),
    ]
    found.extend(
        _outcome(d.event_name(name), version, "error", d.code, d.message) for d in spec.errors
    )
    found.append(_protocol(EventNotFound, "No handler serves this name and version"))
    found.append(_protocol(BadProtocol, "The request is not a valid event envelope"))
    if spec.input is not None:
        found.append(_protocol(InvalidPayload, InvalidPayload.message, name, version))
    if authenticated:
        found.append(
            _protocol(Unauthorized, "The authenticator refused the credentials", name, version)
        )
        found.append(
            _protocol(Forbidden, "The authenticator refused the principal", name, version)
        )
    found.append(_protocol(UnhandledError, UnhandledError.message, name, version))
    return found


def _protocol(
    error: Type[EventError], when: str, name: Optional[str] = None, version: int = 1
) -> dict[str, Any]:
    answered = error.type if name is None else f"{name}:{error.type}"
    return _outcome(answered, version, "protocol", error.code, when)


def _outcome(name: str, version: int, kind: str, code: Optional[str], when: str) -> dict[str, Any]:
    return {"name": name, "version": version, "kind": kind, "code": code, "when": when}
