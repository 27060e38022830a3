"""Keeping a request's credentials out of the logs and away from signal subscribers.

A handler may copy a credential of ``event.auth`` into an exception
(``RuntimeError(f"token={token}")``, ``KeyError(token)``, ``ValueError(event.auth)``,
a note, a chained exception...). Before such an exception's text is logged, or the
exception is handed to a signal subscriber, every form of every credential in it is
replaced by ``"[redacted]"`` (see :func:`secret_forms`). The one scrubbing function
serves both paths. Transport-free: no Flask import.
"""

from __future__ import annotations

import json
import math
import traceback
from typing import Any, Callable, Iterator, Optional

import msgspec

from . import codec
from .errors import EventError, RedactedError
from .event import Event

__all__ = [
    "MAX_CREDENTIALS",
    "MAX_REDACTED_NESTING",
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "detached",
    "redacted",
    "redacted_response",
    "scrub",
    "scrubbed_error",
    "scrubbed_traceback",
    "secret_forms",
    "with_nested_auth_cleared",
]

#: Strings and numbers of ``auth`` shorter than this (in characters) are not scrubbed:
#: replacing ``"abc"`` or ``42`` everywhere would garble ordinary text.
MIN_SECRET_LENGTH = 4

#: Most credentials scrubbed one by one. An ``auth`` holding more (a request built to
#: make scrubbing slow) gets every text it could be in replaced whole.
MAX_CREDENTIALS = 100

#: What :func:`secret_forms` returns: the forms, or ``None`` for "too many to look for".
Forms = Optional[tuple[str, ...]]

#: Characters that every escaping on :data:`_ESCAPES` writes as they are.
_PLAIN = frozenset(map(chr, range(0x20, 0x7F))) - {"\\", "'", '"'}

#: Most nested containers an attribute of a protocol error is scrubbed through; deeper
#: values are replaced whole.
_MAX_VALUE_DEPTH = 32


REDACTED = "[redacted]"


#: Most levels of batches inside batches whose sub-envelopes :func:`redacted` goes
#: through; a batch's ``events`` deeper than that are replaced whole.
MAX_REDACTED_NESTING = 8


def redacted(event: Event) -> Event:
    """``event`` as signal subscribers see it: every ``auth`` value replaced by
    ``"[redacted]"`` (the keys stay, so a subscriber can tell a token was there).

    Its own ``auth``, and in a batch-shaped payload (an object with an ``events``
    array) every sub-envelope's: an ``auth`` that is not an object is replaced whole;
    an element that is not an object (a string may be an envelope encoded as text) is
    replaced whole; a sub-envelope's own batch-shaped payload is gone through the
    same way, down to :data:`MAX_REDACTED_NESTING` levels. Itself when there is
    nothing to hide, so redacting twice gives the same object.
    """
    payload = _redacted_payload(event.payload, MAX_REDACTED_NESTING)
    if payload is event.payload and not _has_secret(event.auth):
        return event
    return msgspec.structs.replace(event, auth=_redact_auth(event.auth), payload=payload)


def _redacted_payload(payload: Any, depth: int) -> Any:
    """A batch-shaped payload with its sub-envelopes redacted (itself if none needs it)."""
    envelopes = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(envelopes, list):
        return payload
    if depth == 0:
        return {**payload, "events": REDACTED}
    shown = [_redacted_envelope(envelope, depth - 1) for envelope in envelopes]
    if all(new is old for new, old in zip(shown, envelopes)):
        return payload
    return {**payload, "events": shown}


def _redacted_envelope(envelope: Any, depth: int) -> Any:
    if not isinstance(envelope, dict):
        return REDACTED  # not an envelope (answered badProtocol), perhaps one as text
    shown = envelope
    payload = _redacted_payload(envelope.get("payload"), depth)
    if payload is not envelope.get("payload"):
        shown = {**shown, "payload": payload}
    if _has_secret(envelope.get("auth")):
        shown = {**shown, "auth": _redact_auth(envelope["auth"])}
    return shown


def _has_secret(auth: Any) -> bool:
    if isinstance(auth, dict):
        return any(value != REDACTED for value in auth.values())
    return auth is not None and auth != REDACTED


def _redact_auth(auth: Any) -> Any:
    return dict.fromkeys(auth, REDACTED) if isinstance(auth, dict) else REDACTED


def redacted_response(response: Event) -> Event:
    """A response as signal subscribers see it: as answered (every event inside it
    with ``auth`` ``{}``, see :func:`with_nested_auth_cleared`), then :func:`redacted`.
    A response that cannot be encoded (it is answered ``UNSERIALIZABLE_RESPONSE``)
    is shown with its payload ``"[redacted]"``: it cannot be searched for events.
    """
    try:
        cleared = with_nested_auth_cleared(response, codec.dumps(response))
    except TypeError:
        cleared = msgspec.structs.replace(response, payload=REDACTED), b""
    return redacted(cleared[0])


#: What every event inside an encoded event adds: its own ``flowId``.
_FLOW_ID = b'"flowId":'
#: A non-empty object under ``"auth"`` in encoded JSON.
_AUTH_HELD = b'"auth":{"'
#: The keys that make an object of an encoded answer an event.
_EVENT_KEYS = ("name", "version", "id", "flowId", "auth")


def with_nested_auth_cleared(response: Event, body: bytes) -> tuple[Event, bytes]:
    """``response`` and its encoding ``body``, with ``auth`` ``{}`` in every event
    inside it — in its payload, metadata or identity, in any container the encoder
    writes (dicts, lists, dataclasses, Structs...): every object of the encoded JSON
    that has an event's keys. Both as given (nothing decoded, one search of ``body``)
    when it holds no credentials but its own.
    """
    if body.find(_AUTH_HELD) < 0 or body.count(_FLOW_ID) < 2:
        return response, body
    decoded = msgspec.json.decode(body)
    stack = [decoded["payload"], decoded["identity"], decoded["metadata"]]
    while stack:  # its own stack: nesting cannot exhaust the interpreter's
        value = stack.pop()
        if isinstance(value, dict):
            if value.get("auth") and all(key in value for key in _EVENT_KEYS):
                value["auth"] = {}
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    response = msgspec.structs.replace(
        response,
        payload=decoded["payload"],
        identity=decoded["identity"],
        metadata=decoded["metadata"],
    )
    return response, codec.dumps(response)


def _repr_body(text: str) -> str:
    return repr(text)[1:-1]


def _repr_single_quoted(text: str) -> str:
    """``repr``'s escaping when the text sits in single quotes (``'`` escaped too):
    how it appears inside the ``repr`` of a longer string holding both quote kinds.
    """
    body = repr(text)[1:-1]
    return body if repr(text)[0] == "'" else body.replace("'", "\\'")


def _ascii_body(text: str) -> str:
    return ascii(text)[1:-1]


def _json_ascii_body(text: str) -> str:
    return json.dumps(text)[1:-1]


def _json_body(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _msgspec_body(text: str) -> str:
    try:
        return msgspec.json.encode(text).decode()[1:-1]
    except (TypeError, ValueError):  # a lone surrogate: msgspec cannot write it
        return text


#: The escapings a credential may come through: Python's ``repr``/``ascii`` (the text
#: between the quotes) and JSON's (``json`` with and without ``ensure_ascii``, msgspec).
_ESCAPES: tuple[Callable[[str], str], ...] = (
    _repr_body,
    _repr_single_quoted,
    _ascii_body,
    _json_ascii_body,
    _json_body,
    _msgspec_body,
)


def _credentials(auth: Any) -> Iterator[Any]:
    """Every string and number (booleans excepted) in ``auth``, at any depth. Walks
    with its own stack: a deeply nested ``auth`` cannot exhaust the interpreter's.
    """
    stack = [auth]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        elif isinstance(value, str) or (
            isinstance(value, (int, float)) and not isinstance(value, bool)
        ):
            yield value


def _texts(value: Any) -> set[str]:
    """How a credential is written as text: a string itself; a number as ``str``,
    ``repr`` and JSON write it (and a whole float also as an integer).
    """
    if isinstance(value, str):
        return {value}
    if isinstance(value, float):
        if not math.isfinite(value):
            return set()
        texts = {repr(value), json.dumps(value), msgspec.json.encode(value).decode()}
        return texts | ({str(int(value))} if value.is_integer() else set())
    try:
        return {str(value)}
    except ValueError:  # an int too long to write out: no text can hold it either
        return set()


def secret_forms(auth: Any) -> Forms:
    """Every form of every credential of ``auth``, longest first.

    The credentials are the strings and numbers (not booleans) of ``auth``, at any
    depth, whose text has at least :data:`MIN_SECRET_LENGTH` characters. Each is
    taken as is, as ``repr``/``ascii`` and JSON (with and without ``ensure_ascii``)
    escape it, and each of those escaped once more that way (a ``repr`` of a JSON
    text, say). Empty when ``auth`` holds no credential; ``None`` when it holds more
    than :data:`MAX_CREDENTIALS`.
    """
    texts = {
        text
        for value in _credentials(auth)
        for text in _texts(value)
        if len(text) >= MIN_SECRET_LENGTH
    }
    if len(texts) > MAX_CREDENTIALS:
        return None
    forms: set[str] = set()
    for text in texts:
        if _PLAIN.issuperset(text):  # printable ASCII, no quote or backslash: one form
            forms.add(text)
            continue
        once = {text} | {escape(text) for escape in _ESCAPES}
        forms |= once | {escape(form) for form in once for escape in _ESCAPES}
    return tuple(sorted(forms, key=len, reverse=True))


def scrub(text: str, forms: Forms) -> str:
    """``text`` with each of ``forms`` (see :func:`secret_forms`) replaced by
    ``"[redacted]"``; all of it when ``forms`` is ``None``.
    """
    if forms is None:
        return REDACTED
    for form in forms:
        if form in text:
            text = text.replace(form, REDACTED)
    return text


def scrubbed_traceback(error: BaseException, forms: Forms) -> str:
    """``error``'s traceback as text — chained exceptions and notes included — with
    ``forms`` replaced.
    """
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return scrub(text, forms).rstrip()


def scrubbed_error(error: BaseException, auth: Any) -> BaseException:
    """``error`` as a signal subscriber may see it, for a request carrying ``auth``.

    ``error`` itself when ``auth`` is empty. Otherwise a new exception that
    shares nothing with ``error`` (no traceback, so no frames whose variables hold
    the request; no chained exceptions): a protocol error (:class:`EventError`)
    becomes a copy of its own class whose attributes are scrubbed; any other, a
    :class:`~flask_events.errors.RedactedError` with the scrubbed message and
    traceback. ``error`` itself is never changed.
    """
    if not auth:
        return error
    forms = secret_forms(auth)
    if isinstance(error, EventError):
        try:
            return _scrubbed_copy(error, forms)
        except Exception:  # a subclass that cannot be built bare: the generic stand-in
            pass
    return RedactedError(
        type(error), scrub(_message(error), forms), scrubbed_traceback(error, forms)
    )


def detached(error: BaseException) -> BaseException:
    """``error`` cut from its traceback and chained exceptions (for an exception of
    this package's own, whose frames hold the raw input); returns it.
    """
    error.__traceback__ = error.__context__ = error.__cause__ = None
    return error


def _message(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:
        return f"<{type(error).__name__}: str() failed>"


def _scrubbed_copy(error: EventError, forms: Forms) -> EventError:
    """A new instance of ``error``'s class (its ``__init__`` not called), with every
    attribute and argument scrubbed.
    """
    copy = type(error).__new__(type(error))
    copy.args = tuple(_scrubbed_value(arg, forms) for arg in error.args)
    for key, value in vars(error).items():
        setattr(copy, key, _scrubbed_value(value, forms))
    return copy


def _scrubbed_value(value: Any, forms: Forms, depth: int = _MAX_VALUE_DEPTH) -> Any:
    """A JSON-like ``value`` with credentials replaced; an event redacted; any other
    object replaced by its scrubbed ``repr`` (its attributes might hold the request).
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return scrub(value, forms)
    if isinstance(value, (int, float)):
        texts = _texts(value)
        return value if all(scrub(text, forms) == text for text in texts) else REDACTED
    if depth == 0:
        return REDACTED
    if isinstance(value, dict):
        return {
            _scrubbed_value(key, forms, depth - 1): _scrubbed_value(item, forms, depth - 1)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        items = [_scrubbed_value(item, forms, depth - 1) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, Event):
        return redacted(value)
    try:
        return scrub(repr(value), forms)
    except Exception:  # a repr that fails: nothing of it is shown
        return REDACTED
