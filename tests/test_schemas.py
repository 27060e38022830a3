"""Declared handlers: payload schemas, validation, output dumping, examples."""

from __future__ import annotations

import logging

import pytest
from marshmallow import Schema, fields, validate

from flask_events import EventsBlueprint, EventsError, ExampleError
from flask_events.errors import InvalidOutput

from .helpers import make_app, send


class Address(Schema):
    city = fields.String(required=True)
    zip = fields.String(required=True, validate=validate.Length(equal=5))


class User(Schema):
    name = fields.String(required=True)
    age = fields.Integer(strict=True, validate=validate.Range(min=0))
    address = fields.Nested(Address)


class UserOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    secret = fields.String(load_only=True)


@pytest.fixture
def events():
    return EventsBlueprint("events", __name__)


def test_handler_receives_the_loaded_payload(events):
    seen = {}

    @events.handler("user:create", 1, input=User)
    def create(event, user):
        seen["user"], seen["raw"] = user, event.payload
        return {"ok": True}

    payload = {"name": "Ana", "age": 3, "address": {"city": "X", "zip": "12345"}}
    assert send(make_app(events), "user:create", payload)["name"] == "user:create:response"
    assert seen["user"] == payload and seen["raw"] == payload


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({}, {"name": ["Missing data for required field."]}),
        ({"name": "A", "age": "3"}, {"age": ["Not a valid integer."]}),
        (
            {"name": "A", "address": {"zip": "1"}},
            {
                "address": {
                    "city": ["Missing data for required field."],
                    "zip": ["Length must be 5."],
                }
            },
        ),
        ({"name": "A", "extra": 1}, {"extra": ["Unknown field."]}),
        ([1, 2], {"_schema": ["Invalid input type."]}),
        ("text", {"_schema": ["Invalid input type."]}),
    ],
)
def test_bad_payload_is_bad_request_and_the_handler_never_runs(events, payload, errors):
    calls = []
    events.add("user:create", 1, lambda event, user: calls.append(user), input=User)
    body = send(make_app(events), "user:create", payload)
    assert body["name"] == "user:create:badRequest"
    assert body["payload"]["code"] == "INVALID_PAYLOAD"
    assert body["payload"]["parameters"] == {"errors": errors}
    assert calls == []


def test_output_is_dumped_through_the_schema(events):
    @events.handler("user:get", 1, output=UserOut)
    def get(event):
        return {"id": 1, "name": "Ana", "secret": "s3cr3t", "internal": "x"}

    body = send(make_app(events), "user:get", {})
    assert body["payload"] == {"id": 1, "name": "Ana"}


def test_output_mismatch_is_loud_in_testing(events, caplog):
    events.add("user:get", 1, lambda event: {"name": "no id"}, output=UserOut)
    with pytest.raises(InvalidOutput, match="does not match UserOut"):  # propagated
        send(make_app(events, TESTING=True), "user:get", {})
    with caplog.at_level(logging.ERROR, logger="flask_events"):
        body = send(
            make_app(events, TESTING=True, EVENTS_PROPAGATE_EXCEPTIONS=False), "user:get", {}
        )
    assert body["name"] == "user:get:error"
    assert "does not match UserOut" in caplog.text and "id" in caplog.text


def test_an_events_error_handler_sees_an_output_mismatch_and_reraising_keeps_it_loud(events):
    events.add("user:get", 1, lambda event: {"name": "no id"}, output=UserOut)
    seen = []

    @events.errorhandler(EventsError)
    def handle(error):
        seen.append(type(error))
        if isinstance(error, InvalidOutput):
            raise error
        return error

    with pytest.raises(InvalidOutput, match="does not match UserOut"):  # still propagated
        send(make_app(events, TESTING=True), "user:get", {})
    assert seen == [InvalidOutput]


def test_output_is_not_checked_in_production_unless_asked(events):
    events.add("user:get", 1, lambda event: {"name": "no id"}, output=UserOut)
    assert send(make_app(events), "user:get", {})["payload"] == {"name": "no id"}
    app = make_app(events, EVENTS_VALIDATE_OUTPUT=True)
    assert send(app, "user:get", {})["name"] == "user:get:error"
    app = make_app(events, TESTING=True, EVENTS_VALIDATE_OUTPUT=False)
    assert send(app, "user:get", {})["name"] == "user:get:response"


def test_many_output_schema(events):
    events.add("users:list", 1, lambda e: [{"id": 1, "name": "A"}], output=UserOut(many=True))
    assert send(make_app(events, TESTING=True), "users:list", {})["payload"] == [
        {"id": 1, "name": "A"}
    ]


def test_examples_are_checked_at_registration(events):
    with pytest.raises(ExampleError, match=r"input example of event 'user:create' version 1"):
        events.add("user:create", 1, print, input=User, example=({"age": 1}, None))
    with pytest.raises(ExampleError, match="output example"):
        events.add("user:get", 1, print, output=UserOut, example=(None, {"name": "x"}))
    with pytest.raises(TypeError, match=r"\(input, output\)"):
        events.add("user:get", 1, print, example={"in": 1})
    events.add("user:get", 1, print, output=UserOut, example=(None, {"id": 1, "name": "x"}))
    assert ("user:create", 1) not in events.registry


def test_unknown_schema_kind_is_refused(events):
    with pytest.raises(TypeError, match="marshmallow Schema or a pydantic model"):
        events.add("x", 1, print, input=dict)
