"""Rule 7 of issue 11: the app's own Socket.IO handlers keep working beside the events
namespace, in either order; and rule 2's Socket.IO half: collisions are loud.
"""

from __future__ import annotations

import contextlib
import queue
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio as python_socketio
from flask import Flask
from flask_socketio import ConnectionRefusedError, Namespace, SocketIO

from flask_events import EventsBlueprint, EventsError
from flask_events.transports import socketio as transport

from .servers import serve_in_thread

NS = "/events"
KEY = "let-me-in"
ORDERS = ["app_handlers_first", "app_handlers_after"]


def envelope(name: str = "echo", payload: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "version": 1,
        "id": extra.pop("id", str(uuid.uuid4())),
        "flowId": str(uuid.uuid4()),
        "payload": payload if payload is not None else {},
        **extra,
    }


def make_app(order: str, *, init_later: bool = False) -> Flask:
    """An app whose own ``connect`` handler on the events namespace refuses clients
    without the key and whose ``disconnect`` handler records them, registered before
    or after ``attach_socketio``; the ``SocketIO`` is bound to the app at once, or
    (``init_later``) created bare and given the app with ``init_app`` at the end.
    """
    events = EventsBlueprint("events", __name__)
    events.add("echo", 1, lambda event: event.payload)
    app = Flask(__name__)
    app.register_blueprint(events)
    socketio = (
        SocketIO(async_mode="threading") if init_later else SocketIO(app, async_mode="threading")
    )
    seen: list[str] = []

    def on_connect(auth: Any = None) -> None:
        if not isinstance(auth, dict) or auth.get("key") != KEY:
            raise ConnectionRefusedError("a key is required")
        seen.append("connect")

    def on_disconnect(reason: Any = None) -> None:
        seen.append("disconnect")

    def register_own_handlers() -> None:
        socketio.on_event("connect", on_connect, namespace=NS)
        socketio.on_event("disconnect", on_disconnect, namespace=NS)

    if order == "app_handlers_first":
        register_own_handlers()
    with app.app_context():
        events.attach_socketio(socketio, namespace=NS)
    if order == "app_handlers_after":
        register_own_handlers()
    if init_later:
        socketio.init_app(app)
    app.extensions["test_socketio"] = socketio
    app.extensions["test_seen"] = seen
    return app


@contextlib.contextmanager
def real_client(base: str, auth: Any = None) -> Iterator[python_socketio.Client]:
    """A python-socketio client connected over WebSocket, with a queue of the ``event``
    messages it is sent. (Over long-polling, python-socketio 5.18's client may leave
    without the server noticing until the ping timeout; over WebSocket the server's
    ``disconnect`` handlers run as the client closes.)
    """
    sio = python_socketio.Client()
    received: queue.Queue[Any] = queue.Queue()
    sio.on("event", received.put, namespace=NS)
    try:
        sio.connect(base, namespaces=[NS], transports=["websocket"], auth=auth, wait_timeout=10)
        sio.received = received  # type: ignore[attr-defined]
        yield sio
    finally:
        sio.disconnect()


def wait_until(condition: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


# -- rule 7: the app's own connect / disconnect handlers, a real client and server --


@pytest.mark.e2e
@pytest.mark.parametrize("order", ORDERS)
def test_own_connect_handler_refuses_without_key_real_client(order):
    app = make_app(order)
    with serve_in_thread(app) as base:
        with pytest.raises(python_socketio.exceptions.ConnectionError):
            with real_client(base):
                pass
        with pytest.raises(python_socketio.exceptions.ConnectionError):
            with real_client(base, auth={"key": "wrong"}):
                pass
    assert app.extensions["test_seen"] == []


@pytest.mark.e2e
@pytest.mark.parametrize("order", ORDERS)
def test_own_connect_handler_kept_and_events_answer_real_client(order):
    app = make_app(order)
    seen = app.extensions["test_seen"]
    with serve_in_thread(app) as base:
        with real_client(base, auth={"key": KEY}) as sio:
            assert seen == ["connect"]
            acked = sio.call("event", envelope(payload=1, id="with-ack"), namespace=NS, timeout=10)
            assert acked["name"] == "echo:response" and acked["id"] == "with-ack"
            sio.emit("event", envelope(payload=2, id="no-ack"), namespace=NS)
            emitted = sio.received.get(timeout=10)  # type: ignore[attr-defined]
            assert emitted["name"] == "echo:response" and emitted["id"] == "no-ack"
            assert sio.received.empty()  # type: ignore[attr-defined]  # the ack was not emitted
        assert wait_until(lambda: seen == ["connect", "disconnect"]), seen


# -- the same with Flask-SocketIO's test client (it goes through the same dispatch) --


@pytest.mark.parametrize("init_later", [False, True], ids=["SocketIO(app)", "init_app"])
@pytest.mark.parametrize("order", ORDERS)
def test_own_connect_handler_kept_and_events_answer_test_client(order, init_later):
    app = make_app(order, init_later=init_later)
    socketio, seen = app.extensions["test_socketio"], app.extensions["test_seen"]
    assert not socketio.test_client(app, namespace=NS).is_connected(NS)
    assert not socketio.test_client(app, namespace=NS, auth={"key": "no"}).is_connected(NS)
    assert seen == []
    sio = socketio.test_client(app, namespace=NS, auth={"key": KEY})
    assert sio.is_connected(NS) and seen == ["connect"]
    acked = sio.emit("event", envelope(payload=1, id="with-ack"), namespace=NS, callback=True)
    assert acked["name"] == "echo:response" and acked["id"] == "with-ack"
    assert sio.get_received(NS) == []  # acknowledged, not emitted as well
    assert sio.emit("event", envelope(payload=2, id="no-ack"), namespace=NS) is None
    (emitted,) = sio.get_received(NS)
    assert emitted["name"] == "event" and emitted["args"][0]["id"] == "no-ack"
    sio.disconnect(NS)
    assert seen == ["connect", "disconnect"]


# -- the private hook: installed once at attach time, loud when python-socketio changed --


def test_ack_hook_installed_once_at_attach_time_not_on_connect():
    make_app("app_handlers_after", init_later=True)  # no client has connected
    installed = python_socketio.Server._handle_event_internal
    assert installed._flask_events is True
    make_app("app_handlers_first")
    assert python_socketio.Server._handle_event_internal is installed  # not wrapped again
    assert not getattr(installed.__wrapped__, "_flask_events", False)


def test_ack_hook_fails_loudly_when_python_socketio_lacks_the_private_method(monkeypatch):
    monkeypatch.delattr(python_socketio.Server, "_handle_event_internal")
    with pytest.raises(EventsError, match=r"python-socketio .* is not supported.*>=5\.10"):
        make_app("app_handlers_first")


def test_ack_hook_fails_loudly_when_the_private_method_changed(monkeypatch):
    def changed(self, server, sid, eio_sid, data, namespace, id, extra):
        raise AssertionError("never called")

    monkeypatch.setattr(python_socketio.Server, "_handle_event_internal", changed)
    with pytest.raises(EventsError, match=r"Server\._handle_event_internal"):
        make_app("app_handlers_first")
    assert python_socketio.Server._handle_event_internal is changed  # left alone


def test_python_socketio_pin_matches_the_tested_range():
    project = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    pinned = f'"python-socketio{transport.SUPPORTED_PYTHON_SOCKETIO}"'
    assert project.count(pinned) >= 2  # the socketio and redis extras


# -- rule 2, Socket.IO half: collisions are loud at attach time --


def two_blueprints(init_later: bool) -> tuple[Flask, SocketIO, EventsBlueprint, EventsBlueprint]:
    first, second = EventsBlueprint("first", __name__), EventsBlueprint("second", __name__)
    app = Flask(__name__)
    app.register_blueprint(first, url_prefix="/a")
    app.register_blueprint(second, url_prefix="/b")
    socketio = (
        SocketIO(async_mode="threading") if init_later else SocketIO(app, async_mode="threading")
    )
    return app, socketio, first, second


@pytest.mark.parametrize("init_later", [False, True], ids=["SocketIO(app)", "init_app"])
def test_two_blueprints_on_one_namespace_collide(init_later):
    app, socketio, first, second = two_blueprints(init_later)
    with app.app_context():
        first.attach_socketio(socketio, namespace=NS)
        with pytest.raises(EventsError, match=r"'second'.*'/events'.*events blueprint 'first'"):
            second.attach_socketio(socketio, namespace=NS)
        second.attach_socketio(socketio, namespace="/other")  # another namespace is fine
    if init_later:
        socketio.init_app(app)
    sio = socketio.test_client(app, namespace=NS)
    assert sio.emit("event", envelope("nope"), namespace=NS, callback=True)["name"] == (
        "eventNotFound"
    )  # the first blueprint still answers


def test_one_blueprint_registered_twice_on_one_namespace_collides():
    events = EventsBlueprint("events", __name__)
    app = Flask(__name__)
    app.register_blueprint(events)
    app.register_blueprint(events, name="again", url_prefix="/again")
    socketio = SocketIO(app, async_mode="threading")
    events.attach_socketio(socketio, namespace=NS, name="events")
    with pytest.raises(EventsError, match=r"'again'.*events blueprint 'events'"):
        events.attach_socketio(socketio, namespace=NS, name="again")


def own_event_handler(data: Any) -> None:
    """The app's own ``event`` handler on the events namespace."""


@pytest.mark.parametrize("init_later", [False, True], ids=["SocketIO(app)", "init_app"])
def test_the_apps_own_event_handler_collides(init_later):
    app, socketio, first, _ = two_blueprints(init_later)
    socketio.on_event("event", own_event_handler, namespace=NS)
    with app.app_context(), pytest.raises(EventsError) as caught:
        first.attach_socketio(socketio, namespace=NS)
    message = str(caught.value)
    assert "'first'" in message and f"{__name__}.own_event_handler" in message


def test_the_apps_class_based_namespace_with_on_event_collides():
    app, socketio, first, _ = two_blueprints(init_later=False)

    class Own(Namespace):
        def on_event(self, data: Any) -> None:
            pass

    socketio.on_namespace(Own(NS))
    with app.app_context(), pytest.raises(EventsError, match=r"'first'.*Own"):
        first.attach_socketio(socketio, namespace=NS)
