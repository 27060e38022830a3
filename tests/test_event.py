"""The envelope (docs/protocol.rst#envelope) and the builders
(docs/protocol.rst#outcomes), without Flask.
"""

from __future__ import annotations

import json
import uuid

import pytest

from flask_events import BadProtocol, Event, NotFound, parse_event, redirect_event
from flask_events.codec import dumps
from flask_events.event import (
    bad_protocol_event,
    error_event,
    error_response_event,
    event_not_found_event,
    random_id,
    response_event,
)

from .helpers import GO_MOCK_EVENT, WIRE_KEYS, envelope


def raw(**changes):
    env = envelope("some event", 3, {"a": 1}, id="the-id", flowId="the-flow")
    for key, value in changes.items():
        if value is ...:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def test_parses_the_go_sample_event():
    event = parse_event(GO_MOCK_EVENT)
    assert event.name == "some event"
    assert event.version == 42
    assert event.flow_id == "d00a5c99-ea0e-4b39-bfdc-bf1028a9c95f"
    assert event.payload["an_int64"] == 65484548474984654
    assert event.metadata["originId"] == "RFC-GB 0001"
    assert event.identity == {} and event.auth == {}


def test_parses_bytes_str_and_dict_alike():
    env = raw()
    assert parse_event(env) == parse_event(json.dumps(env)) == parse_event(dumps(env))


@pytest.mark.parametrize("field", ["name", "version", "id", "flowId", "payload"])
def test_missing_required_field_names_it(field):
    with pytest.raises(BadProtocol) as info:
        parse_event(raw(**{field: ...}))
    assert info.value.parameters == {"propertyName": field}
    assert "required" in info.value.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", 5),
        ("name", None),
        ("name", {}),
        ("version", True),
        ("version", 1.5),
        ("version", 1.0),
        ("version", "1"),
        ("version", 0),
        ("version", -3),
        ("version", None),
        ("id", ""),
        ("id", 12),
        ("flowId", ""),
        ("flowId", ["x"]),
        ("metadata", []),
        ("metadata", "m"),
        ("identity", 1),
        ("auth", "token"),
    ],
)
def test_mistyped_field_names_it(field, value):
    with pytest.raises(BadProtocol) as info:
        parse_event(raw(**{field: value}))
    assert info.value.parameters == {"propertyName": field}


@pytest.mark.parametrize("field", ["metadata", "identity", "auth"])
def test_null_or_missing_optional_objects_are_empty(field):
    assert getattr(parse_event(raw(**{field: None})), field) == {}
    assert getattr(parse_event(raw(**{field: ...})), field) == {}


def test_payload_may_be_any_json_value_including_null():
    for payload in (None, 0, "s", [1, 2], {"k": []}, False):
        assert parse_event(raw(payload=payload)).payload == payload


def test_unknown_top_level_keys_are_ignored():
    event = parse_event(raw(extra={"x": 1}, other=[1]))
    assert event.name == "some event"
    assert not hasattr(event, "extra")


def test_bad_protocol_keeps_readable_ids():
    with pytest.raises(BadProtocol) as info:
        parse_event(raw(version="1"))
    assert (info.value.event_id, info.value.flow_id) == ("the-id", "the-flow")
    answer = bad_protocol_event(info.value)
    assert (answer.id, answer.flow_id) == ("the-id", "the-flow")


@pytest.mark.parametrize(
    "body", [b"", b"   ", b"[]", b"[1, 2]", b"42", b'"str"', b"null", b"INVALID [}", b"\xff\xfe"]
)
def test_non_object_or_non_json_bodies_are_bad_protocol_with_fresh_ids(body):
    with pytest.raises(BadProtocol) as info:
        parse_event(body)
    answer = bad_protocol_event(info.value)
    assert answer.name == "badProtocol" and answer.version == 1
    assert uuid.UUID(answer.id).version == 4 and uuid.UUID(answer.flow_id).version == 4
    assert answer.payload["code"] == "INVALID_COMMUNICATION_PROTOCOL"
    assert "message" in answer.payload["parameters"]


def test_invalid_utf8_inside_a_string_is_bad_protocol():
    body = b'{"name": "a\xc3\x28", "version": 1, "id": "i", "flowId": "f", "payload": 1}'
    with pytest.raises(BadProtocol) as info:
        parse_event(body)
    assert "UTF-8" in info.value.parameters["message"]


def test_body_is_utf8_whatever_else_it_looks_like():
    utf16 = json.dumps(raw()).encode("utf-16")
    with pytest.raises(BadProtocol):
        parse_event(utf16)
    assert parse_event(json.dumps(raw(name="café ✓")).encode()).name == "café ✓"


@pytest.mark.parametrize("value", [2**70, -(2**70), 2**64, -(2**63) - 1, 10**40, 2**63 + 5])
def test_huge_integers_round_trip_exactly(value):
    body = b'{"name":"n","version":1,"id":"i","flowId":"f","payload":{"big":%d,"f":1.5}}' % value
    event = parse_event(body)
    assert event.payload["big"] == value and type(event.payload["big"]) is int
    assert b'"big":%d' % value in response_event(event, event.payload).to_json()


def test_to_dict_has_all_eight_keys_in_wire_order():
    event = parse_event(raw(auth={"token": "t"}, identity={"userId": 1}))
    wire = event.to_dict()
    assert list(wire) == WIRE_KEYS
    assert wire["auth"] == {"token": "t"}
    assert event.to_dict(include_auth=False)["auth"] == {}
    assert json.loads(event.to_json(include_auth=False))["auth"] == {}


def test_auth_is_not_in_repr():
    event = parse_event(raw(auth={"token": "s3cr3t"}))
    assert "s3cr3t" not in repr(event)


def test_response_event_is_go_new_response():
    request = parse_event(raw())
    response = response_event(request, {"ok": True})
    assert (response.name, response.version) == ("some event:response", 3)
    assert (response.id, response.flow_id) == ("the-id", "the-flow")
    assert response.payload == {"ok": True}
    assert response.is_success and not response.is_error


def test_redirect_event():
    response = redirect_event(parse_event(raw()), "https://x.test/a", {"q": 1})
    assert response.name == "some event:redirect"
    assert response.payload == {"url": "https://x.test/a", "queryParameters": {"q": 1}}
    assert response.is_redirect and response.kind == "redirect"


def test_typed_error_event():
    request = parse_event(raw())
    response = error_response_event(request, NotFound("gone", parameters={"k": 1}))
    assert response.name == "some event:notFound" and response.version == 3
    assert response.payload == {"code": "NOT_FOUND", "parameters": {"k": 1}, "message": "gone"}
    assert response.is_error and response.kind == "notFound"


def test_event_not_found_event():
    response = event_not_found_event(parse_event(raw()))
    assert (response.name, response.version, response.id) == ("eventNotFound", 1, "the-id")
    assert response.payload == {
        "code": "NO_EVENT_HANDLER_FOUND",
        "parameters": {"event": "some event", "version": 3},
        "message": "Event not Found",
    }
    assert response.kind == "eventNotFound" and response.is_error


def test_new_error_and_new_error_with_metadata():
    """Ports Test_NewErrorWithMetadata."""
    flow_id = random_id()
    event = error_event(flow_id, "some error", {"field1": "bla bla", "otherField": 42})
    assert event.flow_id == flow_id and event.name == "error" and event.version == 1
    assert event.metadata == {"field1": "bla bla", "otherField": 42}
    assert event.payload == {"message": "some error"}
    assert uuid.UUID(event.id).version == 4
    plain = error_event(flow_id, "x", code="E1")
    assert plain.metadata == {} and plain.payload == {"message": "x", "code": "E1"}


def test_random_id_is_fresh_uuid4():
    ids = {random_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(uuid.UUID(i).version == 4 for i in ids)


def test_new_events_have_fresh_ids_and_empty_objects():
    a, b = Event.new("x", 1), Event.new("x", 1, {"p": 1}, flow_id="f", metadata={"m": 1})
    assert a.id != b.id and a.flow_id != b.flow_id and b.flow_id == "f"
    assert a.payload is None and b.payload == {"p": 1} and b.metadata == {"m": 1}
    assert a.identity == a.auth == a.metadata == {}
    a.identity["x"] = 1
    assert Event.new("y", 1).identity == {}  # no shared default


def test_typed_error_repr_and_str():
    error = NotFound("gone", code="G")
    assert repr(error) == "NotFound('gone', code='G')" and str(error) == "gone"


def test_events_compare_by_value_and_not_with_other_types():
    a = Event("x", 1, "i", "f", {"p": 1})
    assert a == Event("x", 1, "i", "f", {"p": 1})
    assert a != Event("x", 1, "i", "f", {"p": 2})
    assert a != ("x", 1, "i", "f", {"p": 1})
    assert parse_event(a.to_dict()) == a


def test_parse_event_refuses_nesting_deeper_than_max_depth():
    body = dumps(envelope("x", 1, [[[1]]]))  # envelope 1, payload 2..4
    assert parse_event(body, max_depth=4).payload == [[[1]]]
    assert parse_event(envelope("x", 1, [[[1]]]), max_depth=4).payload == [[[1]]]
    for data in (body, body.decode(), envelope("x", 1, [[[1]]])):
        with pytest.raises(BadProtocol) as caught:
            parse_event(data, max_depth=3)
        assert caught.value.parameters == {"message": "JSON is nested more than 3 levels deep"}
    assert parse_event(body).payload == [[[1]]]  # no limit by default
