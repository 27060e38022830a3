"""Fast, exact JSON for the wire.

Decoding uses msgspec, which is both faster than orjson on event envelopes and exact:
integers of any size decode to Python ints (orjson silently turns integers beyond 64
bits into floats). Encoding uses orjson, the fastest encoder, and falls back to the
standard :mod:`json` module for what orjson refuses but JSON can carry exactly
(integers beyond 64 bits, non-string keys).
"""

from __future__ import annotations

import json
from typing import Any, Union

import msgspec
import orjson

__all__ = ["dumps", "loads"]

Data = Union[bytes, bytearray, memoryview, str]

#: Decodes JSON bytes or str; raises one of :data:`DECODE_ERRORS` (see :func:`loads`).
decode = msgspec.json.Decoder().decode
#: What :data:`decode` raises on bad input; :func:`describe` turns it into a message.
DECODE_ERRORS = (msgspec.MsgspecError, ValueError, RecursionError)
_orjson_dumps = orjson.dumps


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

    :raises TypeError: if ``value`` cannot be represented as JSON.
    """
    try:
        return _orjson_dumps(value)
    except TypeError:
        pass
    try:
        text = json.dumps(
            value,
            ensure_ascii=False,
            separators=(",", ":"),
            allow_nan=False,
            default=_orjson_default,
        )
        return text.encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError(f"value is not JSON serializable: {exc}") from exc


def _orjson_default(value: Any) -> Any:
    """Let the fallback encode what orjson knows (datetime, UUID, dataclasses...)."""
    return orjson.loads(orjson.dumps(value))
