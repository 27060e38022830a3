"""The app of benchmark (g), ``bench/many_websockets.py``, served by gunicorn's gevent
worker: ``/events/ws`` is Flask-Events' WebSocket endpoint; ``/bare/ws`` is a bare
flask-sock endpoint that parses the envelope and answers the response event with the
same JSON library (the bare WebSocket route of ``bench/socket_app.py``, without the
Socket.IO server that app also carries).
"""

from __future__ import annotations

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
