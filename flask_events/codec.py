"""Fast, exact JSON for the wire: orjson, with the standard library as a fallback.

orjson is used wherever it is exact. It silently turns integers beyond 64 bits into
floats when decoding, and refuses them when encoding, so both directions fall back to
the standard :mod:`json` module when that would lose data: the protocol requires
integers of any size to survive a round trip.
"""

from __future__ import annotations

import json
from typing import Any, Union

import orjson

__all__ = ["dumps", "loads"]

#: A run of 19 or more digits may be an integer outside the 64-bit range, which
#: orjson would decode as a float; such input is decoded again by the stdlib. The
#: test maps every digit to "0" and everything else to " ", then looks for 19 zeros:
#: several times faster than a regular expression on the hot path.
_DIGITS_TO_ZEROS = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_LONG_DIGIT_RUN = b"0" * 19
_orjson_loads = orjson.loads
_orjson_dumps = orjson.dumps

Data = Union[bytes, bytearray, memoryview, str]


def loads(data: Data) -> Any:
    """Decode UTF-8 JSON.

    :param data: the JSON text, as bytes (always read as UTF-8) or str.
    :raises ValueError: on invalid JSON or UTF-8, ``NaN``/``Infinity``, or nesting
        deeper than 1024 levels; the message says what is wrong without quoting
        the input.
    """
    value = _orjson_loads(data)  # validates first: one set of rules for all input
    raw = data if type(data) is bytes else _as_bytes(data)
    if raw.translate(_DIGITS_TO_ZEROS).find(_LONG_DIGIT_RUN) >= 0:
        return _loads_exact(data)
    return value


def _as_bytes(data: Data) -> bytes:
    return data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)


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
