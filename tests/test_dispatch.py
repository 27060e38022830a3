"""The transport-free core: bytes in, reply out."""

from __future__ import annotations

import json
import logging

import pytest

from flask_events import Event, EventError, errors, parse_event
from flask_events.codec import dumps
from flask_events.dispatch import Dispatcher
from flask_events.registry import Registry

from .helpers import WIRE_KEYS, envelope

SENDER = object()


@pytest.fixture
def registry():
    registry = Registry()
    registry.add("echo", 1, lambda event: event.payload)
    registry.add("full", 1, lambda event: Event("custom:name", 9, "x", event.flow_id, [1]))
    return registry


@pytest.fixture
def dispatcher(registry):
    return Dispatcher(registry)


def handle(dispatcher, body):
    reply = dispatcher.handle(body, sender=SENDER)
    return reply, json.loads(reply.body)


def test_success_keeps_ids_and_version(dispatcher):
    env = envelope("echo", 1, {"a": [1, 2]}, metadata={"m": 1}, identity={"userId": 4})
    reply, body = handle(dispatcher, dumps(env))
    assert reply.status == 200
    assert body == {
        "name": "echo:response",
        "version": 1,
        "id": env["id"],
        "flowId": env["flowId"],
        "payload": {"a": [1, 2]},
        "identity": {},
        "auth": {},
        "metadata": {},
    }
    assert reply.event.name == "echo:response"


def test_accepts_str_and_dict_input(dispatcher):
    env = envelope("echo", 1, 5)
    assert handle(dispatcher, json.dumps(env))[1]["payload"] == 5
    assert handle(dispatcher, env)[1]["payload"] == 5


def test_full_event_returned_by_handler_is_sent_as_is(dispatcher):
    _, body = handle(dispatcher, dumps(envelope("full", 1)))
    assert (body["name"], body["version"], body["id"], body["payload"]) == (
        "custom:name",
        9,
        "x",
        [1],
    )


@pytest.mark.parametrize(
    "error_class",
    [
        errors.EventError,
        errors.BadRequest,
        errors.Unauthorized,
        errors.Forbidden,
        errors.NotFound,
        errors.UserDenied,
        errors.ResourceDenied,
        errors.Expired,
        errors.Gone,
        errors.Unprocessable,
    ],
)
def test_each_typed_error_becomes_name_colon_type(registry, dispatcher, error_class):
    def handler(event):
        raise error_class("why", code="MY_CODE", parameters={"p": 1})

    registry.add("typed", 2, handler)
    env = envelope("typed", 2)
    reply, body = handle(dispatcher, dumps(env))
    assert reply.status == 200
    assert body["name"] == f"typed:{error_class.type}"
    assert (body["version"], body["id"], body["flowId"]) == (2, env["id"], env["flowId"])
    assert body["payload"] == {"code": "MY_CODE", "parameters": {"p": 1}, "message": "why"}


def test_typed_error_defaults(registry, dispatcher):
    registry.add("nf", 1, lambda e: (_ for _ in ()).throw(errors.NotFound()))
    _, body = handle(dispatcher, dumps(envelope("nf", 1)))
    assert body["payload"] == {"code": "NOT_FOUND", "parameters": {}, "message": "Not found"}


def test_error_type_suffixes_are_the_protocols():
    types = {cls.type for cls in EventError.__subclasses__() if cls.prefixed} | {"error"}
    assert types == {
        "error",
        "badRequest",
        "unauthorized",
        "forbidden",
        "notFound",
        "userDenied",
        "resourceDenied",
        "expired",
        "gone",
        "unprocessable",
    }


def test_unexpected_exception_is_unhandled_error_without_its_text(registry, dispatcher, caplog):
    def handler(event):
        raise ValueError("db password is hunter2")

    registry.add("crash", 1, handler)
    env = envelope("crash", 1, auth={"token": "tok-123"})
    with caplog.at_level(logging.ERROR, logger="flask_events"):
        reply, body = handle(dispatcher, dumps(env))
    assert reply.status == 200
    assert body["name"] == "crash:error" and body["flowId"] == env["flowId"]
    assert body["payload"]["code"] == "UNHANDLED_ERROR" and body["payload"]["parameters"] == {}
    assert b"hunter2" not in reply.body and b"Traceback" not in reply.body
    record = caplog.records[-1]
    assert env["flowId"] in record.getMessage() and "\n" not in record.getMessage()
    assert "Traceback" in record.exc_text and "ValueError: db password is hunter2" in caplog.text
    assert "tok-123" not in caplog.text


def test_base_exceptions_are_not_swallowed(registry, dispatcher):
    def handler(event):
        raise KeyboardInterrupt

    registry.add("stop", 1, handler)
    with pytest.raises(KeyboardInterrupt):
        dispatcher.handle(dumps(envelope("stop", 1)), sender=SENDER)


def test_not_found(dispatcher):
    env = envelope("missing", 7)
    _, body = handle(dispatcher, dumps(env))
    assert body["name"] == "eventNotFound" and body["version"] == 1
    assert (body["id"], body["flowId"]) == (env["id"], env["flowId"])
    assert body["payload"]["parameters"] == {"event": "missing", "version": 7}


def test_known_name_unknown_version_is_not_found(dispatcher):
    assert handle(dispatcher, dumps(envelope("echo", 2)))[1]["name"] == "eventNotFound"


def test_unserializable_response_is_500_with_error_event(registry, dispatcher):
    registry.add("bad", 1, lambda event: {"when": object()})
    env = envelope("bad", 1)
    reply, body = handle(dispatcher, dumps(env))
    assert reply.status == 500
    assert body["name"] == "bad:error" and body["flowId"] == env["flowId"]
    assert body["payload"]["code"] == "UNSERIALIZABLE_RESPONSE"


def test_auth_is_never_echoed_even_if_handler_returns_the_request(registry, dispatcher):
    registry.add("mirror", 1, lambda event: event)
    env = envelope("mirror", 1, auth={"token": "tok-xyz"})
    reply, body = handle(dispatcher, dumps(env))
    assert body["auth"] == {} and b"tok-xyz" not in reply.body


def test_registrations_after_creation_are_served(registry, dispatcher):
    registry.add("late", 1, lambda event: "here")
    assert handle(dispatcher, dumps(envelope("late", 1)))[1]["payload"] == "here"


def test_bad_protocol_reply(dispatcher):
    reply, body = handle(dispatcher, b"{nope")
    assert reply.status == 200 and body["name"] == "badProtocol"
    assert list(body) == WIRE_KEYS


def test_dispatch_and_encode_are_the_steps_of_handle(dispatcher):
    request = parse_event(envelope("echo", 1, {"k": 1}))
    response = dispatcher.dispatch(request, sender=SENDER)
    assert response.name == "echo:response" and response.payload == {"k": 1}
    reply = dispatcher.encode(request, response, sender=SENDER)
    assert reply.status == 200 and json.loads(reply.body)["payload"] == {"k": 1}
    missing = dispatcher.dispatch(Event.new("nope", 1), sender=SENDER)
    assert missing.name == "eventNotFound"


def test_encode_takes_huge_integers_and_non_string_keys(registry, dispatcher):
    registry.add("big", 1, lambda event: {"n": 2**70, 7: "int key"})
    reply, body = handle(dispatcher, dumps(envelope("big", 1)))
    assert reply.status == 200 and body["payload"] == {"n": 2**70, "7": "int key"}


def test_handle_refuses_nesting_past_max_depth(dispatcher):
    body = dumps(envelope("echo", 1, [[1]]))
    assert json.loads(dispatcher.handle(body, sender=SENDER, max_depth=3).body)["payload"] == [[1]]
    reply = dispatcher.handle(body, sender=SENDER, max_depth=2)
    answer = json.loads(reply.body)
    assert reply.status == 200 and answer["name"] == "badProtocol"
    assert answer["payload"]["parameters"]["message"] == "JSON is nested more than 2 levels deep"


def test_refuse_answers_the_error_without_running_the_handler(registry, dispatcher):
    from blinker import ANY

    from flask_events.dispatch import TooManyInFlight
    from flask_events.signals import event_error_noticed, event_started

    ran, noticed = [], []
    registry.add("counted", 1, lambda event: ran.append(event))
    env = envelope("counted", 1, id="i", flowId="f", auth={"token": "tok-refused"})
    # only this test's own receivers, disconnected afterwards; others' stay connected
    with event_started.connected_to(lambda sender, **kw: ran.append(kw), sender=ANY):
        with event_error_noticed.connected_to(lambda sender, **kw: noticed.append(kw)):
            reply = dispatcher.refuse(dumps(env), TooManyInFlight(3), sender=SENDER)
    answer = json.loads(reply.body)
    assert ran == [] and list(answer) == WIRE_KEYS
    assert (answer["name"], answer["id"], answer["flowId"]) == ("counted:error", "i", "f")
    assert answer["payload"] == {
        "code": "TOO_MANY_IN_FLIGHT",
        "parameters": {"max": 3},
        "message": TooManyInFlight.message,
    }
    assert "tok-refused" not in reply.body.decode() + repr(noticed)
    assert isinstance(noticed[0]["error"], TooManyInFlight)
    # what is not an event is answered badProtocol, as always
    bad = dispatcher.refuse(b"{nope", TooManyInFlight(3), sender=SENDER)
    assert json.loads(bad.body)["name"] == "badProtocol"
