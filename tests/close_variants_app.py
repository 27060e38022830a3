"""The app ``tests/test_websocket_close_variants.py`` serves with gunicorn: its
``wait`` events wait on a gate that ``/open`` opens; ``/threads`` counts the threads
that serve a WebSocket (simple-websocket's readers, the connections' pools).
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask

from flask_events import EventsBlueprint

events = EventsBlueprint("events", __name__)
gate = threading.Event()
started: list[str] = []


@events.handler("wait", 1)
def wait(event: Any) -> Any:
    """Wait until ``/open`` is called."""
    started.append(event.id)
    return {"opened": gate.wait(30)}


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.from_prefixed_env()
    app.register_blueprint(events)

    @app.get("/open")
    def open_gate() -> Any:
        gate.set()
        return {}

    @app.get("/threads")
    def threads() -> Any:
        names = [thread.name for thread in threading.enumerate()]
        serving = [n for n in names if "simple_websocket" in n or "flask-events-ws" in n]
        return {"serving": len(serving), "started": len(started)}

    return app
