"""The WebSocket transport under gevent (gunicorn ``-k gevent``, which patches
``threading``): the events of one connection run at once, each in a greenlet on the
worker's one OS thread; the in-flight cap and close-drain rules hold as under
threads; a closed connection leaves no greenlet behind. A real server in a
subprocess serves ``tests/gevent_ws_app.py``, with a limit of 3 events in flight.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple, Optional

import pytest
import websocket  # websocket-client

from .servers import (
    free_port,
    gunicorn_no_control_socket,
    run_python,
    serve_logging_to,
    wait_until,
)

pytest.importorskip("gevent")

pytestmark = pytest.mark.e2e

APP = "tests.gevent_ws_app:create_app()"
LIMIT = 3


class Worker(NamedTuple):
    url: str
    log: Path

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=20) as response:
            return json.loads(response.read())

    def connect(self) -> websocket.WebSocket:
        return websocket.create_connection(
            self.url.replace("http", "ws") + "/events/ws", timeout=20
        )

    def live(self) -> int:
        """The worker's live greenlets (this request's own included, each time)."""
        return int(self.get("/live")["greenlets"])


@contextlib.contextmanager
def gevent_worker(
    log: Path, limit: int, ping_interval: Optional[float] = None
) -> Iterator[Worker]:
    """The app under ``gunicorn -k gevent`` (one worker), ``limit`` events in flight
    (and pings every ``ping_interval`` seconds, else the default)."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", "1", "--timeout", "60"]
    command += ["-b", f"127.0.0.1:{port}", *gunicorn_no_control_socket(), APP]
    env = {"FLASK_EVENTS_SOCKET_MAX_IN_FLIGHT": str(limit)}
    if ping_interval is not None:
        env["FLASK_EVENTS_WEBSOCKET_PING_INTERVAL"] = str(ping_interval)
    with serve_logging_to(command, port, log, env):
        yield Worker(f"http://127.0.0.1:{port}", log)


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    with gevent_worker(tmp_path_factory.mktemp("gevent-ws") / "gunicorn.log", LIMIT) as worker:
        yield worker


def envelope(name: str, key: str, id_: str) -> str:
    return json.dumps(
        {"name": name, "version": 1, "id": id_, "flowId": "f", "payload": {"key": key}}
    )


def receive(ws: websocket.WebSocket, count: int) -> list[dict[str, Any]]:
    return [json.loads(ws.recv()) for _ in range(count)]


def started(worker: Worker, key: str, count: int) -> bool:
    return wait_until(lambda: worker.get(f"/progress/{key}")["started"] >= count)


def finished(worker: Worker, key: str, count: int) -> bool:
    return wait_until(lambda: worker.get(f"/progress/{key}")["finished"] >= count)


def assert_clean_log(worker: Worker) -> None:
    logged = worker.log.read_text()
    assert "Traceback" not in logged and "Error" not in logged, logged


def test_events_of_one_connection_run_at_once_each_in_a_greenlet_of_the_workers_thread(
    worker: Worker,
) -> None:
    key = uuid.uuid4().hex
    with contextlib.closing(worker.connect()) as ws:
        ws.send(envelope("wait", key, "waits"))
        assert started(worker, key, 1)
        ws.send(envelope("open", key, "opens"))  # only a concurrent event can open it
        answers = receive(ws, 2)
    assert [a["id"] for a in answers] == ["opens", "waits"]
    waits, opens = answers[1]["payload"], answers[0]["payload"]
    assert waits["opened"] is True
    assert waits["greenlet"] != opens["greenlet"]
    for facts in (waits, opens):  # a greenlet, on the worker's own OS thread
        assert facts["isGreenlet"] and facts["nativeId"] == facts["mainNativeId"]


def test_events_in_flight_are_capped_per_connection_under_gevent(worker: Worker) -> None:
    key = uuid.uuid4().hex
    with contextlib.closing(worker.connect()) as ws:
        for i in range(LIMIT):
            ws.send(envelope("wait", key, f"held-{i}"))
        assert started(worker, key, LIMIT)
        for i in range(2):
            ws.send(envelope("wait", key, f"extra-{i}"))
        refused = receive(ws, 2)  # at once, while the others still wait
        assert sorted(a["id"] for a in refused) == ["extra-0", "extra-1"]
        for answer in refused:
            assert answer["name"] == "wait:error"
            assert answer["payload"]["code"] == "TOO_MANY_IN_FLIGHT"
            assert answer["payload"]["parameters"] == {"max": LIMIT}
        worker.get(f"/open/{key}")
        served = receive(ws, LIMIT)
    assert sorted(a["id"] for a in served) == [f"held-{i}" for i in range(LIMIT)]
    assert {a["name"] for a in served} == {"wait:response"}
    assert worker.get(f"/progress/{key}") == {"started": LIMIT, "finished": LIMIT}


def test_an_open_connection_keeps_no_greenlet_of_the_events_it_answered(worker: Worker) -> None:
    """Once its events are answered, an open connection holds its view's greenlet,
    one reader and simple-websocket's: no idle worker per event it ran.
    """
    baseline = worker.live()
    key = uuid.uuid4().hex
    with contextlib.closing(worker.connect()) as ws:
        for i in range(LIMIT - 1):
            ws.send(envelope("wait", key, f"w{i}"))
        assert started(worker, key, LIMIT - 1)
        ws.send(envelope("open", key, "open"))
        assert len(receive(ws, LIMIT)) == LIMIT
        assert wait_until(lambda: worker.live() <= baseline + 3), (baseline, worker.live())
    assert wait_until(lambda: worker.live() == baseline), (baseline, worker.live())


def test_closing_with_events_in_flight_drains_them_and_leaves_no_greenlet(worker: Worker) -> None:
    """20 connections, each closed by the client with 3 events in flight: the
    handlers finish, their answers are dropped without an error, and the worker's
    live greenlets come back to where they were.
    """
    baseline = worker.live()
    for n in range(20):
        key = uuid.uuid4().hex
        ws = worker.connect()
        for i in range(LIMIT):
            ws.send(envelope("wait", key, f"{n}-{i}"))
        assert started(worker, key, LIMIT)
        ws.close()
        worker.get(f"/open/{key}")
        assert finished(worker, key, LIMIT)
    assert wait_until(lambda: worker.live() == baseline), (baseline, worker.live())
    assert_clean_log(worker)


def test_a_connection_the_server_closes_ends_while_the_client_stays(worker: Worker) -> None:
    """A message over the limit closes the connection (1009) with events in flight;
    the client neither answers the close nor goes: once the events are done the
    connection's greenlets end all the same (a reader used to wait for the client).
    """
    baseline = worker.live()
    clients = []
    try:
        for n in range(5):
            key = uuid.uuid4().hex
            ws = worker.connect()
            clients.append(ws)
            for i in range(2):
                ws.send(envelope("wait", key, f"{n}-{i}"))
            assert started(worker, key, 2)
            ws.send("x" * (1024 * 1024 + 1))
            assert json.loads(ws.recv())["name"] == "badProtocol"
            worker.get(f"/open/{key}")
            assert finished(worker, key, 2)
        assert wait_until(lambda: worker.live() == baseline, 15), (baseline, worker.live())
    finally:
        for ws in clients:
            ws.shutdown()
    assert_clean_log(worker)


def test_with_one_in_flight_events_run_one_at_a_time_in_arrival_order(tmp_path: Path) -> None:
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    with gevent_worker(tmp_path / "gunicorn.log", 1) as worker:
        worker.get(f"/open/{second}")  # the second event would not wait
        with contextlib.closing(worker.connect()) as ws:
            ws.send(envelope("wait", first, "first"))
            ws.send(envelope("wait", second, "second"))
            assert started(worker, first, 1)
            time.sleep(0.3)  # room for a wrong start of the second
            assert worker.get(f"/progress/{second}")["started"] == 0
            worker.get(f"/open/{first}")
            assert [a["id"] for a in receive(ws, 2)] == ["first", "second"]


POOL_SCRIPT = """
from gevent import monkey

monkey.patch_all()

import json

import gevent

from flask_events.transports.greenlets import GreenletPool, executor

pool = executor(2, thread_name_prefix="unused")
running, most, done = [0], [0], []

def task(n):
    running[0] += 1
    most[0] = max(most[0], running[0])
    gevent.sleep(0.01)
    done.append(n)
    running[0] -= 1
    if n < 2:
        raise ValueError(f"task {n} failed")  # logged; the waiting tasks still run

for n in range(5):
    pool.submit(task, n)  # never blocks: past 2 running, the task waits
pool.shutdown(wait=True)
try:
    pool.submit(task, 9)
    refused = False
except RuntimeError:
    refused = True
print(json.dumps([type(pool) is GreenletPool, most[0], sorted(done), refused]))
"""


def test_under_gevent_a_connections_pool_is_greenlets_capped_at_its_size() -> None:
    """What the connection asks of its pool under gevent: at most ``size`` tasks at
    once, the rest run later (also when the running ones raised), all done at
    shutdown, none taken after it.
    """
    result = run_python(POOL_SCRIPT)
    assert json.loads(result.stdout.splitlines()[-1]) == [True, 2, [0, 1, 2, 3, 4], True]
    assert result.stderr.count("a task of a connection's greenlet pool failed") == 2


PING_INTERVAL = 0.3


def frames_until_closed(ws: websocket.WebSocket) -> list[tuple[int, bytes]]:
    """The (opcode, payload) of each frame the server sent on ``ws`` until it closed
    the socket, read from the socket itself: websocket-client would answer pings."""
    data = b""
    ws.sock.settimeout(20)
    with contextlib.suppress(OSError):
        while chunk := ws.sock.recv(65536):
            data += chunk
    frames = []
    while data:  # a server's frames are not masked; these are short
        opcode, length = data[0] & 0x0F, data[1] & 0x7F
        frames.append((opcode, data[2 : 2 + length]))
        data = data[2 + length :]
    return frames


def test_under_gevent_pings_keep_an_answering_client_and_close_a_silent_one(
    tmp_path: Path,
) -> None:
    """simple-websocket's reader waits between pings on a ``ReadSelector`` under
    gevent: a client that answers pings stays (and is answered after idling for
    several intervals); one that does not is closed with 1008 after two intervals.
    """
    with gevent_worker(tmp_path / "gunicorn.log", LIMIT, PING_INTERVAL) as worker:
        with contextlib.closing(worker.connect()) as ws:
            deadline = time.monotonic() + 5 * PING_INTERVAL
            pings = 0
            while time.monotonic() < deadline:  # reading answers each ping (pong)
                opcode, _ = ws.recv_data(control_frame=True)
                pings += opcode == websocket.ABNF.OPCODE_PING
            assert pings >= 2
            ws.send(envelope("open", "pinged", "after-pings"))
            while (answer := ws.recv_data(control_frame=True))[0] != websocket.ABNF.OPCODE_TEXT:
                pass
            assert json.loads(answer[1])["id"] == "after-pings"

        with contextlib.closing(worker.connect()) as silent:
            frames = frames_until_closed(silent)  # answers no ping
        assert [opcode for opcode, _ in frames] == [
            websocket.ABNF.OPCODE_PING,
            websocket.ABNF.OPCODE_CLOSE,
        ]
        assert int.from_bytes(frames[-1][1][:2], "big") == 1008  # Ping/Pong timeout
        assert_clean_log(worker)


SELECTOR_SCRIPT = """
from gevent import monkey

monkey.patch_all()

import gc
import json
import selectors
import socket
import types

from flask_events.transports.greenlets import ReadSelector

ours, theirs = socket.socketpair()
selector = ReadSelector()
key = selector.register(ours, selectors.EVENT_READ, True)
facts = [key.fd == ours.fileno(), selector.select(0.05) == []]
# nothing of that wait stays alive until the next: with thousands of connections,
# such long-lived objects brought full garbage collections of hundreds of ms
gc.collect()
facts.append(not any(
    isinstance(thing, types.FrameType) and thing.f_code.co_name == "select"
    for thing in gc.get_objects()
))
theirs.send(b"x")
facts.append(selector.select(5) == [(key, selectors.EVENT_READ)] and key.data is True)
ours.recv(1)
facts.append(selector.select(0) == [])
try:
    selector.register(theirs, selectors.EVENT_READ)
    facts.append(False)
except ValueError:
    facts.append(True)
selector.close()
selector.close()  # twice is fine, as for a selector
print(json.dumps(facts))
"""


def test_a_read_selector_waits_for_its_socket_or_times_out() -> None:
    result = run_python(SELECTOR_SCRIPT)
    assert json.loads(result.stdout.splitlines()[-1]) == [True] * 6
