"""The invariants of the WebSocket connection's design (leader/follower, see
``flask_events.transports.websocket._Connection``), one test each, named after it.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any, Optional

import pytest
import websocket
from flask import Flask
from simple_websocket import Server

from flask_events import EventsBlueprint
from flask_events.transports import websocket as transport

from .servers import serve_in_thread

pytestmark = pytest.mark.e2e

POOL = "flask-events-ws"  # the name prefix of a connection's pool threads


class Scenario:
    """An app whose ``wait`` handler blocks until :attr:`gate` is set, and which
    records the threads that handled events and the order things happened in.
    """

    def __init__(self, **config: Any) -> None:
        self.gate = threading.Event()
        self.waiting = threading.Event()
        self.threads: dict[str, str] = {}
        self.order: list[str] = []
        self.torn_down = threading.Event()
        events = EventsBlueprint("events", __name__)

        @events.handler("wait", 1)
        def wait(event: Any) -> Any:
            self.waiting.set()
            assert self.gate.wait(20)
            self.order.append(f"handled {event.id}")
            return {}

        @events.handler("echo", 1)
        def echo(event: Any) -> Any:
            self.threads[event.id] = threading.current_thread().name
            self.order.append(f"handled {event.id}")
            return event.payload

        self.app = Flask(__name__)
        self.app.config.update(TESTING=True, **config)
        self.app.register_blueprint(events)

        @self.app.teardown_request
        def teardown(error: Optional[BaseException]) -> None:
            self.order.append("view returned")
            self.torn_down.set()


def envelope(name: str, id_: str, payload: Any = None) -> str:
    return json.dumps({"name": name, "version": 1, "id": id_, "flowId": "f", "payload": payload})


@contextlib.contextmanager
def connection(app: Flask) -> Iterator[websocket.WebSocket]:
    """``app`` served on a free loopback port, and one WebSocket connection to it,
    closed at the end of the block.
    """
    with serve_in_thread(app) as url:
        ws = connect(url)
        try:
            yield ws
        finally:
            ws.close()


def connect(url: str) -> websocket.WebSocket:
    return websocket.create_connection(url.replace("http", "ws") + "/events/ws", timeout=20)


def answers(ws: websocket.WebSocket, count: int) -> list[str]:
    return [json.loads(ws.recv())["id"] for _ in range(count)]


class CountingServer(Server):  # type: ignore[misc]
    """simple-websocket's ``Server``, counting the threads waiting in ``receive()``."""

    lock = threading.Lock()
    waiting = 0
    most = 0

    def receive(self, timeout: Optional[float] = None) -> Any:
        blocking = timeout is None or timeout > 0  # timeout=0 polls, never waits
        if blocking:
            with self.lock:
                type(self).waiting += 1
                type(self).most = max(type(self).most, type(self).waiting)
        try:
            return super().receive(timeout)
        finally:
            if blocking:
                with self.lock:
                    type(self).waiting -= 1


def test_one_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    """At most one thread waits for a message at a time, while events are handled
    at once by several.
    """
    monkeypatch.setattr(transport, "Server", CountingServer)
    monkeypatch.setattr(CountingServer, "most", 0)
    scenario = Scenario()
    with connection(scenario.app) as ws:
        ws.send(envelope("wait", "w"))
        assert scenario.waiting.wait(20)
        for i in range(10):
            ws.send(envelope("echo", f"e{i}", i))
        assert sorted(answers(ws, 10)) == sorted(f"e{i}" for i in range(10))
        scenario.gate.set()
        assert answers(ws, 1) == ["w"]
    assert CountingServer.most == 1


def test_the_reader_handles_what_it_reads() -> None:
    """A lone event is read and handled by the connection's own thread: no pool
    thread is started.
    """
    scenario = Scenario()
    with connection(scenario.app) as ws:
        ws.send(envelope("echo", "lone"))
        assert answers(ws, 1) == ["lone"]
        pool = [t.name for t in threading.enumerate() if t.name.startswith(POOL)]
    assert not scenario.threads["lone"].startswith(POOL)
    assert pool == []


def test_only_handlers_block_and_never_the_reading() -> None:
    """While a handler blocks, the next events are read and answered."""
    scenario = Scenario()
    with connection(scenario.app) as ws:
        ws.send(envelope("wait", "w"))
        assert scenario.waiting.wait(20)
        ws.send(envelope("echo", "after"))
        assert answers(ws, 1) == ["after"]  # the blocked one still blocks
        scenario.gate.set()
        assert answers(ws, 1) == ["w"]


@pytest.mark.parametrize("in_flight", [1, 100], ids=["in-order", "at-once"])
def test_close_drains(in_flight: int) -> None:
    """When the client closes, the view returns only once the events in flight are
    done (their answers dropped).
    """
    scenario = Scenario(EVENTS_SOCKET_MAX_IN_FLIGHT=in_flight)
    with serve_in_thread(scenario.app) as url:
        ws = connect(url)
        ws.send(envelope("wait", "w"))
        assert scenario.waiting.wait(20)
        ws.close()
        assert not scenario.torn_down.wait(0.5)  # still handling "w"
        scenario.gate.set()
        assert scenario.torn_down.wait(20)
    assert scenario.order == ["handled w", "view returned"]


def test_in_order_with_one_in_flight() -> None:
    """With ``EVENTS_SOCKET_MAX_IN_FLIGHT = 1`` events are handled one at a time by
    the connection's own thread and answered in arrival order.
    """
    scenario = Scenario(EVENTS_SOCKET_MAX_IN_FLIGHT=1)
    with connection(scenario.app) as ws:
        ws.send(envelope("wait", "w"))
        assert scenario.waiting.wait(20)
        ws.send(envelope("echo", "next"))
        release = threading.Timer(0.3, scenario.gate.set)
        release.start()
        assert answers(ws, 2) == ["w", "next"]
        release.join()
    assert scenario.order[:2] == ["handled w", "handled next"]
    assert not scenario.threads["next"].startswith(POOL)
