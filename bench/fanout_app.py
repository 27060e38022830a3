"""The app each server process of the push fan-out benchmark (``bench/fanout.py``)
serves under ``gunicorn -k gevent``.

One ``SocketIO`` on the Redis message queue of ``$FANOUT_MESSAGE_QUEUE``, created as
the example app creates its own (``async_mode="threading"``: greenlets under the gevent
worker): namespace ``/events`` is Flask-Events' (an :class:`~flask_events.EventPusher`
pushes to it), namespace ``/bare`` a bare Flask-SocketIO namespace (a write-only
``SocketIO`` emits to it). Clients connect to both over one connection. ``GET /cpu``
answers the CPU seconds the process has used so far.
"""

from __future__ import annotations

import os
import resource
from typing import Any

from flask import Flask
from flask_socketio import SocketIO

from flask_events import EventsBlueprint

events = EventsBlueprint("events", __name__)

app = Flask(__name__)
app.register_blueprint(events)
socketio = SocketIO(app, async_mode="threading", message_queue=os.environ["FANOUT_MESSAGE_QUEUE"])
events.attach_socketio(socketio, namespace="/events")


@socketio.on("connect", namespace="/bare")
def bare_connect(auth: Any = None) -> bool:
    """Accept every client on the bare namespace (it only receives)."""
    return True


@app.get("/cpu")
def cpu() -> dict[str, float]:
    """The CPU seconds (user and system) this server process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"seconds": usage.ru_utime + usage.ru_stime}
