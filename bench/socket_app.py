"""The app served by gunicorn in the socket benchmarks.

WebSocket: ``/events/ws`` is Flask-Events; ``/bare/ws`` is a bare flask-sock endpoint
that parses the envelope and answers the response event with the same JSON library.
Socket.IO: namespace ``/events`` is Flask-Events; namespace ``/bare`` is a bare
Flask-SocketIO handler answering the envelope python-socketio decoded, on the same
``SocketIO``; namespace ``/barejson`` is a bare handler doing the JSON work ours does
on top of that (encode the envelope, decode it, encode the answer, decode that).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_sock import Sock
from flask_socketio import SocketIO

from bench.bare import answer, decode, encode
from flask_events import Event, EventsBlueprint

events = EventsBlueprint("events", __name__)


@events.handler("some event", 42)
def echo(event: Event) -> Any:
    return event.payload


app = Flask(__name__)
app.config.from_prefixed_env()  # e.g. FLASK_EVENTS_SOCKET_MAX_IN_FLIGHT=1
app.register_blueprint(events)
sock = Sock(app)
socketio = SocketIO(app, async_mode="threading")
events.attach_socketio(socketio, namespace="/events")


@sock.route("/bare/ws")
def bare_websocket(ws: Any) -> None:
    while True:
        ws.send(encode(answer(decode(ws.receive()))).decode())


@socketio.on("event", namespace="/bare")
def bare_socketio(data: Any) -> dict[str, Any]:
    return answer(data)


@socketio.on("event", namespace="/barejson")
def bare_socketio_json(data: Any) -> dict[str, Any]:
    # as flask_events.transports.socketio does: the object encoded for the core, which
    # decodes it and encodes the answer, decoded again for python-socketio to send
    answer_json: dict[str, Any] = decode(encode(answer(decode(encode(data)))))
    return answer_json
