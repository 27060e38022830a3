"""Socket.IO in-process, with Flask-SocketIO's test client: push from outside a request,
to everyone, and the signals' transport.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask_socketio import SocketIO

from flask_events import Event, EventsBlueprint
from flask_events.codec import dumps

from .helpers import envelope


@pytest.fixture
def app():
    events = EventsBlueprint("events", __name__)
    events.add("echo", 1, lambda event: event.payload)
    app = Flask(__name__)
    app.register_blueprint(events)
    socketio = SocketIO(app, async_mode="threading")
    events.attach_socketio(socketio, namespace="/ev")
    app.extensions["test_socketio"] = socketio
    return app


def connect(app):
    return app.extensions["test_socketio"].test_client(app, namespace="/ev")


def test_ack_and_emitted_answers(app, recorder):
    sio = connect(app)
    answer = sio.emit("event", envelope("echo", 1, 5, id="x"), namespace="/ev", callback=True)
    assert answer["name"] == "echo:response" and answer["payload"] == 5
    sio.emit("event", dumps(envelope("echo", 1, 6)).decode(), namespace="/ev")
    received = sio.get_received("/ev")
    assert [r["args"][0]["payload"] for r in received] == [6]
    assert {c["transport"] for c in recorder.calls["started"]} == {"socketio"}
    assert sio.emit("event", namespace="/ev", callback=True)["name"] == "badProtocol"


def test_push_to_everyone_from_outside_a_request(app):
    first, second = connect(app), connect(app)
    with app.app_context():
        app.blueprints["events"].push(Event.new("news", 1, {"n": 1}, auth={"token": "never sent"}))
    for sio in (first, second):
        (message,) = sio.get_received("/ev")
        assert message["name"] == "event"
        assert message["args"][0]["name"] == "news" and message["args"][0]["auth"] == {}


def test_push_with_an_explicit_socketio_and_no_app_context(app):
    sio = connect(app)
    socketio = app.extensions["test_socketio"]
    app.blueprints["events"].push(Event.new("news", 1), socketio=socketio, namespace="/ev")
    assert sio.get_received("/ev")[0]["args"][0]["name"] == "news"
