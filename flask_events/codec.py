"""Fast, exact JSON for the wire: orjson, with the standard library as a fallback.

orjson is used wherever it is exact. It silently turns integers beyond 64 bits into
floats when decoding, and refuses them when encoding, so both directions fall back to
the standard :mod:`json` module when that would lose data: the protocol requires
integers of any size to survive a round trip.
"""

from __future__ import annotations

import json
import re
from typing import Any, Union

import orjson

__all__ = ["dumps", "loads"]

#: A run of 19 or more digits may be an integer outside the 64-bit range, which
#: orjson would decode as a float. Such input is decoded again by the stdlib.
_LONG_DIGITS_BYTES = re.compile(rb"\d{19}")
_LONG_DIGITS_STR = re.compile(r"\d{19}")

Data = Union[bytes, bytearray, memoryview, str]


def loads(data: Data) -> Any:
    """Decode UTF-8 JSON.

    :param data: the JSON text, as bytes (always read as UTF-8) or str.
    :raises ValueError: on invalid JSON or UTF-8, ``NaN``/``Infinity``, or nesting
        deeper than 1024 levels; the message says what is wrong without quoting
        the input.
    """
    value = orjson.loads(data)  # validates first: one set of rules for all input
    pattern = _LONG_DIGITS_STR if isinstance(data, str) else _LONG_DIGITS_BYTES
    if pattern.search(data):  # type: ignore[arg-type]
        return _loads_exact(data)
    return value


def _loads_exact(data: Data) -> Any:
    text = data if isinstance(data, str) else bytes(data).decode("utf-8")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("depth limit exceeded") from None


def dumps(value: Any) -> bytes:
    """Encode ``value`` as compact UTF-8 JSON, keeping dict order.

    Falls back to the standard library for what orjson refuses but JSON can carry
    exactly (integers beyond 64 bits, non-string keys).

    :raises TypeError: if ``value`` cannot be represented as JSON.
    """
    try:
        return orjson.dumps(value)
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
