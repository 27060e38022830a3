"""The JSON codec: exact integers of any size, strict JSON, clear errors."""

from __future__ import annotations

import sys

import pytest

from flask_events import parse_event
from flask_events.codec import dumps, loads

from .helpers import envelope


def test_long_digit_strings_do_not_change_values():
    event = parse_event(
        envelope(payload={"card": "12345678901234567890", "x": 0.1234567890123456789})
    )
    assert event.payload == {"card": "12345678901234567890", "x": 0.1234567890123456789}


@pytest.mark.parametrize("body", [b"NaN", b'{"a": Infinity}', b"[" * 100_000 + b"]" * 100_000])
def test_codec_rejects_non_json_constants_and_deep_nesting(body):
    with pytest.raises(ValueError):
        loads(body)


def test_codec_falls_back_for_non_string_keys_and_refuses_the_unserializable():
    assert loads(dumps({1: "a", "b": 2**65})) == {"1": "a", "b": 2**65}
    with pytest.raises(TypeError):
        dumps({"x": object()})
    with pytest.raises(TypeError):
        dumps({"x": object(), "big": 2**65})


def test_nesting_with_long_numbers_keeps_the_number_exactly():
    body = b"[" * 100 + b"12345678901234567890123" + b"]" * 100
    value = loads(body)
    for _ in range(100):
        (value,) = value
    assert value == 12345678901234567890123 and type(value) is int


@pytest.mark.parametrize("number", [b"1", b"12345678901234567890123"])
def test_deep_nesting_never_escapes_as_recursion_error(number):
    depth = 10 * sys.getrecursionlimit()  # far past any stack the decoder may use
    with pytest.raises(ValueError) as caught:
        loads(b"[" * depth + number + b"]" * depth)
    assert caught.type is ValueError  # not a RecursionError (nor another subclass)
    assert str(caught.value) == "JSON is nested too deeply"


@pytest.mark.parametrize(
    "text",
    [b'{"a": 1e400}', b'"\\ud800"', b'{"a":1} x', b"\xef\xbb\xbf{}", b"{1: 2}", b'"\x01"'],
)
def test_codec_rejects_what_json_does_not_allow(text):
    with pytest.raises(ValueError):
        loads(text)


def test_codec_reads_str_and_buffers_alike():
    assert loads('{"a": [1, 2]}') == loads(bytearray(b'{"a": [1, 2]}')) == {"a": [1, 2]}
    assert loads(memoryview(b'{"a": 18446744073709551616}')) == {"a": 2**64}
    with pytest.raises(ValueError, match="UTF-8"):
        loads('{"a": "\ud800"}')


def test_duplicate_keys_keep_the_last_value():
    assert loads(b'{"a": 1, "a": 2}') == {"a": 2}


@pytest.mark.parametrize(
    ("data", "deepest"),
    [
        (b"1", 0),
        (b"[]", 1),
        (b'{"a": [1, {"b": []}], "c": {}}', 4),
        ('{"a": "[[[[{{{{ \\" [[[[", "b": [1]}', 2),  # brackets in strings do not count
        (b'{"a": "[[[[", "b": "{{{{", "c": [[]]}', 3),  # the same, no escaped quote
        (b'{"a": "x\\\\", "b": [[[]]]}', 4),  # an escaped backslash ends the string
        (b'["unterminated [[[[[[', 1),
        (b'["un\\"terminated [[[[[[', 1),
        ("[" * 50 + "]" * 50, 50),
        ({"a": [{"b": (1, [2])}]}, 5),  # decoded values too
        ([[[]], [[[[]]]]], 5),
    ],
)
def test_too_deep_counts_nesting_exactly(data, deepest):
    from flask_events.codec import too_deep

    assert not too_deep(data, deepest)
    assert too_deep(data, deepest - 1) == (deepest > 0)
    if isinstance(data, str):
        assert too_deep(bytearray(data.encode()), deepest - 1) == (deepest > 0)
        assert too_deep(memoryview(data.encode()), deepest) is False


def test_too_deep_stops_at_the_limit_on_a_json_bomb():
    from flask_events.codec import too_deep

    assert too_deep(b"[" * 1_000_000, 128)  # unbalanced, and far too deep
    assert too_deep("[" * 100_000 + "]" * 100_000, 128)
