"""Batches of different clients do not wait for each other; a batch has a time budget.

``EVENTS_BATCH_MAX_WORKERS`` caps each parallel batch on its own (no pool shared by
every batch), and ``EVENTS_BATCH_TIMEOUT`` answers the sub-events whose turn comes too
late with ``BATCH_TIMEOUT`` instead of running them.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import pytest
from flask import Flask

import flask_events.batch
from flask_events import BatchTimeout, EventsBlueprint
from flask_events.codec import dumps
from flask_events.signals import event_error_noticed, event_started

#: Generous bound for anything that should happen "at once" on a loaded machine.
PATIENCE = 10.0


def sub(name: str, payload: Any = None) -> dict[str, Any]:
    return {"name": name, "version": 1, "id": str(uuid.uuid4()), "flowId": "f", "payload": payload}


def post_batch(app: Flask, subs: list[dict[str, Any]], parallel: bool) -> list[dict[str, Any]]:
    """Send one batch (from any thread) and return its answers."""
    body = sub("batch", {"parallel": parallel, "events": subs})
    response = app.test_client().post("/events", data=dumps(body))
    assert response.status_code == 200
    assert response.json["name"] == "batch:response", response.json
    return response.json["payload"]


class Background(threading.Thread):
    """A batch sent from another thread (another client)."""

    def __init__(self, app: Flask, subs: list[dict[str, Any]], parallel: bool = True) -> None:
        super().__init__(daemon=True)
        self.app, self.subs, self.parallel = app, subs, parallel
        self.answers: list[dict[str, Any]] = []

    def run(self) -> None:
        self.answers = post_batch(self.app, self.subs, self.parallel)


@pytest.fixture
def app() -> Flask:
    events = EventsBlueprint("events", __name__)
    events.add_batch("batch", 1)
    events.add("echo", 1, lambda event: event.payload)
    app = Flask(__name__)
    app.config["TESTING"] = True
    app.register_blueprint(events)
    return app


def add(app: Flask, name: str, func: Any) -> None:
    app.blueprints["events"].add(name, 1, func)


def wait_until(condition: Any) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


# -- the worker cap is per batch ------------------------------------------------------


def test_a_small_parallel_batch_does_not_wait_behind_a_big_one(app):
    """While a big batch fills its workers with handlers that do not return, another
    client's one-event parallel batch is answered (it used to queue behind them)."""
    app.config["EVENTS_BATCH_MAX_WORKERS"] = 2
    release, inside = threading.Event(), []

    def hold(event):
        inside.append(event.id)
        return release.wait(PATIENCE * 3)

    add(app, "hold", hold)
    big = Background(app, [sub("hold") for _ in range(6)])
    big.start()
    try:
        wait_until(lambda: len(inside) == 2)  # the big batch's two workers are busy
        small = Background(app, [sub("echo", "small")])
        small.start()
        small.join(PATIENCE)
        assert not small.is_alive(), "the small batch waited behind the big one"
        assert [a["payload"] for a in small.answers] == ["small"]
        assert big.is_alive() and len(inside) == 2  # the big one is still held, capped
    finally:
        release.set()
        big.join(PATIENCE)
    assert [a["payload"] for a in big.answers] == [True] * 6


def test_the_worker_cap_is_per_batch(app):
    """Three batches capped at 2 workers each run 6 sub-events at once (a barrier only
    opens with 6 inside), and no batch ever has more than 2 running."""
    app.config["EVENTS_BATCH_MAX_WORKERS"] = 2
    barrier = threading.Barrier(6, timeout=PATIENCE)
    lock, active, peak = threading.Lock(), {}, {}

    def meet(event):
        label = event.payload
        with lock:
            active[label] = active.get(label, 0) + 1
            peak[label] = max(peak.get(label, 0), active[label])
        try:
            return barrier.wait() >= 0
        finally:
            with lock:
                active[label] -= 1

    add(app, "meet", meet)
    batches = [Background(app, [sub("meet", label) for _ in range(4)]) for label in "abc"]
    for batch in batches:
        batch.start()
    for batch in batches:
        batch.join(PATIENCE * 3)
    for batch in batches:
        assert [a["name"] for a in batch.answers] == ["meet:response"] * 4
    assert peak == {"a": 2, "b": 2, "c": 2}


def test_async_sub_events_of_concurrent_batches_do_not_wait_for_each_other(app):
    """Async sub-events run on the batch's own loop: a batch whose async handlers are
    held does not delay another batch's async sub-event."""
    release = threading.Event()
    inside = []

    async def hold(event):
        inside.append(1)
        while not release.is_set():
            await asyncio.sleep(0.01)
        return "held"

    async def quick(event):
        return "quick"

    add(app, "hold", hold)
    add(app, "quick", quick)
    big = Background(app, [sub("hold") for _ in range(4)])
    big.start()
    try:
        wait_until(lambda: len(inside) == 4)
        small = Background(app, [sub("quick")])
        small.start()
        small.join(PATIENCE)
        assert not small.is_alive() and small.answers[0]["payload"] == "quick"
    finally:
        release.set()
        big.join(PATIENCE)
    assert [a["payload"] for a in big.answers] == ["held"] * 4


# -- the time budget ------------------------------------------------------------------


def test_a_parallel_batch_s_threads_end_with_it(app):
    def batch_threads() -> list[str]:
        return [t.name for t in threading.enumerate() if t.name.startswith("flask-events-batch")]

    add(app, "where", lambda event: threading.current_thread().name)
    answers = post_batch(app, [sub("where") for _ in range(5)], parallel=True)
    assert all(a["payload"].startswith("flask-events-batch") for a in answers)
    assert batch_threads() == []


class Clock:
    """Stands in for the ``time`` module of ``flask_events.batch``: its ``monotonic()``
    moves only when a handler calls :meth:`advance`, so a batch's budget runs out exactly
    where a test says, however late a loaded machine starts a thread.
    """

    def __init__(self) -> None:
        self.now, self.lock = 1000.0, threading.Lock()

    def monotonic(self) -> float:
        with self.lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The budget's clock (``flask_events.batch.time`` only: asyncio keeps the real one)."""
    clock = Clock()
    monkeypatch.setattr(flask_events.batch, "time", clock)
    return clock


@pytest.fixture
def signals(app):
    """What ``event_error_noticed`` and ``event_started`` were sent, by signal."""
    calls: dict[str, list[dict[str, Any]]] = {"noticed": [], "started": []}
    with event_error_noticed.connected_to(lambda _, **kw: calls["noticed"].append(kw), app):
        with event_started.connected_to(lambda _, **kw: calls["started"].append(kw), app):
            yield calls


def slow_handler(
    clock: Clock, seconds: float, ran: list[str], is_async: bool, together: int = 1
) -> Any:
    """A handler taking ``seconds`` of the budget's clock; with ``together``, it first
    waits until that many of its calls are running at once."""
    barrier = threading.Barrier(together, timeout=PATIENCE)

    if is_async:

        async def slow(event):
            ran.append(event.payload)
            clock.advance(seconds)
            await asyncio.sleep(0)
            return event.payload

        return slow

    def slow_sync(event):
        ran.append(event.payload)
        barrier.wait()
        clock.advance(seconds)
        return event.payload

    return slow_sync


@pytest.mark.parametrize(
    "parallel, is_async",
    [(False, False), (False, True), (True, False), (True, True)],
    ids=["sequential", "sequential-async", "parallel", "parallel-async"],
)
def test_sub_events_not_started_in_time_are_answered_batch_timeout(
    app, clock, signals, parallel, is_async
):
    """Budget 0.5 s, one worker: the first sub-event (0.8 s) runs to its end past the
    budget; the others' turn comes too late, so they answer BATCH_TIMEOUT unrun."""
    app.config.update(EVENTS_BATCH_TIMEOUT=0.5, EVENTS_BATCH_MAX_WORKERS=1)
    ran: list[str] = []
    add(app, "slow", slow_handler(clock, 0.8, ran, is_async))
    subs = [sub("slow", str(i)) for i in range(4)] + [sub("unknown")]
    answers = post_batch(app, subs, parallel)
    assert ran == ["0"]  # the others' handlers never ran
    assert answers[0]["name"] == "slow:response" and answers[0]["payload"] == "0"
    for answer, request in zip(answers[1:4], subs[1:4]):
        assert answer["name"] == "slow:error"
        assert answer["id"] == request["id"]
        assert answer["payload"]["code"] == "BATCH_TIMEOUT"
        assert answer["payload"]["parameters"] == {"timeout": 0.5}
    assert answers[4]["name"] == "eventNotFound"  # answered without running anyway
    timeouts = [call for call in signals["noticed"] if isinstance(call["error"], BatchTimeout)]
    assert [call["event"].id for call in timeouts] == [s["id"] for s in subs[1:4]]
    started = [call["event"].name for call in signals["started"]]
    assert sorted(started) == ["batch", "slow"]  # only the one that ran


def test_in_a_parallel_batch_running_sub_events_finish_and_queued_ones_do_not_start(app, clock):
    """Two workers, budget 0.5 s: the two sub-events running when it runs out finish;
    the queued ones are answered BATCH_TIMEOUT; the batch does not last their time."""
    app.config.update(EVENTS_BATCH_TIMEOUT=0.5, EVENTS_BATCH_MAX_WORKERS=2)
    ran: list[str] = []
    add(app, "slow", slow_handler(clock, 0.8, ran, False, together=2))
    answers = post_batch(app, [sub("slow", str(i)) for i in range(8)], parallel=True)
    assert sorted(ran) == ["0", "1"]
    assert [a["payload"] for a in answers[:2]] == ["0", "1"]
    assert [a["payload"]["code"] for a in answers[2:]] == ["BATCH_TIMEOUT"] * 6


def test_a_slow_sequential_batch_frees_its_thread_after_the_budget(app, clock):
    """Twenty sub-events of 0.4 s (8 s in all) with a budget of 0.5 s: the batch is
    answered once the sub-event running at the deadline ends (0.8 s), instead of
    holding its thread for the 8 s of all twenty."""
    app.config["EVENTS_BATCH_TIMEOUT"] = 0.5
    ran: list[str] = []
    add(app, "slow", slow_handler(clock, 0.4, ran, False))
    answers = post_batch(app, [sub("slow", str(i)) for i in range(20)], parallel=False)
    assert ran == ["0", "1"]  # started at 0.0 s and 0.4 s; at 0.8 s the budget is spent
    assert [a["payload"] for a in answers[:2]] == ["0", "1"]
    assert [a["payload"]["code"] for a in answers[2:]] == ["BATCH_TIMEOUT"] * 18


def test_no_timeout_runs_every_sub_event(app, clock):
    app.config["EVENTS_BATCH_TIMEOUT"] = None
    ran: list[str] = []
    add(app, "slow", slow_handler(clock, 3600.0, ran, False))
    answers = post_batch(app, [sub("slow", str(i)) for i in range(3)], parallel=False)
    assert [a["payload"] for a in answers] == ["0", "1", "2"]


def test_the_timeout_is_read_per_request_with_a_generous_default(app, clock):
    assert app.config["EVENTS_BATCH_TIMEOUT"] == 30
    add(app, "slow", slow_handler(clock, 0.3, [], False))
    subs = [sub("slow", "a"), sub("slow", "b")]
    assert [a["name"] for a in post_batch(app, subs, False)] == ["slow:response"] * 2
    app.config["EVENTS_BATCH_TIMEOUT"] = 0.1
    assert [a["name"] for a in post_batch(app, subs, False)] == ["slow:response", "slow:error"]
