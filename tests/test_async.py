"""``async def`` handlers work wherever sync ones do, without wiring a loop."""

from __future__ import annotations

import asyncio

import pytest
from flask import Flask, current_app
from marshmallow import Schema, fields

from flask_events import EventsBlueprint, NotFound, current_handling
from flask_events.codec import dumps

from .helpers import envelope


class Numbers(Schema):
    values = fields.List(fields.Integer(), required=True)


@pytest.fixture
def app():
    events = EventsBlueprint("events", __name__)

    @events.handler("sum", 1, input=Numbers)
    async def total(event, data):
        await asyncio.sleep(0)
        return {"sum": sum(data["values"]), "app": current_app.name}

    @events.handler("lookup", 1)
    async def lookup(event):
        await asyncio.sleep(0)
        raise NotFound("not here", code="NOPE")

    @events.handler("crash", 1)
    async def crash(event):
        raise RuntimeError("async boom")

    @events.handler("who", 1)
    async def who(event):
        handling = current_handling()
        return {"id": handling.event.id, "transport": handling.transport}

    app = Flask(__name__)
    app.register_blueprint(events)
    return app


def send(client, name, payload=None, **extra):
    return client.post("/events", data=dumps(envelope(name, 1, payload, **extra))).json


def test_async_handler_answers_with_the_app_context(app, client):
    body = send(client, "sum", {"values": [1, 2, 3]})
    assert body["name"] == "sum:response"
    assert body["payload"] == {"sum": 6, "app": app.name}


def test_async_errors(client):
    assert send(client, "lookup")["name"] == "lookup:notFound"
    crashed = send(client, "crash")
    assert crashed["name"] == "crash:error" and b"async boom" not in dumps(crashed)
    assert send(client, "sum", {"values": "x"})["name"] == "sum:badRequest"


def test_current_handling_inside_a_handler(client):
    body = send(client, "who", id="the-id")
    assert body["payload"] == {"id": "the-id", "transport": "http"}
    assert current_handling() is None  # and nothing is left behind


def test_many_events_reuse_this_threads_loop(client):
    for i in range(50):
        assert send(client, "sum", {"values": [i]})["payload"]["sum"] == i


def test_dispatching_from_inside_a_running_loop(app):
    """A caller that is itself async (an ASGI server, a test) still gets an answer."""
    dispatcher = app.blueprints["events"].dispatcher

    async def caller():
        with app.app_context():
            reply = dispatcher.handle(dumps(envelope("sum", 1, {"values": [2, 2]})), sender=app)
        return reply.event

    answer = asyncio.run(caller())
    assert answer.name == "sum:response" and answer.payload["sum"] == 4
