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

_decode = msgspec.json.Decoder().decode
_orjson_dumps = orjson.dumps


def loads(data: Data) -> Any:
    """Decode UTF-8 JSON exactly (integers of any size stay ints).

    :param data: the JSON text, as bytes (always read as UTF-8) or str.
    :raises ValueError: on invalid JSON or UTF-8, ``NaN``/``Infinity``, numbers out
        of the float range, or nesting deeper than the interpreter's recursion
        limit; the message says what is wrong without quoting the input.
    """
    try:
        return _decode(data)
    except UnicodeError:
        raise ValueError("the text is not valid UTF-8") from None
    except (msgspec.MsgspecError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    except RecursionError:
        raise ValueError("JSON is nested too deeply") from None


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
