"""Shared test helpers: sample envelopes, the wire keys and a blueprint with a few
handlers. Test modules import them from here, never from ``conftest.py`` or from
another test module (``tests/test_test_imports.py`` checks it).
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Flask

from flask_events import Event, EventsBlueprint, NotFound
from flask_events.codec import dumps
from flask_events.event import random_id

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


#: The keys of every event the server emits, in their wire order
#: (docs/protocol.rst#responses).
WIRE_KEYS = ["name", "version", "id", "flowId", "payload", "identity", "auth", "metadata"]


def envelope(name: str = "echo", version: int = 1, payload: Any = None, **extra: Any) -> dict:
    """A valid request envelope as a dict (``version`` before ``payload``, unlike
    ``tests/envelopes.py``'s): fresh ids unless ``id``/``flowId`` are given.
    """
    return {
        "name": name,
        "version": version,
        "id": extra.pop("id", random_id()),
        "flowId": extra.pop("flowId", random_id()),
        "payload": payload if payload is not None else {},
        **extra,
    }


def make_blueprint() -> EventsBlueprint:
    """A blueprint answering ``echo``, ``lookup`` (typed ``notFound``), ``boom`` (a bug
    whose text holds a secret) and ``unserializable``, all version 1.
    """
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


def make_app(events: EventsBlueprint, **config: Any) -> Flask:
    """A Flask app with ``config`` and ``events`` registered."""
    app = Flask(__name__)
    app.config.update(config)
    app.register_blueprint(events)
    return app


def send(app: Flask, name: str, payload: Any, version: int = 1) -> Any:
    """POST one event to ``app``'s ``/events`` with its test client; the answer's JSON
    (the status must be 200).
    """
    response = app.test_client().post("/events", data=dumps(envelope(name, version, payload)))
    assert response.status_code == 200
    return response.json


def _declared_order_base() -> type:
    from importlib.metadata import version

    if tuple(int(part) for part in version("marshmallow").split(".")[:2]) >= (3, 26):
        return ma.Schema  # the order is kept by default, and ``ordered`` deprecated

    class Ordered(ma.Schema):
        class Meta:
            ordered = True

    return Ordered


#: A marshmallow base schema whose fields keep their declaration order on every
#: marshmallow the project supports (before 3.26 they come in a set's order unless
#: ``Meta.ordered``).
DeclaredOrder = _declared_order_base()
