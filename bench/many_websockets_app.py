"""The app of benchmark (g), ``bench/many_websockets.py``, served by gunicorn's gevent
worker: ``/events/ws`` is Flask-Events' WebSocket endpoint; ``/bare/ws`` is a bare
flask-sock endpoint that parses the envelope and answers the response event with the
same JSON library (the bare WebSocket route of ``bench/socket_app.py``, without the
Socket.IO server that app also carries).
"""

from __future__ import annotations

import gc
import os
import time
from typing import Any

from flask import Flask
from flask_sock import Sock

from bench.bare import answer, decode, encode
from flask_events import Event, EventsBlueprint

events = EventsBlueprint("events", __name__)


@events.handler("some event", 42)
def echo(event: Event) -> Any:
    return event.payload


app = Flask(__name__)
app.config.from_prefixed_env()  # e.g. FLASK_EVENTS_WEBSOCKET_PING_INTERVAL=None
app.register_blueprint(events)
sock = Sock(app)


@sock.route("/bare/ws")
def bare_websocket(ws: Any) -> None:
    while True:
        ws.send(encode(answer(decode(ws.receive()))).decode())


def log_collections(path: str, slower_than: float = 0.002) -> None:
    """Append each garbage collection slower than ``slower_than`` seconds to ``path``
    (worker pid, generation, seconds, objects tracked): a diagnosis of latency spikes,
    on when ``BENCH_GC_LOG`` names a file."""
    started: list[float] = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started and time.perf_counter() - started[0] > slower_than:
            took = time.perf_counter() - started[0]
            with open(path, "a") as log:
                log.write(
                    f"{os.getpid()} {info['generation']} {took:.4f} {len(gc.get_objects())}\n"
                )

    gc.callbacks.append(callback)


if os.environ.get("BENCH_GC_LOG"):
    log_collections(os.environ["BENCH_GC_LOG"])
