"""Rule 6 of "Flask-native": each concurrent handler has its own context.

Handlers that run at the same time (batch sub-events, the events of one WebSocket or
Socket.IO connection) each run in an app context of their own, so ``flask.g`` is
never shared; ``flask.request`` stays visible; ``teardown_appcontext`` runs once per
such handler. ``current_event``, ``current_handling()`` and ``EventLogFilter`` work in
signal subscribers, naming the redacted event they get.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any

import pytest
import websocket  # websocket-client
from flask import Flask, g, request
from flask_socketio import SocketIO

from flask_events import (
    Event,
    EventLogFilter,
    EventsBlueprint,
    current_event,
    current_handling,
)
from flask_events.codec import dumps
from flask_events.event import random_id
from flask_events.signals import event_error_noticed, event_finished, event_started

from .servers import serve_in_thread

#: Handlers that meet (a barrier) are this many.
CONCURRENT = 8
#: Seconds a rendezvous may take on a loaded machine before the test fails.
PATIENCE = 30.0


def envelope(name: str, payload: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "version": 1,
        "id": extra.pop("id", random_id()),
        "flowId": extra.pop("flowId", random_id()),
        "payload": {} if payload is None else payload,
        **extra,
    }


class Rendezvous:
    """Lets ``parties`` handlers wait until all have arrived, from threads or tasks."""

    def __init__(self, parties: int) -> None:
        self.parties, self.arrived, self.lock = parties, 0, threading.Lock()

    def arrive(self) -> None:
        with self.lock:
            self.arrived += 1

    def all_here(self) -> bool:
        return self.arrived >= self.parties

    def wait(self) -> None:
        self.arrive()
        deadline = time.monotonic() + PATIENCE
        while not self.all_here():
            assert time.monotonic() < deadline, "the handlers did not run at once"
            time.sleep(0.001)

    async def wait_async(self) -> None:
        self.arrive()
        deadline = time.monotonic() + PATIENCE
        while not self.all_here():
            assert time.monotonic() < deadline, "the handlers did not run at once"
            await asyncio.sleep(0.001)


def make_events(rendezvous: Rendezvous) -> EventsBlueprint:
    events = EventsBlueprint("events", __name__)
    events.add_batch()

    @events.handler("meet", 1)
    def meet(event: Event) -> Any:
        """Set ``g.x``, wait for the others to set theirs, read it back."""
        before = g.get("x")
        g.x = event.payload
        rendezvous.wait()
        return {"before": before, "after": g.x, "path": request.path}

    @events.handler("meet:async", 1)
    async def meet_async(event: Event) -> Any:
        before = g.get("x")
        g.x = event.payload
        await rendezvous.wait_async()
        return {"before": before, "after": g.x, "path": request.path}

    @events.handler("mark", 1)
    def mark(event: Event) -> Any:
        """What ``g.x`` was, then set it: a later handler sharing ``g`` would see it."""
        before = g.get("x")
        g.x = event.payload
        return {"before": before, "after": g.x}

    return events


def make_app(events: EventsBlueprint) -> Flask:
    app = Flask(__name__)
    app.config["TESTING"] = True
    app.register_blueprint(events)
    return app


def batch(app: Flask, subs: list[dict[str, Any]], parallel: bool) -> list[dict[str, Any]]:
    body = envelope("batch", {"parallel": parallel, "events": subs})
    response = app.test_client().post("/events", data=dumps(body))
    assert response.status_code == 200
    return [sub["payload"] for sub in response.json["payload"]]


@pytest.mark.parametrize("name", ["meet", "meet:async"])
def test_parallel_sub_events_each_have_their_own_g(name):
    app = make_app(make_events(Rendezvous(CONCURRENT)))
    answers = batch(app, [envelope(name, i) for i in range(CONCURRENT)], parallel=True)
    assert [answer["after"] for answer in answers] == list(range(CONCURRENT))
    assert all(answer["before"] is None for answer in answers)
    assert all(answer["path"] == "/events" for answer in answers)  # the request is there


def test_sequential_sub_events_each_have_their_own_g():
    app = make_app(make_events(Rendezvous(1)))

    @app.before_request
    def set_g() -> None:
        g.x = "request"

    answers = batch(app, [envelope("mark", i) for i in range(3)], parallel=False)
    assert answers == [{"before": None, "after": i} for i in range(3)]


def test_teardown_appcontext_runs_once_per_sub_event():
    app = make_app(make_events(Rendezvous(1)))
    torn_down: list[Any] = []

    @app.teardown_appcontext
    def teardown(error: Any) -> None:
        torn_down.append(g.get("x", "request"))

    batch(app, [envelope("mark", i) for i in range(3)], parallel=True)
    assert sorted(torn_down, key=str) == [0, 1, 2, "request"]


@pytest.mark.e2e
def test_concurrent_websocket_events_each_have_their_own_g():
    app = make_app(make_events(Rendezvous(CONCURRENT)))
    with serve_in_thread(app) as base:
        ws = websocket.create_connection(base.replace("http", "ws") + "/events/ws", timeout=60)
        try:
            for i in range(CONCURRENT):
                ws.send(dumps(envelope("meet", i, id=f"meet-{i}")).decode())
            answers = [json.loads(ws.recv()) for _ in range(CONCURRENT)]
        finally:
            ws.close()
    by_id = {answer["id"]: answer["payload"] for answer in answers}
    assert [by_id[f"meet-{i}"]["after"] for i in range(CONCURRENT)] == list(range(CONCURRENT))
    assert all(by_id[f"meet-{i}"]["before"] is None for i in range(CONCURRENT))
    assert all(by_id[f"meet-{i}"]["path"] == "/events/ws" for i in range(CONCURRENT))


def test_socketio_events_each_have_their_own_g():
    events = make_events(Rendezvous(1))
    app = make_app(events)
    socketio = SocketIO(app, async_mode="threading")
    events.attach_socketio(socketio)
    client = socketio.test_client(app, namespace="/events")
    answers = [
        client.emit("event", envelope("mark", i), namespace="/events", callback=True)
        for i in range(3)
    ]
    client.disconnect(namespace="/events")
    assert [answer["payload"] for answer in answers] == [
        {"before": None, "after": i} for i in range(3)
    ]


def test_socketio_events_tear_down_one_app_context_each():
    events = make_events(Rendezvous(1))
    app = make_app(events)
    torn_down: list[int] = []
    app.teardown_appcontext(lambda error: torn_down.append(1))
    socketio = SocketIO(app, async_mode="threading")
    events.attach_socketio(socketio)
    client = socketio.test_client(app, namespace="/events")
    before = len(torn_down)
    for i in range(3):
        client.emit("event", envelope("mark", i), namespace="/events", callback=True)
    assert len(torn_down) - before == 3
    client.disconnect(namespace="/events")


# -- the context of signal subscribers ----------------------------------------------


class Lines(logging.Handler):
    """Keeps each record formatted with the event's fields (EventLogFilter)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.addFilter(EventLogFilter())
        self.setFormatter(logging.Formatter("%(flow_id)s %(event_name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_a_subscriber_logging_through_event_log_filter_names_the_event():
    events = make_events(Rendezvous(1))
    events.add("lookup", 1, lambda event: [][0])
    app = make_app(events)
    app.config["EVENTS_PROPAGATE_EXCEPTIONS"] = False
    logger = logging.getLogger("tests.subscriber")
    lines = Lines()
    logger.addHandler(lines)

    def log(sender: Any, **kwargs: Any) -> None:
        logger.warning("noticed")

    try:
        with event_started.connected_to(log), event_finished.connected_to(log):
            with event_error_noticed.connected_to(log):
                client = app.test_client()
                client.post("/events", data=dumps(envelope("mark", 1, flowId="flow-1")))
                client.post("/events", data=dumps(envelope("nope", flowId="flow-2")))
    finally:
        logger.removeHandler(lines)
    assert lines.lines == [
        "flow-1 mark noticed",
        "flow-1 mark noticed",
        "flow-2 nope noticed",
    ]


def test_subscribers_of_a_sub_event_see_it_redacted_as_current_event():
    events = make_events(Rendezvous(1))

    @events.authenticator
    def authenticate(event: Event) -> Any:
        return f"user:{event.auth['token']}"

    app = make_app(events)
    seen: list[Any] = []

    def look(sender: Any, event: Event, **kwargs: Any) -> None:
        handling = current_handling()
        seen.append(
            (
                event.name,
                current_event.auth,
                current_event._get_current_object() is event,
                handling.principal,
                handling.transport,
                handling.sender is app,
            )
        )

    sub = envelope("mark", 1, auth={"token": "s3cr3t"})
    batch_body = envelope("batch", {"events": [sub]}, auth={"token": "b4tch"})
    with event_started.connected_to(look), event_finished.connected_to(look):
        app.test_client().post("/events", data=dumps(batch_body))
    redacted = {"token": "[redacted]"}
    assert seen == [
        ("batch", redacted, True, None, "http", True),  # public: not authenticated
        ("mark", redacted, True, None, "http", True),  # started: before authentication
        ("mark", redacted, True, "user:s3cr3t", "http", True),
        ("batch", redacted, True, None, "http", True),
    ]
    assert current_handling() is None  # nothing left behind
