"""Pushes across server processes through Redis (Flask-SocketIO's message queue)."""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys

import pytest

from .clients import http_post as post
from .clients import socketio_call as call
from .clients import socketio_client as client
from .helpers import envelope
from .servers import ROOT, flask_server, redis_server

pytestmark = pytest.mark.e2e

if shutil.which("redis-server") is None:
    if os.environ.get("CI"):
        pytest.fail("CI must install Debian's redis-server package", pytrace=False)
    pytest.skip(
        "redis-server is not installed (apt-get install redis-server)", allow_module_level=True
    )

EXTERNAL_PUSH = """
import sys
from flask_events import Event, EventPusher

url, room = sys.argv[1], sys.argv[2]
EventPusher(url).push(Event.new("ops:announcement", 1, {"text": "from outside"}), to=room)
"""


@pytest.fixture(scope="module")
def cluster():
    """Redis, and two server processes A and B sharing it as their message queue."""
    with redis_server() as url:
        env = {"FLASK_SOCKETIO_MESSAGE_QUEUE": url}
        with flask_server("example_app", env) as a, flask_server("example_app", env) as b:
            yield url, a, b


def test_a_client_on_a_receives_a_push_made_by_b(cluster):
    _, a, b = cluster
    with client(a) as sio:
        call(sio, envelope("notifications:subscribe", 1, identity={"userId": 501}))
        account = post(b, envelope("account:open", 1, {}, identity={"userId": 501}))
        post(
            b,
            envelope(
                "account:deposit",
                1,
                {"accountId": account["payload"]["id"], "amount": 10},
                identity={"userId": 501},
            ),
        )
        notice = sio.received.get(timeout=10)
        assert notice["name"] == "account:balance:changed"
        assert notice["payload"]["balance"] == 10


def test_a_push_to_one_client_of_a_made_through_b(cluster):
    _, a, b = cluster
    with client(a) as on_a, client(b) as on_b:
        sid = call(on_a, envelope("notifications:subscribe", 1, identity={"userId": 502}))[
            "payload"
        ]["sid"]
        call(on_b, envelope("notifications:ping", 1, {"to": sid}))
        assert on_a.received.get(timeout=10)["name"] == "notifications:pong"
        with pytest.raises(queue.Empty):
            on_b.received.get(timeout=0.5)


def test_a_plain_process_with_only_the_redis_url_pushes(cluster):
    url, a, b = cluster
    with client(a) as on_a, client(b) as on_b:
        for sio in (on_a, on_b):
            call(sio, envelope("notifications:subscribe", 1, identity={"userId": 503}))
        subprocess.run(
            [sys.executable, "-c", EXTERNAL_PUSH, url, "user:503"],
            cwd=ROOT,
            check=True,
            timeout=30,
        )
        for sio in (on_a, on_b):
            announcement = sio.received.get(timeout=10)
            assert announcement["name"] == "ops:announcement"
            assert announcement["payload"] == {"text": "from outside"}
            assert announcement["auth"] == {}
