"""Batch events (docs/protocol.rst#batch): order, isolation, limits, nesting, real parallelism."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from flask import Flask, current_app, request

from flask_events import Event, EventsBlueprint, NotFound
from flask_events.codec import dumps

from .helpers import envelope


@pytest.fixture
def events():
    events = EventsBlueprint("events", __name__)
    events.add_batch("batch", 1)
    events.add("echo", 1, lambda event: event.payload)

    @events.handler("fail", 1)
    def fail(event):
        raise RuntimeError("boom")

    @events.handler("missing", 1)
    def missing(event):
        raise NotFound("nope")

    return events


@pytest.fixture
def app(events):
    app = Flask(__name__)
    app.config["TESTING"] = True
    app.config["EVENTS_PROPAGATE_EXCEPTIONS"] = False  # the tests read <name>:error answers
    app.register_blueprint(events)
    return app


def batch(client, subs, parallel=False, **extra):
    env = envelope("batch", 1, {"parallel": parallel, "events": subs}, **extra)
    response = client.post("/events", data=dumps(env))
    assert response.status_code == 200
    return response.json


def test_go_test_batch(client):
    """Ports Test_Batch: four sub-events, one failing, one not registered."""
    subs = [envelope(f"Mock-{i}", i + 1) for i in range(4)]
    events = client.application.blueprints["events"]
    events.add("Mock-0", 1, lambda e: e.payload)
    events.add("Mock-1", 2, lambda e: e.payload)
    events.add("Mock-2", 3, lambda e: (_ for _ in ()).throw(RuntimeError("some error")))
    body = batch(client, subs, flowId="the-flow")
    assert body["name"] == "batch:response" and body["flowId"] == "the-flow"
    assert [r["name"] for r in body["payload"]] == [
        "Mock-0:response",
        "Mock-1:response",
        "Mock-2:error",
        "eventNotFound",
    ]


def test_go_test_batch_input_error(client):
    """Ports Test_Batch_input_error: a payload that is not a batch is refused."""
    body = client.post("/events", data=dumps(envelope("batch", 1, {"parallel": "x"}))).json
    assert body["name"] == "batch:badRequest"
    assert body["payload"]["code"] == "INVALID_PAYLOAD"
    assert set(body["payload"]["parameters"]["errors"]) == {"parallel", "events"}


@pytest.mark.parametrize("parallel", [False, True])
def test_answers_in_input_order_with_each_sub_event_answered(client, parallel):
    subs = [envelope("echo", 1, i, id=f"id-{i}") for i in range(10)]
    body = batch(client, subs, parallel)
    assert [r["payload"] for r in body["payload"]] == list(range(10))
    assert [r["id"] for r in body["payload"]] == [f"id-{i}" for i in range(10)]
    assert all(list(r) == list(body) for r in body["payload"])


@pytest.mark.parametrize("parallel", [False, True])
def test_failures_are_isolated(client, parallel):
    subs = [
        envelope("echo", 1, "a"),
        envelope("fail", 1),
        envelope("missing", 1),
        envelope("unknown", 9),
        {"name": "echo"},
        42,
        envelope("batch", 1, {"events": []}),
        envelope("echo", 1, "z"),
    ]
    answers = batch(client, subs, parallel, flowId="F")["payload"]
    assert [a["name"] for a in answers] == [
        "echo:response",
        "fail:error",
        "missing:notFound",
        "eventNotFound",
        "badProtocol",
        "badProtocol",
        "batch:badRequest",
        "echo:response",
    ]
    assert answers[1]["payload"]["code"] == "UNHANDLED_ERROR"
    assert answers[4]["payload"]["parameters"] == {"propertyName": "version"}
    assert answers[5]["flowId"] == "F"  # an unreadable sub-event belongs to the batch's flow
    assert answers[6]["payload"]["code"] == "NESTED_BATCH"
    assert answers[-1]["payload"] == "z"


def test_batch_size_limit(app, client):
    app.config["EVENTS_BATCH_MAX_EVENTS"] = 3
    assert len(batch(client, [envelope("echo", 1)] * 3)["payload"]) == 3
    body = batch(client, [envelope("echo", 1)] * 4)
    assert body["name"] == "batch:badRequest"
    assert body["payload"]["code"] == "TOO_MANY_EVENTS"
    assert body["payload"]["parameters"] == {"max": 3, "count": 4}


def test_default_limit_is_100(app, client):
    assert app.config["EVENTS_BATCH_MAX_EVENTS"] == 100
    assert batch(client, [envelope("echo", 1)] * 101)["name"] == "batch:badRequest"


def test_parallel_sync_handlers_really_run_at_once(app, client):
    """A barrier that only opens when all N handlers are inside at once."""
    n = 6
    barrier = threading.Barrier(n, timeout=10)
    app.blueprints["events"].add("wait", 1, lambda event: barrier.wait() >= 0)
    answers = batch(client, [envelope("wait", 1)] * n, parallel=True)["payload"]
    assert [a["name"] for a in answers] == ["wait:response"] * n


def test_sequential_batch_runs_one_after_another_in_order(app, client):
    order, inside = [], []

    def record(event):
        inside.append(1)
        assert len(inside) == 1  # nobody else is running
        order.append(event.payload)
        inside.pop()

    app.blueprints["events"].add("record", 1, record)
    batch(client, [envelope("record", 1, i) for i in range(8)], parallel=False)
    assert order == list(range(8))


def test_at_most_max_workers_at_once(app, client):
    app.config["EVENTS_BATCH_MAX_WORKERS"] = 2
    lock, active, peak = threading.Lock(), [0], [0]
    barrier = threading.Barrier(2, timeout=10)

    def busy(event):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        barrier.wait()  # two are inside at once ...
        time.sleep(0.02)
        with lock:
            active[0] -= 1

    app.blueprints["events"].add("busy", 1, busy)
    answers = batch(client, [envelope("busy", 1)] * 6, parallel=True)["payload"]
    assert [a["name"] for a in answers] == ["busy:response"] * 6
    assert peak[0] == 2  # ... and never more


def test_parallel_async_handlers_run_concurrently_on_one_loop(app, client):
    n, arrived, threads = 5, [], set()

    async def gather(event):
        threads.add(threading.get_ident())
        arrived.append(1)
        while len(arrived) < n:  # only finishes once all n are inside at once
            await asyncio.sleep(0.001)
        return len(arrived)

    app.blueprints["events"].add("gather", 1, gather)
    answers = batch(client, [envelope("gather", 1)] * n, parallel=True)["payload"]
    assert [a["payload"] for a in answers] == [n] * n
    assert len(threads) == 1


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_batch_limits_none_means_no_limit(app, client, kind):
    """``None`` for EVENTS_BATCH_MAX_EVENTS and EVENTS_BATCH_MAX_WORKERS: more than the
    default number of sub-events, all running at once (sync on threads, async tasks).
    """
    app.config["EVENTS_BATCH_MAX_EVENTS"] = None
    app.config["EVENTS_BATCH_MAX_WORKERS"] = None
    n, arrived, lock = 20, [], threading.Lock()  # past the default 16 workers

    def meet(event):
        with lock:
            arrived.append(1)
        deadline = time.monotonic() + 30
        while len(arrived) < n:  # only finishes once all n are inside at once
            assert time.monotonic() < deadline
            time.sleep(0.001)
        return len(arrived)

    async def meet_async(event):
        arrived.append(1)
        while len(arrived) < n:
            await asyncio.sleep(0.001)
        return len(arrived)

    app.blueprints["events"].add("meet", 1, meet if kind == "sync" else meet_async)
    answers = batch(client, [envelope("meet", 1)] * n, parallel=True)["payload"]
    assert [a["payload"] for a in answers] == [n] * n
    answers = batch(client, [envelope("echo", 1, i) for i in range(101)])["payload"]
    assert [a["payload"] for a in answers] == list(range(101))  # past the default 100


def test_sync_and_async_sub_events_mix(app, client):
    async def later(event):
        await asyncio.sleep(0.001)
        return "async"

    app.blueprints["events"].add("later", 1, later)
    subs = [envelope("later", 1), envelope("echo", 1, "sync"), envelope("later", 1)]
    for parallel in (False, True):
        answers = batch(client, subs, parallel)["payload"]
        assert [a["payload"] for a in answers] == ["async", "sync", "async"]


def test_worker_threads_see_the_app_and_request_contexts(app, client):
    def where(event):
        return {
            "app": current_app.name,
            "path": request.path,
            "thread": threading.current_thread().name,
        }

    app.blueprints["events"].add("where", 1, where)
    answers = batch(client, [envelope("where", 1)] * 3, parallel=True)["payload"]
    for answer in answers:
        assert answer["payload"]["app"] == app.name and answer["payload"]["path"] == "/events"
        assert answer["payload"]["thread"].startswith("flask-events-batch")


def test_each_sub_event_fires_its_own_signals(client, recorder):
    subs = [
        envelope("echo", 1),
        envelope("fail", 1),
        envelope("missing", 1),
        envelope("unknown", 1),
        {"bad": True},
    ]
    batch(client, subs, parallel=True)
    started = [c["event"].name for c in recorder.calls["started"]]
    assert sorted(started) == ["batch", "echo", "fail", "missing"]
    assert len(recorder.calls["finished"]) == 4
    noticed = sorted(c["event"].name for c in recorder.calls["event_error_noticed"])
    assert noticed == ["fail", "missing", "unknown"]
    assert recorder.count("error_noticed") == 1
    assert all(c["transport"] == "http" for c in recorder.calls["started"])


def test_a_batch_can_be_sent_as_a_full_event_with_auth_never_echoed(client):
    subs = [envelope("echo", 1, 1, auth={"token": "sub-secret"})]
    body = batch(client, subs, auth={"token": "batch-secret"})
    text = dumps(body)
    assert b"secret" not in text


def test_batch_registered_under_another_name_and_version(app):
    events = EventsBlueprint("other", __name__)
    spec = events.add_batch("ops:bulk", 3)
    events.add("echo", 1, lambda e: e.payload)
    assert spec.is_batch and spec.name == "ops:bulk" and spec.version == 3
    app.register_blueprint(events, url_prefix="/o")
    env = envelope("ops:bulk", 3, {"events": [envelope("echo", 1, 5)]})
    body = app.test_client().post("/o/events", data=dumps(env)).json
    assert body["name"] == "ops:bulk:response" and body["payload"][0]["payload"] == 5


def test_the_handler_object_runs_outside_a_dispatch_too():
    events = EventsBlueprint("events", __name__)
    spec = events.add_batch()
    events.add("echo", 1, lambda e: e.payload)
    answers = spec.func(
        Event.new("batch", 1), {"parallel": False, "events": [envelope("echo", 1, 3)]}
    )
    assert answers[0].payload == 3


def test_async_sub_events_fail_in_their_slots_too(app, client, recorder):
    from marshmallow import Schema, fields

    class Count(Schema):
        n = fields.Integer(required=True, strict=True)

    async def count(event, data):
        return data["n"]

    async def broken(event):
        raise RuntimeError("async failure")

    async def absent(event):
        raise NotFound("absent")

    events = app.blueprints["events"]
    events.add("count", 1, count, input=Count)
    events.add("broken", 1, broken)
    events.add("absent", 1, absent)
    subs = [
        envelope("count", 1, {"n": 2}),
        envelope("count", 1, {"n": "x"}),
        envelope("broken", 1),
        envelope("absent", 1),
    ]
    answers = batch(client, subs, parallel=True)["payload"]
    assert [a["name"] for a in answers] == [
        "count:response",
        "count:badRequest",
        "broken:error",
        "absent:notFound",
    ]
    assert answers[0]["payload"] == 2
    assert answers[1]["payload"]["code"] == "INVALID_PAYLOAD"
    noticed = sorted(c["event"].name for c in recorder.calls["event_error_noticed"])
    assert noticed == ["absent", "broken", "count"]
    assert len(recorder.calls["finished"]) == 5
