"""The app ``tests/test_websocket_gevent.py`` serves with ``gunicorn -k gevent``: its
WebSocket handlers wait on gates that plain HTTP routes open, and report where they
ran (greenlet, native thread); HTTP routes count the worker's live greenlets.
Not imported by the test process itself (gevent patches the worker only).
"""

from __future__ import annotations

import collections
import gc
import threading
from typing import Any

from flask import Flask

from flask_events import EventsBlueprint

#: The worker's own OS thread: under gevent every greenlet runs on it.
MAIN_NATIVE_ID = threading.get_native_id()

events = EventsBlueprint("events", __name__)
gates: collections.defaultdict[str, threading.Event] = collections.defaultdict(threading.Event)
started: collections.Counter[str] = collections.Counter()
finished: collections.Counter[str] = collections.Counter()


def where() -> dict[str, Any]:
    """The facts of the greenlet and OS thread this event runs on."""
    import gevent

    current = gevent.getcurrent()
    return {
        "greenlet": id(current),
        "isGreenlet": isinstance(current, gevent.Greenlet),
        "nativeId": threading.get_native_id(),
        "mainNativeId": MAIN_NATIVE_ID,
    }


@events.handler("wait", 1)
def wait(event: Any) -> Any:
    """Wait until the gate ``payload.key`` is opened (by ``open`` or ``/open/<key>``)."""
    key = event.payload["key"]
    facts = where()
    started[key] += 1
    opened = gates[key].wait(30)
    finished[key] += 1
    return {**facts, "opened": opened}


@events.handler("open", 1)
def open_gate(event: Any) -> Any:
    """Open the gate ``payload.key``."""
    gates[event.payload["key"]].set()
    return where()


def live_greenlets() -> int:
    """The greenlets of this worker that have started and not ended."""
    from greenlet import greenlet

    # type(), not isinstance(): some objects are proxies (werkzeug's LocalProxy)
    return sum(1 for g in gc.get_objects() if issubclass(type(g), greenlet) and bool(g))


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.from_prefixed_env()
    app.register_blueprint(events)

    @app.get("/open/<key>")
    def open_route(key: str) -> Any:
        gates[key].set()
        return {}

    @app.get("/progress/<key>")
    def progress(key: str) -> Any:
        return {"started": started[key], "finished": finished[key]}

    @app.get("/live")
    def live() -> Any:
        gc.collect()
        return {"greenlets": live_greenlets(), "threads": threading.active_count()}

    return app
