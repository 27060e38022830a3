"""How many threads batches take on one socket connection (docs/batch.rst).

Over WebSocket one connection may have ``EVENTS_SOCKET_MAX_IN_FLIGHT`` events being
handled at once, each of them a parallel batch on a thread of its own with up to
``EVENTS_BATCH_MAX_WORKERS`` workers: in-flight * (workers + 1) threads for one
connection, whatever the server's own threads.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from typing import Any

import pytest
import websocket  # websocket-client
from flask import Flask

from flask_events import EventsBlueprint
from flask_events.signals import event_started

from .servers import serve_in_thread

pytestmark = pytest.mark.e2e

#: Generous bound for anything that should happen "at once" on a loaded machine.
PATIENCE = 10.0
IN_FLIGHT, WORKERS = 3, 2


def sub(name: str, payload: Any = None) -> dict[str, Any]:
    return {"name": name, "version": 1, "id": str(uuid.uuid4()), "flowId": "f", "payload": payload}


def test_one_connection_runs_in_flight_times_workers_plus_one_threads_for_batches():
    running: list[int] = []  # the thread of each sub-event started
    batch_threads: set[int] = set()  # the threads handling the batches
    lock, release = threading.Lock(), threading.Event()

    def hold(event: Any) -> None:
        with lock:
            running.append(threading.get_ident())
        assert release.wait(PATIENCE)

    def started(sender: Any, event: Any, **extra: Any) -> None:
        if event.name == "batch":
            with lock:
                batch_threads.add(threading.get_ident())

    events = EventsBlueprint("events", __name__)
    events.add_batch("batch", 1)
    events.add("hold", 1, hold)
    app = Flask(__name__)
    app.config.update(EVENTS_SOCKET_MAX_IN_FLIGHT=IN_FLIGHT, EVENTS_BATCH_MAX_WORKERS=WORKERS)
    app.register_blueprint(events)
    with event_started.connected_to(started, app), serve_in_thread(app) as base:
        url = base.replace("http", "ws") + "/events/ws"
        with contextlib.closing(websocket.create_connection(url, timeout=PATIENCE)) as ws:
            batches = [
                sub("batch", {"parallel": True, "events": [sub("hold") for _ in range(3)]})
                for _ in range(IN_FLIGHT)
            ]
            for env in batches:
                ws.send(json.dumps(env))
            try:
                deadline = time.monotonic() + PATIENCE
                while len(running) < IN_FLIGHT * WORKERS:
                    assert time.monotonic() < deadline, f"only {len(running)} running"
                    time.sleep(0.01)
                extra = sub("batch", {"parallel": True, "events": [sub("hold")]})
                ws.send(json.dumps(extra))  # past the in-flight limit: refused at once
                refused = json.loads(ws.recv())
                assert refused["id"] == extra["id"], refused
                assert refused["payload"]["code"] == "TOO_MANY_IN_FLIGHT"
                with lock:  # each batch's third sub-event waits for one of its workers
                    assert len(running) == IN_FLIGHT * WORKERS
                    threads = set(running) | batch_threads
                    assert len(batch_threads) == IN_FLIGHT
                    assert len(threads) == IN_FLIGHT * (WORKERS + 1)
            finally:
                release.set()
            answers = [json.loads(ws.recv()) for _ in batches]
    assert sorted(a["id"] for a in answers) == sorted(b["id"] for b in batches)
    assert all(a["name"] == "batch:response" for a in answers), answers
    assert len(running) == 3 * IN_FLIGHT
