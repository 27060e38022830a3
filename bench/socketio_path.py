"""Bench (f)'s server side in-process: µs per Socket.IO event through Flask-SocketIO's
own handler wrapper (request context and all), Flask-Events' ``/events`` namespace
against a bare handler answering the envelope python-socketio decoded, no network.

    .venv/bin/python bench/socketio_path.py                   # this checkout
    PYTHONPATH=DIR .venv/bin/python bench/socketio_path.py    # the checkout in DIR

Prints where ``flask_events`` came from, then the best of 9 loops of 20,000 events of
each side (the sides alternating) and the difference: what our transport adds to an
event, beside the network and python-socketio's own work, which both sides share.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from flask import Flask
from flask_socketio import SocketIO

import flask_events
from flask_events import Event, EventsBlueprint

ENVELOPE = {
    "name": "some event",
    "version": 42,
    "id": "2465a86f-3857-423e-af86-41f67880172f",
    "flowId": "d00a5c99-ea0e-4b39-bfdc-bf1028a9c95f",
    "payload": {"data1": "fsadfsdf", "an_int64": 65484548474984654, "some_float": 1864.4568},
    "metadata": {"origin": "Documentation", "originId": "RFC-GB 0001", "timestamp": 1482162952},
    "identity": {},
    "auth": {},
}


def make_app() -> tuple[Flask, SocketIO]:
    """Bench (f)'s two namespaces on one ``SocketIO``, as in ``bench/socket_app.py``."""
    events = EventsBlueprint("events", __name__)

    @events.handler("some event", 42)
    def echo(event: Event) -> Any:
        return event.payload

    app = Flask(__name__)
    app.register_blueprint(events)
    socketio = SocketIO(app, async_mode="threading")
    events.attach_socketio(socketio, namespace="/events")

    @socketio.on("event", namespace="/bare")
    def bare(data: Any) -> dict[str, Any]:
        return {
            "name": data["name"] + ":response",
            "version": data["version"],
            "id": data["id"],
            "flowId": data["flowId"],
            "payload": data["payload"],
            "identity": {},
            "auth": {},
            "metadata": {},
        }

    return app, socketio


def main(loops: int = 9, count: int = 20_000) -> None:
    print("flask_events from", flask_events.__file__)
    app, socketio = make_app()
    envelope = msgspec.json.decode(msgspec.json.encode(ENVELOPE))
    calls = {}
    for namespace in ("/events", "/bare"):
        client = socketio.test_client(app, namespace=namespace)
        sid = socketio.server.manager.sid_from_eio_sid(client.eio_sid, namespace)
        handler = socketio.server.handlers[namespace]["event"]
        answer = handler(sid, envelope)
        assert answer["name"] == "some event:response", answer
        calls[namespace] = (handler, sid)
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(loops):
        for namespace, (handler, sid) in calls.items():
            start = time.perf_counter()
            for _ in range(count):
                handler(sid, envelope)
            best[namespace] = min(best[namespace], (time.perf_counter() - start) / count * 1e6)
    print(
        f"ours (/events) {best['/events']:.1f} µs, bare {best['/bare']:.1f} µs per event: "
        f"ours adds {best['/events'] - best['/bare']:.1f} µs"
    )


if __name__ == "__main__":
    main()
