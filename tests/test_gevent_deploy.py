"""The production setup docs/transports.rst recommends for many connections: the example
app under gunicorn's gevent worker, two processes sharing one Redis as their message
queue, serving HTTP, the WebSocket endpoint and Socket.IO (long-polling and
WebSocket), with pushes across the processes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import queue
import re
import shlex
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from flask_events import Event, EventPusher

from .clients import http_post, socketio_call, socketio_client, websocket_connection
from .envelopes import envelope
from .servers import (
    ROOT,
    gunicorn_gevent,
    gunicorn_gevent_command,
    gunicorn_no_control_socket,
    redis_server,
    run_python,
)

pytestmark = pytest.mark.e2e

pytest.importorskip("gevent")
if shutil.which("redis-server") is None:
    if os.environ.get("CI"):
        pytest.fail("CI must install Debian's redis-server package", pytrace=False)
    pytest.skip(
        "redis-server is not installed (apt-get install redis-server)", allow_module_level=True
    )

QUEUE_VARIABLE = "FLASK_SOCKETIO_MESSAGE_QUEUE"


def documented_command() -> tuple[dict[str, str], list[str]]:
    """The environment and command line of docs/transports.rst's gevent deployment."""
    text = (ROOT / "docs" / "transports.rst").read_text()
    (line,) = [line for line in text.splitlines() if "gunicorn -k gevent" in line]
    words = shlex.split(line)
    env = {}
    while re.match(r"^[A-Z_]+=", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    return env, words


def documented_worker_connections() -> int:
    _, command = documented_command()
    return int(command[command.index("--worker-connections") + 1])


def test_the_documented_command_is_the_one_this_module_runs():
    env, command = documented_command()
    host, _, port = command[command.index("-b") + 1].partition(":")
    assert host == "127.0.0.1"
    if not gunicorn_no_control_socket():  # gunicorn before 25.1 has no such option
        command.remove("--no-control-socket")
    built = gunicorn_gevent_command(int(port), worker_connections=documented_worker_connections())
    assert command == built
    assert list(env) == [QUEUE_VARIABLE]
    assert env[QUEUE_VARIABLE].startswith("redis://")


@pytest.fixture(scope="module")
def cluster():
    """Redis, and two gunicorn gevent servers A and B sharing it; yields (url, a, b)."""
    env = {QUEUE_VARIABLE: ""}
    with redis_server() as url:
        env[QUEUE_VARIABLE] = url
        connections = documented_worker_connections()
        with gunicorn_gevent(env=env, worker_connections=connections) as a:
            with gunicorn_gevent(env=env, worker_connections=connections) as b:
                yield url, a, b


def identity(user: int) -> dict:
    return {"identity": {"userId": user}}


def concurrently(calls: list) -> list:
    """Run every function of ``calls`` at once, each in its own thread; their results."""
    start = threading.Barrier(len(calls))

    def run(call):
        start.wait(10)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_concurrent_sync_and_async_http_events_are_all_answered(cluster):
    _, a, _ = cluster
    sent = [envelope("rates:get") for _ in range(6)]
    sent += [envelope("account:open", **identity(601)) for _ in range(3)]
    answers = concurrently([lambda env=env: http_post(a, env) for env in sent])
    for env, answer in zip(sent, answers):
        assert answer["name"] == env["name"] + ":response"
        assert answer["id"] == env["id"]
    assert answers[0]["payload"]["USD"] == 0.18


def test_pipelined_websocket_events_are_each_answered_once(cluster):
    _, _, b = cluster
    sent = [envelope("rates:get") for _ in range(4)]
    sent += [envelope("account:open", **identity(602)) for _ in range(3)]
    with websocket_connection(b) as ws:
        for env in sent:
            ws.send(json.dumps(env))
        answers = [json.loads(ws.recv()) for _ in sent]
        ws.settimeout(0.5)  # nothing more comes
        with pytest.raises(Exception, match="timed out"):
            ws.recv()
    assert sorted(answer["id"] for answer in answers) == sorted(env["id"] for env in sent)
    names = {env["id"]: env["name"] for env in sent}
    assert all(answer["name"] == names[answer["id"]] + ":response" for answer in answers)


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_socketio_acknowledges_sync_and_async_events(cluster, transport):
    _, a, _ = cluster
    with socketio_client(a, transport) as sio:
        assert sio.transport() == transport
        for env in (envelope("rates:get"), envelope("account:open", **identity(603))):
            answer = socketio_call(sio, env)
            assert (answer["name"], answer["id"]) == (env["name"] + ":response", env["id"])


def test_a_deposit_on_b_is_pushed_to_a_client_of_a(cluster):
    _, a, b = cluster
    with socketio_client(a, "websocket") as sio:
        socketio_call(sio, envelope("notifications:subscribe", **identity(604)))
        account = http_post(b, envelope("account:open", **identity(604)))["payload"]
        deposit = {"accountId": account["id"], "amount": 25}
        http_post(b, envelope("account:deposit", deposit, **identity(604)))
        notice = sio.received.get(timeout=10)
    assert notice["name"] == "account:balance:changed"
    assert notice["payload"] == {"accountId": account["id"], "balance": 25}


def test_an_event_pusher_reaches_clients_of_both_processes(cluster):
    url, a, b = cluster
    with socketio_client(a) as on_a, socketio_client(b) as on_b:
        for sio in (on_a, on_b):
            socketio_call(sio, envelope("notifications:subscribe", **identity(605)))
        change = {"accountId": 9, "balance": 70}
        EventPusher(url).push(Event.new("account:balance:changed", 1, change), to="user:605")
        for sio in (on_a, on_b):
            notice = sio.received.get(timeout=10)
            assert (notice["name"], notice["payload"]) == ("account:balance:changed", change)
        with pytest.raises(queue.Empty):
            on_a.received.get(timeout=0.3)


PATCHED = """
from gevent import monkey

monkey.patch_all()
names = ["socket", "ssl", "select", "selectors", "time", "threading", "_thread",
         "queue", "subprocess", "signal", "os", "sys"]
print(json.dumps({name: monkey.is_module_patched(name) for name in names}))
"""


def test_the_worker_patches_what_the_docs_say():
    import inspect

    from gunicorn.workers.ggevent import GeventWorker

    assert "monkey.patch_all()" in inspect.getsource(GeventWorker.patch)
    result = run_python("import json" + PATCHED)
    patched = json.loads(result.stdout)
    assert patched.pop("sys") is False
    assert all(patched.values()), patched


def test_socketio_left_to_detect_picks_gevent():
    if importlib.util.find_spec("eventlet") is not None:
        pytest.skip("eventlet comes first")
    from flask import Flask
    from flask_socketio import SocketIO

    assert SocketIO(Flask(__name__)).async_mode == "gevent"
    assert SocketIO(Flask(__name__), async_mode="threading").async_mode == "threading"


def worker_pid(base: str) -> int:
    """The PID of the gunicorn worker serving ``base`` (the child of its master)."""
    bind = base.removeprefix("http://")
    found = {}
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if proc.name.isdigit() and bind in (proc / "cmdline").read_bytes().decode():
                found[int(proc.name)] = int((proc / "stat").read_text().split(") ")[1].split()[1])
    (worker,) = [pid for pid, parent in found.items() if parent in found]
    return worker


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="reads /proc")
def test_each_open_websocket_holds_one_descriptor_of_the_worker(cluster):
    _, _, b = cluster
    worker = worker_pid(b)
    with contextlib.ExitStack() as stack:
        before = open_descriptors(worker)
        sockets = [stack.enter_context(websocket_connection(b)) for _ in range(20)]
        for ws in sockets:  # each answered: the worker holds every connection
            env = envelope("rates:get")
            ws.send(json.dumps(env))
            assert json.loads(ws.recv())["id"] == env["id"]
        during = open_descriptors(worker)
    # (give or take a connection of an earlier test that the worker closes meanwhile)
    assert before + 18 <= during <= before + 25, (before, during)


CAPPED = """
import asyncio
import threading

import gevent
from gevent import monkey

from flask_events import coroutines

lock = monkey.get_original("threading", "Lock")()
running = [0, 0]  # now, most

async def slow():
    with lock:
        running[0] += 1
        running[1] = max(running)
    await asyncio.sleep(1)
    with lock:
        running[0] -= 1
    return True

def most_at_once():
    running[1] = 0
    greenlets = [gevent.spawn(coroutines.run, slow()) for _ in range(12)]
    gevent.joinall(greenlets, timeout=60)
    return [running[1], [g.value for g in greenlets]]

pool = gevent.get_hub().threadpool
size, by_default = pool.maxsize, most_at_once()
pool.maxsize = 12  # what the docs' post_worker_init does
print(json.dumps([size, by_default, most_at_once()]))
"""


def test_at_most_the_native_threadpool_size_of_async_handlers_run_at_once():
    result = run_python("import json" + PATCHED + CAPPED, timeout=90)
    size, by_default, raised = json.loads(result.stdout.splitlines()[-1])
    assert (size, by_default, raised) == (10, [10, [True] * 12], [12, [True] * 12])
