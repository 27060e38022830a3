"""``async def`` handlers under gevent (gunicorn ``-k gevent`` patches ``threading``):
asyncio keeps one running loop per OS thread, and every greenlet shares one, so
coroutines run on gevent's native threads. Each check runs in a fresh interpreter
that monkey-patches first, as a gevent worker does.
"""

from __future__ import annotations

import textwrap

import pytest

from .servers import run_python

pytest.importorskip("gevent")

PRELUDE = """
from gevent import monkey

monkey.patch_all()

import asyncio
import contextvars
import json
import sys

import gevent
"""


def run_patched(script: str, timeout: float = 60) -> list:
    """Run ``script`` after gevent's ``patch_all`` in a new interpreter; the JSON
    value it prints last.
    """
    result = run_python(PRELUDE + textwrap.dedent(script), timeout)
    return __import__("json").loads(result.stdout.strip().splitlines()[-1])


def test_coroutines_of_concurrent_greenlets_all_complete():
    outcomes = run_patched(
        """
        from flask_events import coroutines

        user = contextvars.ContextVar("user")

        async def work(n):
            await asyncio.sleep(0.05)
            return [n, user.get()]

        def call(n):
            user.set(f"u{n}")
            return coroutines.run(work(n))

        greenlets = [gevent.spawn(call, n) for n in range(5)]
        gevent.joinall(greenlets, timeout=20)
        print(json.dumps([g.value if g.ready() else "HUNG" for g in greenlets]))
        """
    )
    assert outcomes == [[n, f"u{n}"] for n in range(5)]


def test_a_coroutine_run_from_inside_a_running_loop_completes():
    outcome = run_patched(
        """
        from flask_events import coroutines

        async def inner():
            await asyncio.sleep(0.01)
            return "inner"

        async def outer():
            return coroutines.run(inner())  # a sync call from async code

        print(json.dumps(asyncio.run(outer())))
        """
    )
    assert outcome == "inner"


def test_concurrent_async_handlers_all_answer_over_http():
    answers = run_patched(
        """
        from flask import Flask

        from flask_events import EventsBlueprint

        events = EventsBlueprint("events", __name__)

        @events.handler("slow", 1)
        async def slow(event):
            await asyncio.sleep(0.1)
            return {"n": event.payload["n"]}

        app = Flask(__name__)
        app.register_blueprint(events)

        def send(n):
            envelope = {"name": "slow", "version": 1, "id": str(n), "flowId": "f",
                        "payload": {"n": n}}
            return app.test_client().post("/events", json=envelope).get_json()["payload"]

        greenlets = [gevent.spawn(send, n) for n in range(4)]
        gevent.joinall(greenlets, timeout=20)
        print(json.dumps([g.value if g.ready() else "HUNG" for g in greenlets]))
        """
    )
    assert answers == [{"n": n} for n in range(4)]


def test_parallel_batches_of_async_sub_events_all_answer():
    answers = run_patched(
        """
        from flask import Flask

        from flask_events import EventsBlueprint

        events = EventsBlueprint("events", __name__)
        events.add_batch()

        @events.handler("slow", 1)
        async def slow(event):
            await asyncio.sleep(0.05)
            return {"n": event.payload["n"]}

        app = Flask(__name__)
        app.register_blueprint(events)

        def send(k):
            subs = [{"name": "slow", "version": 1, "id": f"{k}-{n}", "flowId": "f",
                     "payload": {"n": n}} for n in range(3)]
            envelope = {"name": "batch", "version": 1, "id": str(k), "flowId": "f",
                        "payload": {"parallel": True, "events": subs}}
            answer = app.test_client().post("/events", json=envelope).get_json()
            return [sub["payload"]["n"] for sub in answer["payload"]]

        greenlets = [gevent.spawn(send, k) for k in range(3)]
        gevent.joinall(greenlets, timeout=20)
        print(json.dumps([g.value if g.ready() else "HUNG" for g in greenlets]))
        """
    )
    assert answers == [[0, 1, 2]] * 3
