"""A connection the server closes (a message over the limit: 1009; an exception
escaping a handler: 1011) while events are in flight and the client stays silent
(it neither answers the close nor goes), with pings off: under threads the view
ends once the events are done, and the connection's threads end too, simple-websocket's
reader included (it waited for the client's close reply for good), and the client
sees the close frame, then the end of the stream. An answer being written when the
server closes goes out before the close frame, never after it.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import websocket  # websocket-client
from flask import Flask

from flask_events import EventsBlueprint

from .servers import (
    free_port,
    gunicorn_no_control_socket,
    serve_in_thread,
    serve_logging_to,
    wait_until,
)

pytestmark = pytest.mark.e2e

LIMIT = 1024  # EVENTS_WEBSOCKET_MAX_MESSAGE_SIZE


class Crash(RuntimeError):
    pass


def make_app(gate: threading.Event, started: list[str], **config: Any) -> Flask:
    events = EventsBlueprint("events", __name__)

    @events.handler("wait", 1)
    def wait(event: Any) -> Any:
        started.append(event.id)
        return {"opened": gate.wait(30)}

    @events.handler("crash", 1)
    def crash(event: Any) -> Any:
        raise Crash("crashed")

    app = Flask(__name__)
    app.config.update(
        EVENTS_SOCKET_MAX_IN_FLIGHT=3,
        EVENTS_WEBSOCKET_PING_INTERVAL=None,
        EVENTS_WEBSOCKET_MAX_MESSAGE_SIZE=LIMIT,
        **config,
    )
    app.register_blueprint(events)
    return app


def envelope(name: str, id_: str) -> str:
    return json.dumps({"name": name, "version": 1, "id": id_, "flowId": "f", "payload": {}})


def connection_threads() -> list[threading.Thread]:
    """This process's threads that serve a WebSocket: simple-websocket's readers and
    the connections' pools.
    """
    return [
        thread
        for thread in threading.enumerate()
        if "simple_websocket" in thread.name or thread.name.startswith("flask-events-ws")
    ]


def read_to_end(ws: websocket.WebSocket) -> list[int]:
    """The opcodes of the frames left, until the server ends the stream (a raw read:
    no close reply is sent). ``-1`` stands for the end of the stream.
    """
    sock = ws.sock
    sock.settimeout(20)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    opcodes = []
    while data:
        length = data[1] & 0x7F
        start = 2
        if length == 126:
            length, start = int.from_bytes(data[2:4], "big"), 4
        elif length == 127:
            length, start = int.from_bytes(data[2:10], "big"), 10
        opcodes.append(data[0] & 0x0F)
        data = data[start + length :]
    return [*opcodes, -1]


@pytest.mark.parametrize("cause", ["too-big-1009", "crash-1011"])
def test_a_connection_the_server_closes_leaves_no_thread_while_the_client_stays_silent(
    cause: str,
) -> None:
    assert wait_until(lambda: not connection_threads()), connection_threads()
    gate, started = threading.Event(), list[str]()
    app = make_app(gate, started, TESTING=cause == "crash-1011")
    with serve_in_thread(app) as url:
        ws = websocket.create_connection(url.replace("http", "ws") + "/events/ws", timeout=20)
        try:
            for i in range(2):
                ws.send(envelope("wait", f"w{i}"))
            assert wait_until(lambda: len(started) == 2)
            if cause == "too-big-1009":
                ws.send("x" * (LIMIT + 1))
                assert json.loads(ws.recv())["name"] == "badProtocol"
            else:
                ws.send(envelope("crash", "c"))
            gate.set()
            # the events done, the view ends, and no thread of the connection stays
            assert wait_until(lambda: not connection_threads()), connection_threads()
            # answers that beat the close, the close, then the end of the stream
            frames = read_to_end(ws)
            assert frames[-2:] == [websocket.ABNF.OPCODE_CLOSE, -1]
            assert set(frames[:-2]) <= {websocket.ABNF.OPCODE_TEXT}
        finally:
            ws.sock.close()


class SlowTextSocket:
    """The server's socket, delegating all but ``send``: the send of a text frame
    (an answer) says it started, then takes ``delay`` seconds before writing.
    """

    def __init__(self, sock: Any, sending: threading.Event, delay: float) -> None:
        self._sock, self._sending, self._delay = sock, sending, delay

    def send(self, data: bytes) -> int:
        if data[:1] == b"\x81":
            self._sending.set()
            time.sleep(self._delay)
        return self._sock.send(data)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def split_at_close(ws: websocket.WebSocket) -> tuple[list[int], bytes]:
    """The opcodes of the frames up to the first close frame (included), and what the
    server sent after it until it ended the stream (or went quiet for 5 seconds).
    """
    sock = ws.sock
    sock.settimeout(20)
    data, opcodes = b"", list[int]()
    while websocket.ABNF.OPCODE_CLOSE not in opcodes:
        chunk = sock.recv(65536)
        assert chunk, (opcodes, data)
        data += chunk
        while websocket.ABNF.OPCODE_CLOSE not in opcodes and (frame := first_frame(data)):
            opcodes.append(data[0] & 0x0F)
            data = data[frame:]
    sock.settimeout(5)
    with contextlib.suppress(TimeoutError):
        while chunk := sock.recv(65536):
            data += chunk
    return opcodes, data


def first_frame(data: bytes) -> int:
    """The length of the (unmasked) frame ``data`` starts with; 0 if it is not whole."""
    if len(data) < 2:
        return 0
    length, start = data[1] & 0x7F, 2
    if length == 126:
        length, start = int.from_bytes(data[2:4], "big"), 4
    elif length == 127:
        length, start = int.from_bytes(data[2:10], "big"), 10
    return start + length if len(data) >= start + length else 0


def test_no_answer_is_sent_after_the_close_frame() -> None:
    """An event's answer being written when another event's exception closes the
    connection (1011): the close waits for it, and nothing follows the close (a
    text frame used to, which RFC 6455 forbids).
    """
    sending = threading.Event()
    events = EventsBlueprint("events", __name__)
    events.add("echo", 1, lambda event: event.payload)

    @events.handler("crash", 1)
    def crash(event: Any) -> Any:
        assert sending.wait(20)  # the echo's answer is being written
        raise Crash("crashed")

    app = Flask(__name__)
    app.config.update(TESTING=True, EVENTS_WEBSOCKET_PING_INTERVAL=None)
    app.register_blueprint(events)
    inner = app.wsgi_app

    def slow_answers(environ: dict[str, Any], start_response: Any) -> Any:
        sock = environ["werkzeug.socket"]
        environ["werkzeug.socket"] = SlowTextSocket(sock, sending, 0.5)
        return inner(environ, start_response)

    app.wsgi_app = slow_answers  # type: ignore[method-assign]
    with serve_in_thread(app) as url:
        ws = websocket.create_connection(url.replace("http", "ws") + "/events/ws", timeout=20)
        try:
            ws.send(envelope("echo", "e"))
            ws.send(envelope("crash", "c"))
            opcodes, after = split_at_close(ws)
        finally:
            ws.sock.close()
    assert opcodes == [websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_CLOSE]
    assert after == b""


def test_under_gunicorn_gthread_a_silent_client_keeps_no_thread_once_the_server_closed(
    tmp_path: Path,
) -> None:
    """The same (1009) under ``gunicorn -k gthread``, whose own close of the socket
    did not wake simple-websocket's reader either.
    """
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "8", "-w", "1"]
    command += ["-b", f"127.0.0.1:{port}", *gunicorn_no_control_socket()]
    command += ["tests.close_variants_app:create_app()"]
    env = {
        "FLASK_EVENTS_SOCKET_MAX_IN_FLIGHT": "3",
        "FLASK_EVENTS_WEBSOCKET_PING_INTERVAL": "null",
        "FLASK_EVENTS_WEBSOCKET_MAX_MESSAGE_SIZE": str(LIMIT),
    }

    def get(path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=20) as response:
            return json.loads(response.read())

    with serve_logging_to(command, port, tmp_path / "gunicorn.log", env):
        ws = websocket.create_connection(f"ws://127.0.0.1:{port}/events/ws", timeout=20)
        try:
            for i in range(2):
                ws.send(envelope("wait", f"w{i}"))
            assert wait_until(lambda: get("/threads")["started"] == 2)
            ws.send("x" * (LIMIT + 1))
            assert json.loads(ws.recv())["name"] == "badProtocol"
            get("/open")
            assert wait_until(lambda: get("/threads")["serving"] == 0), get("/threads")
            assert read_to_end(ws) == [websocket.ABNF.OPCODE_CLOSE, -1]
        finally:
            ws.sock.close()
    assert "Traceback" not in (tmp_path / "gunicorn.log").read_text()
