"""Rule: one blueprint, many apps. The blueprint keeps only what its decorators declare;
what an app sets up lives in ``app.extensions["events"]`` under the blueprint's full
dotted name, so one ``EventsBlueprint`` registered on two apps (an app factory) serves
each independently.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from flask import Blueprint, Flask
from flask_socketio import SocketIO

from flask_events import Event, EventsBlueprint, EventsError
from flask_events.state import EventsState


def make_events() -> EventsBlueprint:
    events = EventsBlueprint("events", __name__)
    events.add("echo", 1, lambda event: event.payload)
    return events


def make_app(events: EventsBlueprint, namespace: str, **config: Any) -> tuple[Flask, SocketIO]:
    app = Flask(f"app{namespace.strip('/')}")
    app.config.update(config)
    app.register_blueprint(events)
    socketio = SocketIO(app, async_mode="threading")
    events.attach_socketio(socketio, namespace=namespace)
    return app, socketio


def snapshot(blueprint: EventsBlueprint) -> dict[str, Any]:
    """The blueprint's own attributes, compared by value where they can be copied."""
    state = {}
    for key, value in vars(blueprint).items():
        try:
            state[key] = copy.copy(value)
        except TypeError:
            state[key] = value
    return state


def test_registering_and_attaching_leave_the_blueprint_as_declared():
    events = make_events()
    before = snapshot(events)
    make_app(events, "/a")
    make_app(events, "/b")
    after = snapshot(events)
    after.pop("_got_registered_once", None)  # Flask's own flag, as on any Blueprint
    before.pop("_got_registered_once", None)
    assert after.keys() == before.keys()
    for key, value in before.items():
        if isinstance(value, (str, int, float, bool, type(None), dict, list, tuple, set)):
            assert after[key] == value, key


def test_state_lives_in_app_extensions_under_the_full_dotted_name():
    events = make_events()
    parent = Blueprint("v1", __name__, url_prefix="/v1")
    parent.register_blueprint(events, url_prefix="/e")
    app = Flask(__name__)
    app.register_blueprint(parent)
    socketio = SocketIO(app, async_mode="threading")
    events.attach_socketio(socketio, namespace="/ns")
    state = app.extensions["events"]["v1.events"]
    assert isinstance(state, EventsState)
    assert state.blueprint is events and state.name == "v1.events"
    assert state.socketio is socketio and state.namespace == "/ns"
    assert state.urls["v1.events.events"] == "/v1/e/events"


def test_push_in_app_a_reaches_only_a_clients_on_a_namespace():
    events = make_events()
    app_a, sio_a = make_app(events, "/a")
    app_b, sio_b = make_app(events, "/b")
    client_a = sio_a.test_client(app_a, namespace="/a")
    client_b = sio_b.test_client(app_b, namespace="/b")
    with app_a.app_context():
        events.push(Event.new("news", 1, {"for": "a"}))
    with app_b.app_context():
        events.push(Event.new("news", 1, {"for": "b"}))
    got_a = [m["args"][0]["payload"] for m in client_a.get_received("/a")]
    got_b = [m["args"][0]["payload"] for m in client_b.get_received("/b")]
    assert got_a == [{"for": "a"}]
    assert got_b == [{"for": "b"}]


def test_each_app_answers_on_its_own_namespace_with_its_own_limits():
    events = make_events()
    app_a, sio_a = make_app(events, "/a", EVENTS_MAX_DEPTH=2)
    app_b, sio_b = make_app(events, "/b")
    deep = {"name": "echo", "version": 1, "id": "i", "flowId": "f", "payload": [[[1]]]}
    answer_a = sio_a.test_client(app_a, namespace="/a").emit(
        "event", deep, namespace="/a", callback=True
    )
    answer_b = sio_b.test_client(app_b, namespace="/b").emit(
        "event", deep, namespace="/b", callback=True
    )
    assert answer_a["name"] == "badProtocol"
    assert answer_b["name"] == "echo:response"


def test_attach_needs_the_blueprint_registered_on_that_app():
    events = make_events()
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="threading")
    with pytest.raises(EventsError, match="not registered on app"):
        events.attach_socketio(socketio)


def test_attaching_one_registration_twice_is_an_error():
    events = make_events()
    _app, socketio = make_app(events, "/a")
    with pytest.raises(EventsError, match="attached already, to namespace '/a'"):
        events.attach_socketio(socketio, namespace="/other")


def test_a_blueprint_registered_twice_on_one_app_is_attached_by_name():
    events = make_events()
    app = Flask(__name__)
    app.register_blueprint(events, url_prefix="/one")
    app.register_blueprint(events, url_prefix="/two", name="second")
    socketio = SocketIO(app, async_mode="threading")
    with pytest.raises(EventsError, match=r"more than once .*events, second"):
        events.attach_socketio(socketio)
    events.attach_socketio(socketio, namespace="/2", name="second")
    client = socketio.test_client(app, namespace="/2")
    with app.app_context():
        events.push(Event.new("news", 1))
    assert client.get_received("/2")[0]["args"][0]["name"] == "news"


def test_push_without_an_attached_socketio_is_an_error():
    events = make_events()
    app = Flask(__name__)
    app.register_blueprint(events)
    with app.app_context(), pytest.raises(EventsError, match="not attached to a SocketIO"):
        events.push(Event.new("news", 1))
    with pytest.raises(EventsError, match="outside an app context needs socketio"):
        events.push(Event.new("news", 1))


def test_attach_without_flask_socketio_names_the_extra(monkeypatch):
    events = make_events()
    monkeypatch.setitem(__import__("sys").modules, "flask_socketio", None)
    with pytest.raises(ImportError, match=r"pip install 'Flask-Events-Protocol\[socketio\]'"):
        events.attach_socketio(object())
