"""Pushes through Redis when it is stopped, hung (SIGSTOP) or started again: they fail
fast and visibly (PushFailed, error_noticed), and work again promptly.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import shutil
import threading
import time

import pytest
import socketio
from flask import Flask
from flask_socketio import SocketIO

from flask_events import Event, EventPusher, EventsBlueprint, PushFailed
from flask_events.testing import record_signals
from flask_events.transports.message_queue import is_redis, listen_promptly

from .servers import controlled_redis, dripping_redis, flask_server

if shutil.which("redis-server") is None:
    if os.environ.get("CI"):
        pytest.fail("CI must install Debian's redis-server package", pytrace=False)
    pytest.skip(
        "redis-server is not installed (apt-get install redis-server)", allow_module_level=True
    )

NS = "/events"


def make_app(url: str, timeout: float = 1.0) -> Flask:
    """An app in this process whose SocketIO uses Redis at ``url``."""
    app = Flask(__name__)
    app.config["EVENTS_PUSH_TIMEOUT"] = timeout
    events = EventsBlueprint("events", __name__)
    app.register_blueprint(events)
    socketio = SocketIO(app, async_mode="threading", message_queue=url)
    events.attach_socketio(socketio)
    return app


@contextlib.contextmanager
def subscribed_client(base: str, user: int):
    """A Socket.IO client of ``base`` that joined ``user:<user>``; a queue of what it
    is pushed, as ``client.received``.
    """
    sio = socketio.Client()
    received: queue.Queue = queue.Queue()
    sio.on("event", received.put, namespace=NS)
    sio.connect(base, namespaces=[NS], transports=["polling"], wait_timeout=10)
    subscribe = Event.new("notifications:subscribe", 1, {}, identity={"userId": user})
    answer = sio.call("event", json.loads(subscribe.to_json()), namespace=NS, timeout=10)
    assert answer["name"] == "notifications:subscribe:response", answer
    sio.received = received
    sio.events_sid = answer["payload"]["sid"]
    try:
        yield sio
    finally:
        sio.disconnect()


@pytest.fixture(scope="module")
def cluster():
    """A Redis that tests stop, pause and start again, and an example_app server
    process using it as its message queue, subscribed to it.
    """
    with controlled_redis() as redis:
        with flask_server("example_app", {"FLASK_SOCKETIO_MESSAGE_QUEUE": redis.url}) as base:
            with subscribed_client(base, 700):  # its first client starts its Redis listener
                pass
            yield redis, base


@pytest.mark.e2e
def test_a_push_while_redis_is_stopped_raises_and_is_noticed(cluster):
    redis, base = cluster
    app = make_app(redis.url)
    redis.stop()
    try:
        with app.app_context(), record_signals(app) as recorder:
            started = time.monotonic()
            with pytest.raises(PushFailed) as raised:
                app.blueprints["events"].push(Event.new("news", 1), to=None)
            assert time.monotonic() - started < 10  # refused at once; python-socketio retried
        assert raised.value.parameters == {"to": None, "namespace": NS}
        assert raised.value.__cause__ is not None  # the Redis client's error
        (noticed,) = recorder.calls["error_noticed"]
        assert isinstance(noticed["error"], PushFailed)
        assert noticed["error"].message == raised.value.message
        assert noticed["transport"] == "socketio" and noticed["sender"] is app
        with pytest.raises(PushFailed):  # outside any app context too
            EventPusher(redis.url).push(Event.new("news", 1), to="user:1")
        with subscribed_client(base, 702) as sio:  # a handler of the server pushes
            ping = Event.new("notifications:ping", 1, {"to": sio.events_sid})
            answer = sio.call("event", json.loads(ping.to_json()), namespace=NS, timeout=10)
            assert answer["name"] == "notifications:ping:error", answer  # it raised PushFailed
            # but the clients of the pushing process got the event all the same
            assert sio.received.get(timeout=10)["name"] == "notifications:pong"
    finally:
        redis.start()


@pytest.mark.e2e
def test_a_push_while_redis_hangs_returns_within_the_timeout(cluster):
    redis, _ = cluster
    app = make_app(redis.url, timeout=1.0)
    redis.pause()  # accepts connections, answers nothing
    try:
        with app.app_context(), record_signals(app) as recorder:
            started = time.monotonic()
            with pytest.raises(PushFailed, match="did not take it"):
                app.blueprints["events"].push(Event.new("news", 1), to="user:1")
            took = time.monotonic() - started
        assert took < 8, took  # about 1 s; python-socketio alone waited 10 s and more
        assert recorder.count("error_noticed") == 1
    finally:
        redis.resume()
    with app.app_context():  # the same app pushes again once Redis answers
        app.blueprints["events"].push(Event.new("news", 1), to="user:1")


@pytest.mark.e2e
def test_a_push_to_a_redis_dripping_its_answer_gives_up_at_the_timeout():
    """The timeout bounds the whole publish, not each read: Redis answering one byte
    every 0.5 s (a 40-byte answer: 20 s) does not keep a push with timeout 1 for long.
    """
    with dripping_redis(interval=0.5, length=40) as redis:
        pusher = EventPusher(redis.url, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(PushFailed, match=r"did not take it \(TimeoutError\)"):
            pusher.push(Event.new("news", 1), to="user:1")
        took = time.monotonic() - started
        assert took < 10, took  # about 1 s; bounded by each read only, 20 s
        # the half-read connection is closed, not left for a later push to read
        assert redis.cut_short.wait(8)
        redis.drip = False  # a healthy Redis on the same address
        pusher.push(Event.new("news", 1), to="user:1")


@pytest.mark.e2e
def test_a_push_nobody_subscribed_to_raises():
    with controlled_redis() as redis:  # a Redis no server listens to
        with pytest.raises(PushFailed, match="no server process is subscribed"):
            EventPusher(redis.url).push(Event.new("news", 1), to="user:1")


@pytest.mark.e2e
def test_after_redis_comes_back_pushes_are_delivered_again_and_none_is_lost(cluster):
    """Every push that returns was delivered, and delivery resumes within seconds."""
    redis, base = cluster
    pusher = EventPusher(redis.url)
    with subscribed_client(base, 701) as sio:
        redis.stop()
        # python-socketio's listener alone tries again 1, 3, 7, 15 ... s after the
        # outage began: started again at 8 s, it would be back at 15 s
        time.sleep(8)
        redis.start()
        restarted = time.monotonic()
        returned, first_returned_at = [], None
        for n in range(150):  # at most ~15 s
            try:
                pusher.push(Event.new("tick", 1, {"n": n}), to="user:701")
            except PushFailed:
                assert not returned, "a push failed after pushes were delivered again"
            else:
                returned.append(n)
                first_returned_at = first_returned_at or time.monotonic()
                if len(returned) == 20:
                    break
            time.sleep(0.1)
        received = set()
        with contextlib.suppress(queue.Empty):
            while not set(returned) <= received:
                received.add(sio.received.get(timeout=10)["payload"]["n"])
    assert len(returned) == 20, "pushes did not work again within 15 s"
    assert set(returned) <= received, "a push returned but was never delivered"
    assert first_returned_at - restarted < 5  # about 1 s; python-socketio alone: 7 s


@pytest.mark.e2e
def test_a_server_listener_tries_again_every_second_and_warns_once(caplog):
    import redis as redis_py

    with controlled_redis() as redis:
        manager = socketio.RedisManager(redis.url)
        listen_promptly(manager)
        listener = manager._redis_listen_with_retries()  # what the listener thread runs
        redis.stop()

        def come_back() -> None:
            time.sleep(3.5)  # three attempts or so
            redis.start()
            publisher = redis_py.Redis.from_url(redis.url)
            deadline = time.monotonic() + 15
            while not publisher.publish(manager.channel, b"hello"):  # until it listens
                assert time.monotonic() < deadline
                time.sleep(0.05)
            publisher.close()

        thread = threading.Thread(target=come_back)
        thread.start()
        try:
            with caplog.at_level(logging.DEBUG, logger="flask_events"):
                message = next(listener)
        finally:
            thread.join(30)
            listener.close()
            manager.pubsub.close()
    assert message["data"] == b"hello"
    records = [r for r in caplog.records if "message queue" in r.getMessage()]
    assert [r.levelname for r in records if r.levelno >= logging.WARNING] == ["WARNING"]
    assert sum("unreachable" in r.getMessage() for r in records) >= 3  # every second
    assert "reachable again" in records[-1].getMessage()


def test_only_a_redis_manager_with_the_private_methods_is_bounded(caplog):
    assert is_redis(socketio.RedisManager("redis://127.0.0.1:6379/0"))
    assert is_redis(socketio.RedisManager("rediss://127.0.0.1:6379/0"))
    assert not is_redis(socketio.Manager())  # no message queue: Flask-SocketIO's emit
    try:
        sentinel = socketio.RedisManager("redis+sentinel://127.0.0.1:26379/0")
    except ValueError:  # python-socketio 5.10 (the min env) knows no Sentinel URL
        sentinel = None
    assert sentinel is None or not is_redis(sentinel)

    class Changed:  # a python-socketio without RedisManager._publish
        redis_url = "redis://127.0.0.1:6379/0"

    changed = Changed()
    with caplog.at_level(logging.WARNING, logger="flask_events"):
        assert not is_redis(changed) and not is_redis(changed)
    assert [r.getMessage() for r in caplog.records] == [
        "python-socketio changed: pushes through Redis are not bounded"
    ]
