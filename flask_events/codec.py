"""Fast, exact JSON for the wire, with msgspec.

msgspec decodes integers of any size to Python ints and encodes them exactly; orjson,
the usual choice, silently turns integers beyond 64 bits into floats when decoding and
refuses them when encoding. msgspec also decodes an envelope straight into a typed,
validated :class:`~flask_events.Event` (see :mod:`flask_events.event`), which is what
makes the dispatch core fast. Transport-free.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Optional, Union

import msgspec

__all__ = ["DECODE_ERRORS", "decode", "describe", "dumps", "loads", "too_deep"]

Data = Union[bytes, bytearray, memoryview, str]

#: Decodes JSON bytes or str; raises one of :data:`DECODE_ERRORS` (see :func:`loads`).
decode = msgspec.json.Decoder().decode
#: What decoding raises on bad input; :func:`describe` turns it into a message.
DECODE_ERRORS = (msgspec.MsgspecError, ValueError, RecursionError)
_encode = msgspec.json.Encoder().encode


def loads(data: Data) -> Any:
    """Decode UTF-8 JSON exactly (integers of any size stay ints).

    :param data: the JSON text, as bytes (always read as UTF-8) or str.
    :raises ValueError: on invalid JSON or UTF-8, ``NaN``/``Infinity``, numbers out
        of the float range, or nesting deeper than the interpreter's recursion
        limit; the message says what is wrong without quoting the input.
    """
    try:
        return decode(data)
    except DECODE_ERRORS as exc:
        raise ValueError(describe(exc)) from None


def describe(error: BaseException) -> str:
    """A message for a decoding error that never quotes the input."""
    if isinstance(error, UnicodeError):
        return "the text is not valid UTF-8"
    if isinstance(error, RecursionError):
        return "JSON is nested too deeply"
    return str(error)


def dumps(value: Any, default: Optional[Callable[[Any], Any]] = None) -> bytes:
    """Encode ``value`` as compact UTF-8 JSON, keeping dict order.

    Encodes events, dicts (keys of any scalar type, as strings), lists, integers of
    any size, floats (NaN and infinities as ``null``), datetimes, UUIDs, decimals,
    enums, dataclasses and msgspec Structs.

    :param default: when the value holds anything else, it is encoded again with
        each such object passed to ``default``, which returns what to encode instead
        or raises ``TypeError`` (as ``json.dumps``'s ``default``; a Flask app's
        ``app.json.default``). Only then: the common case pays nothing for it.
    :raises TypeError: if ``value`` cannot be represented as JSON, including when an
        object in it raises while being encoded (a ``tzinfo``, a dataclass property).
    """
    try:
        return _encode(value)
    except MemoryError:
        raise
    except Exception as exc:  # RecursionError included
        if default is None:
            raise TypeError(f"value is not JSON serializable: {_text(exc)}") from exc
    try:
        return msgspec.json.Encoder(enc_hook=default).encode(value)
    except MemoryError:
        raise
    except Exception as exc:  # what default raised, or a RecursionError
        raise TypeError(f"value is not JSON serializable: {_text(exc)}") from exc


def _text(error: BaseException) -> str:
    """``str(error)``, or its class name when even that raises."""
    try:
        return str(error)
    except Exception:
        return type(error).__name__


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?')
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_OPENING = frozenset(b"[{")


def too_deep(data: Any, limit: int) -> bool:
    """Whether JSON ``data`` nests arrays and objects more than ``limit`` levels deep.

    ``data`` is JSON text (bytes or str; it need not be valid) or a decoded value.
    Text with at most ``limit`` opening brackets is let through after one count
    (about a quarter of a microsecond for a typical envelope); only then are the
    brackets outside strings scanned, stopping as soon as the limit is passed.
    """
    if type(data) is bytes or isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
        # one pass in C (faster than two counts): the bytes left when brackets go
        if len(data) - len(data.translate(None, b"[{")) <= limit:
            return False
    elif isinstance(data, str):
        if data.count("[") + data.count("{") <= limit:
            return False
        data = data.encode("utf-8", "surrogatepass")
    else:
        return _value_too_deep(data, limit)
    # without an escaped quote, every other quote opens a string (the fast way)
    escaped = b'\\"' in data
    outside = _STRING.sub(b"", data) if escaped else b"".join(data.split(b'"')[0::2])
    depth = 0
    for char in outside.translate(None, _NOT_BRACKETS):
        if char in _OPENING:
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _value_too_deep(value: Any, limit: int) -> bool:
    """:func:`too_deep` for a decoded value: lists and dicts, walked without recursion."""
    stack = [(value, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, (list, tuple)):
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in value)
    return False
