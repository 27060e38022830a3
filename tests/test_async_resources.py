"""Rule 8: async handlers leave nothing behind.

A thread's event loop is closed when the thread ends (the main thread's at exit), and
the tasks a handler spawns and does not await are cancelled, and awaited, once the
handler has returned (or raised), as ``asyncio.run`` does.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import textwrap
import threading
from collections import defaultdict
from typing import Any, Callable

import pytest
from flask import Flask

from flask_events import EventsBlueprint
from flask_events.codec import dumps

from .envelopes import envelope


@pytest.fixture
def record() -> dict[str, list[Any]]:
    return defaultdict(list)


@pytest.fixture
def app(record: dict[str, list[Any]]) -> Flask:
    events = EventsBlueprint("events", __name__)
    events.add_batch("batch", 1)

    @events.handler("loop", 1)
    async def loop(event):
        record["loops"].append(asyncio.get_running_loop())
        return {}

    async def linger(event_id: str) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            record["cancelled"].append(event_id)
            raise
        finally:
            record["ended"].append(event_id)

    @events.handler("spawn", 1)
    async def spawn(event):
        asyncio.create_task(linger(event.id))  # noqa: RUF006 (left behind on purpose)
        await asyncio.sleep(0)  # the task starts: it is inside its ``try``
        return {"spawned": True}

    @events.handler("spawn:fail", 1)
    async def spawn_and_fail(event):
        asyncio.create_task(linger(event.id))  # noqa: RUF006
        await asyncio.sleep(0)
        raise RuntimeError("after spawning")

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise ValueError("cannot stop cleanly") from None

    @events.handler("spawn:stubborn", 1)
    async def spawn_stubborn(event):
        asyncio.create_task(stubborn())  # noqa: RUF006
        await asyncio.sleep(0)
        return {}

    async def reluctant(event_id: str) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(0.05)  # goes on a little, then ends
            record["ended"].append(event_id)

    @events.handler("spawn:reluctant", 1)
    async def spawn_reluctant(event):
        asyncio.create_task(reluctant(event.id))  # noqa: RUF006
        await asyncio.sleep(0)
        return {}

    app = Flask(__name__)
    app.register_blueprint(events)
    return app


def send(app: Flask, name: str, payload: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = (
        app.test_client().post("/events", data=dumps(envelope(name, payload))).json
    )
    return body


def in_thread(work: Callable[[], Any]) -> Any:
    """Run ``work`` in a new thread that ends before this returns; its result."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # handed to the test
            outcome.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def test_async_resources_a_threads_loop_is_closed_when_the_thread_ends(app, record):
    assert in_thread(lambda: send(app, "loop"))["name"] == "loop:response"
    assert in_thread(lambda: send(app, "loop"))["name"] == "loop:response"
    first, second = record["loops"]
    assert first is not second  # one loop per thread
    assert first.is_closed() and second.is_closed()


def test_async_resources_a_thread_keeps_its_loop_between_events(app, record):
    def twice() -> None:
        send(app, "loop")
        send(app, "loop")
        assert not record["loops"][0].is_closed()  # still the thread's

    in_thread(twice)
    first, second = record["loops"]
    assert first is second and first.is_closed()


def test_async_resources_spawned_tasks_are_cancelled_when_the_handler_returns(app, record):
    body = send(app, "spawn")
    assert body["name"] == "spawn:response"
    # by the time the answer is out, the task left behind was cancelled and has ended
    assert record["cancelled"] == [body["id"]] and record["ended"] == [body["id"]]
    send(app, "loop")  # nothing of it runs on the next event
    assert record["ended"] == [body["id"]]


def test_async_resources_spawned_tasks_are_cancelled_when_the_handler_raises(app, record):
    body = send(app, "spawn:fail")
    assert body["name"] == "spawn:fail:error"
    assert record["cancelled"] == [body["id"]] and record["ended"] == [body["id"]]


def test_async_resources_no_task_is_destroyed_pending_when_a_thread_ends(app, record, caplog):
    body = in_thread(lambda: send(app, "spawn"))
    gc.collect()  # the closed loop and whatever it still held
    assert record["ended"] == [body["id"]]
    assert "destroyed but it is pending" not in caplog.text


def test_async_resources_batch_sub_events_tasks_are_cancelled(app, record):
    subs = [envelope("spawn"), envelope("spawn")]
    body = send(app, "batch", {"parallel": True, "events": subs})
    assert [answer["name"] for answer in body["payload"]] == ["spawn:response"] * 2
    assert sorted(record["ended"]) == sorted(sub["id"] for sub in subs)


def test_async_resources_tasks_spawned_from_a_running_loops_caller_are_cancelled(app, record):
    async def caller() -> dict[str, Any]:
        return send(app, "spawn")  # runs on a helper thread's loop

    body = asyncio.run(caller())
    assert body["name"] == "spawn:response" and record["ended"] == [body["id"]]


def test_async_resources_a_task_swallowing_the_cancellation_holds_the_answer(app, record):
    body = send(app, "spawn:reluctant")
    assert body["name"] == "spawn:reluctant:response" and record["ended"] == [body["id"]]


def test_async_resources_a_task_failing_as_it_is_cancelled_is_logged(app, caplog):
    assert send(app, "spawn:stubborn")["name"] == "spawn:stubborn:response"
    (failure,) = [r for r in caplog.records if r.name == "asyncio"]
    assert failure.getMessage().startswith(
        "unhandled exception in a task an async handler left running"
    )
    assert "cannot stop cleanly" in caplog.text


EXITING = textwrap.dedent(
    """
    import asyncio
    import atexit

    loops = []  # loop-bound resources kept from one event to the next, to the end

    @atexit.register  # first registered: runs last, after Flask-Events' own
    def report():
        print("closed at exit:", len(loops), all(loop.is_closed() for loop in loops))

    from flask import Flask

    from flask_events import EventsBlueprint

    events = EventsBlueprint("events", __name__)

    @events.handler("loop", 1)
    async def loop(event):
        loops.append(asyncio.get_running_loop())
        await asyncio.sleep(0)
        return {}

    app = Flask(__name__)
    app.register_blueprint(events)
    envelope = {"name": "loop", "version": 1, "id": "a", "flowId": "b", "payload": {}}

    def send():
        return app.test_client().post("/events", json=envelope).json["name"]

    async def caller():
        return send()  # on a helper thread's loop

    assert send() == "loop:response"  # on the main thread's loop
    assert asyncio.run(caller()) == "loop:response"
    """
)


@pytest.mark.e2e
def test_async_resources_no_loop_is_left_open_at_exit():
    """The main thread's loop (and the helper threads') are closed as the process
    exits, before the interpreter tears down what they hold.
    """
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", EXITING],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "closed at exit: 2 True"
    assert "ResourceWarning" not in done.stderr and "Exception ignored" not in done.stderr
