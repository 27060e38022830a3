"""Fast, exact JSON for the wire, with msgspec.

msgspec decodes integers of any size to Python ints and encodes them exactly; orjson,
the usual choice, silently turns integers beyond 64 bits into floats when decoding and
refuses them when encoding. msgspec also decodes an envelope straight into a typed,
validated :class:`~flask_events.Event` (see :mod:`flask_events.event`), which is what
makes the dispatch core fast. Transport-free.
"""

from __future__ import annotations

from typing import Any, Union

import msgspec

__all__ = ["DECODE_ERRORS", "decode", "describe", "dumps", "loads"]

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


def dumps(value: Any) -> bytes:
    """Encode ``value`` as compact UTF-8 JSON, keeping dict order.

    Encodes events, dicts (keys of any scalar type, as strings), lists, integers of
    any size, floats (NaN and infinities as ``null``), datetimes, UUIDs, decimals,
    enums, dataclasses and msgspec Structs.

    :raises TypeError: if ``value`` cannot be represented as JSON.
    """
    try:
        return _encode(value)
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise TypeError(f"value is not JSON serializable: {exc}") from exc
