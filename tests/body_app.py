"""A tiny app for the body-reading tests: ``echo`` answers its payload.

``EVENTS_MAX_CONTENT_LENGTH`` is 4096 here (``FLASK_EVENTS_MAX_CONTENT_LENGTH``
overrides it), so a test reaches the limit with small bodies.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from flask_events import Event, EventsBlueprint

events = EventsBlueprint("events", __name__, doc_url=None, websocket_url=None)


@events.handler("echo", 1)
def echo(event: Event) -> Any:
    """Answers the payload it got."""
    return event.payload


app = Flask(__name__)
app.config["EVENTS_MAX_CONTENT_LENGTH"] = 4096
app.config.from_prefixed_env()
app.register_blueprint(events)
