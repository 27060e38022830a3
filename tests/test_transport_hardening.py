"""Transport hardening: Socket.IO messages that are not one envelope, event loops of
ended threads, answers to WebSocket connections that are closing.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import socketio
import websocket  # websocket-client
from flask import Flask

from flask_events import EventsBlueprint
from flask_events.coroutines import run
from flask_events.event import random_id

from .servers import flask_server, serve_in_thread

NS = "/events"


def envelope(name: str) -> dict[str, Any]:
    return {"name": name, "version": 1, "id": random_id(), "flowId": random_id(), "payload": {}}


# -- Socket.IO: exactly one envelope per ``event`` message ------------------------------


@pytest.fixture(scope="module")
def socketio_server() -> Iterator[str]:
    with flask_server("example_app") as base:
        yield base


@contextlib.contextmanager
def sio_client(base: str) -> Iterator[Any]:
    sio = socketio.Client()
    received: queue.Queue = queue.Queue()
    sio.on("event", received.put, namespace=NS)
    sio.connect(base, namespaces=[NS], transports=["polling"], wait_timeout=10)
    sio.received = received
    try:
        yield sio
    finally:
        sio.disconnect()


def assert_bad_protocol(answer: Any, message: str, sent: dict[str, Any]) -> None:
    assert answer["name"] == "badProtocol", answer
    assert answer["payload"]["parameters"] == {"message": message}
    assert answer["id"] not in (sent["id"], "") and answer["flowId"] != sent["flowId"]


@pytest.mark.e2e
def test_socketio_several_arguments_are_answered_bad_protocol(socketio_server):
    env = envelope("rates:get")
    with sio_client(socketio_server) as sio:
        for args, count in (((env, env), 2), ((env, 1, "x"), 3), ((env, b"\x00"), 2)):
            answer = sio.call("event", args, namespace=NS, timeout=10)
            assert_bad_protocol(answer, f"emit one envelope per event, not {count} arguments", env)
        answer = sio.call("event", namespace=NS, timeout=10)  # no argument at all
        assert_bad_protocol(answer, "emit one envelope per event, not 0 arguments", env)
        sio.emit("event", (env, env), namespace=NS)  # no acknowledgement: emitted back
        emitted = sio.received.get(timeout=10)
        assert_bad_protocol(emitted, "emit one envelope per event, not 2 arguments", env)
        # and the connection still serves envelopes
        assert sio.call("event", env, namespace=NS, timeout=10)["name"] == "rates:get:response"


@pytest.mark.e2e
def test_socketio_binary_attachments_inside_an_envelope_are_bad_protocol(socketio_server):
    env = envelope("rates:get")
    with sio_client(socketio_server) as sio:
        for sent in ({**env, "payload": {"file": b"\x00\xff"}}, {**env, "auth": {"t": [b"x"]}}):
            answer = sio.call("event", sent, namespace=NS, timeout=10)
            message = "binary attachments are not JSON: send the envelope as JSON"
            assert_bad_protocol(answer, message, env)
        # the whole envelope's JSON as bytes is read as JSON, as it always was
        answer = sio.call("event", json.dumps(env).encode(), namespace=NS, timeout=10)
        assert answer["name"] == "rates:get:response" and answer["id"] == env["id"]
        for sent in (5, [env], "5"):
            assert sio.call("event", sent, namespace=NS, timeout=10)["name"] == "badProtocol"


# -- async handlers: a thread's event loop is closed when the thread ends -----------------


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@contextlib.contextmanager
def gc_disabled() -> Iterator[None]:
    """Count what reference counting alone frees: the collector does not run."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def async_app(sleep: float = 0.0) -> Flask:
    events = EventsBlueprint("events", __name__)

    @events.handler("async:echo", 1)
    async def echo(event):
        await asyncio.sleep(sleep)
        return {"id": event.id}

    app = Flask(__name__)
    app.register_blueprint(events)
    return app


def test_the_loops_of_ended_threads_are_closed_without_the_garbage_collector():
    app = async_app()
    dispatcher = app.blueprints["events"].dispatcher

    def one_event() -> None:
        with app.app_context():
            reply = dispatcher.handle(json.dumps(envelope("async:echo")), sender=app)
        assert reply.event.name == "async:echo:response"

    run(asyncio.sleep(0))  # this thread's loop exists before counting (it lives on)
    with gc_disabled():
        before = open_fds()
        for _ in range(200):
            thread = threading.Thread(target=one_event)
            thread.start()
            thread.join(10)
        after = open_fds()
    assert after - before <= 10, f"{after - before} descriptors left by 200 ended threads"


def wait_for_fds(limit: int, timeout: float = 15.0) -> int:
    """The descriptor count once it is at most ``limit`` (or when ``timeout`` ends)."""
    deadline = time.monotonic() + timeout
    while (count := open_fds()) > limit and time.monotonic() < deadline:
        time.sleep(0.1)
    return count


@pytest.mark.e2e
def test_websocket_connection_threads_close_their_loops_when_the_connection_ends():
    app = async_app(sleep=0.02)  # events overlap: each connection uses several threads
    with gc_disabled(), serve_in_thread(app) as base:
        url = base.replace("http", "ws") + "/events/ws"
        with contextlib.closing(websocket.create_connection(url, timeout=10)) as ws:
            ws.send(json.dumps(envelope("async:echo")))
            assert json.loads(ws.recv())["name"] == "async:echo:response"
        before = open_fds()  # the server's socket, the first connection's leftovers
        for _ in range(6):
            with contextlib.closing(websocket.create_connection(url, timeout=10)) as ws:
                sent = [envelope("async:echo") for _ in range(30)]
                for env in sent:
                    ws.send(json.dumps(env))
                ids = {json.loads(ws.recv())["payload"]["id"] for _ in sent}
                assert ids == {env["id"] for env in sent}
        after = wait_for_fds(before + 6)
    assert after - before <= 6, f"{after - before} descriptors left by 6 closed connections"


# -- WebSocket: an answer to a connection that is closing is dropped quietly -------------

BODY = "ANSWER-BODY-TEXT"
#: Generous bound for what should happen at once on a loaded machine.
PATIENCE = 10.0


def big_answer_app(released: dict[str, threading.Event], held: list[str]) -> Flask:
    """``big`` answers after a delay spread over its ids (answers keep coming while
    the connection closes); ``held`` answers once ``released[<its connection>]`` is set.
    """
    events = EventsBlueprint("events", __name__)

    @events.handler("big", 1)
    def big(event):
        time.sleep(0.002 * int(event.id.split("-")[0]))
        return {"text": BODY * 100}

    @events.handler("held", 1)
    def hold(event):
        connection = event.id.split("-")[0]
        held.append(connection)
        assert released[connection].wait(PATIENCE)
        return {"text": BODY * 100}

    app = Flask(__name__)
    app.config["EVENTS_WEBSOCKET_MAX_MESSAGE_SIZE"] = 4096
    app.register_blueprint(events)
    return app


def wait_until(condition: Any) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


@pytest.mark.e2e
def test_answers_to_a_closing_websocket_are_dropped_without_a_traceback(caplog):
    """The server closes (1009: a message over the limit) while answers are still
    being sent, and while it reads the client's heartbeats (unsolicited pongs, which
    RFC 6455 allows); the client goes away without a closing handshake. The answers of
    the ``held`` events are sent only once the server has closed: each is dropped.
    """
    too_big = websocket.ABNF.create_frame("x" * 5000, websocket.ABNF.OPCODE_TEXT).format()
    pong = websocket.ABNF.create_frame("", websocket.ABNF.OPCODE_PONG).format()
    connections, held_each = 12, 2
    released = {str(c): threading.Event() for c in range(connections)}
    held: list[str] = []

    def dropped() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.getMessage().startswith("WebSocket answer dropped")]

    app = big_answer_app(released, held)
    with caplog.at_level(logging.DEBUG), serve_in_thread(app) as base:
        url = base.replace("http", "ws") + "/events/ws"
        for c in range(connections):
            ws = websocket.create_connection(url, timeout=PATIENCE)
            for _ in range(held_each):
                ws.send(json.dumps({**envelope("held"), "id": f"{c}-{random_id()}"}))
            for k in range(40):
                ws.send(json.dumps({**envelope("big"), "id": f"{k}-{random_id()}"}))
            wait_until(lambda c=c: held.count(str(c)) == held_each)
            ws.sock.sendall(too_big + pong * 5000)
            while ws.recv_frame().opcode != websocket.ABNF.OPCODE_CLOSE:
                pass  # answers, then the server's close (not answered: no handshake)
            ws.sock.close()  # abruptly
            released[str(c)].set()  # the held events answer a closed connection
        # a connection's request is logged once all its events are answered
        served = lambda: [r for r in caplog.records if "/events/ws" in r.getMessage()]  # noqa: E731
        wait_until(lambda: len(served()) == connections)
    assert "LocalProtocolError" not in caplog.text
    assert "Traceback" not in caplog.text and BODY not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(dropped()) >= connections * held_each  # the held events' answers at least
    assert {r.levelno for r in dropped()} == {logging.DEBUG}  # its size, not its text
    for record in dropped():
        assert re.fullmatch(
            r"WebSocket answer dropped \(\d+ bytes\): connection closed", record.getMessage()
        )
