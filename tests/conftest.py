"""Shared fixtures: an app with a few handlers, a signal recorder, an envelope maker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from flask_events import Event, EventsBlueprint, NotFound
from flask_events.event import random_id
from flask_events.testing import SignalRecorder, record_signals

# send_event and events_recorder: the flask_events pytest plugin's, as users get them

#: The Go library's own sample envelope (handlers_test.go ``mockEvent``).
GO_MOCK_EVENT = b"""
{
    "name": "some event",
    "version": 42,
    "id": "2465a86f-3857-423e-af86-41f67880172f",
    "flowId": "d00a5c99-ea0e-4b39-bfdc-bf1028a9c95f",
    "payload":{
        "data1": "fsadfsdf",
        "an_int64": 65484548474984654,
        "some_float": 1864.4568
    },
    "metadata": {
        "origin": "Documentation",
        "originId": "RFC-GB 0001",
        "timestamp": 1482162952
    }
}"""


#: The keys of every event the server emits, in their wire order (PROTOCOL §2).
WIRE_KEYS = ["name", "version", "id", "flowId", "payload", "identity", "auth", "metadata"]


def envelope(name: str = "echo", version: int = 1, payload: Any = None, **extra: Any) -> dict:
    """A valid request envelope as a dict."""
    return {
        "name": name,
        "version": version,
        "id": extra.pop("id", random_id()),
        "flowId": extra.pop("flowId", random_id()),
        "payload": payload if payload is not None else {},
        **extra,
    }


def make_blueprint() -> EventsBlueprint:
    events = EventsBlueprint("events", __name__)

    @events.handler("echo", 1)
    def echo(event: Event) -> Any:
        """Answers the payload it got."""
        return event.payload

    @events.handler("lookup", 1)
    def lookup(event: Event) -> Any:
        raise NotFound("nothing here", code="NOTHING", parameters={"key": "k"})

    @events.handler("boom", 1)
    def boom(event: Event) -> Any:
        raise RuntimeError("secret internals: password=hunter2")

    @events.handler("unserializable", 1)
    def unserializable(event: Event) -> Any:
        return {"value": object()}

    return events


@pytest.fixture
def blueprint() -> EventsBlueprint:
    return make_blueprint()


@pytest.fixture
def app(blueprint: EventsBlueprint) -> Flask:
    app = Flask(__name__)
    app.config["TESTING"] = True
    app.config["EVENTS_PROPAGATE_EXCEPTIONS"] = False  # the tests read <name>:error answers
    app.register_blueprint(blueprint)
    return app


@pytest.fixture
def recorder() -> Iterator[SignalRecorder]:
    """The four tracker signals, recorded (flask_events.testing's recorder)."""
    with record_signals() as rec:
        yield rec


@pytest.fixture
def runner(app: Flask) -> Any:
    """Flask's CLI runner of the ``app`` fixture (a test module's own, where it has one)."""
    return app.test_cli_runner()
