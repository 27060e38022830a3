"""The app served by gunicorn in the HTTP benchmark.

``POST /events``: Flask-Events. ``POST /bare``: a bare Flask route that parses the
same envelope and echoes it as a response event with the same JSON libraries
(msgspec): the baseline.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, request

from bench.bare import answer, decode, encode
from flask_events import Event, EventsBlueprint

events = EventsBlueprint("events", __name__)
events.add_batch("batch", 1)


@events.handler("some event", 42)
def echo(event: Event) -> Any:
    return event.payload


@events.handler("io:wait", 1)
def wait_on_io(event: Event) -> Any:
    """Stands for a handler that waits 50 ms on a database or another service."""
    time.sleep(0.05)
    return None


app = Flask(__name__)
app.register_blueprint(events)


@app.post("/bare")
def bare() -> Any:
    envelope = decode(request.get_data())
    return app.response_class(encode(answer(envelope)), 200, content_type="application/json")
