"""An app for tests/test_doc_snippets_run.py: one echo event whose example is hostile
author text, served over HTTP, the WebSocket and a Socket.IO namespace of its own.
"""

from __future__ import annotations

from flask import Flask
from flask_socketio import SocketIO

from flask_events import EventsBlueprint

#: Quotes of every kind, ``</script>``, shell syntax, a backslash, a newline, non-ASCII.
HOSTILE = {
    "text": 'it\'s "quoted" </script><script>window.pwned=1</script> $(touch pwned) `x`',
    "more": "back\\\\slash\\nnew\nline 'single' ação",
}

events = EventsBlueprint("snippets_events", __name__)
events.add("test:echo", 1, lambda event: event.payload, example=(HOSTILE, HOSTILE))


def create_app() -> Flask:
    """``flask --app tests.snippets_app run``."""
    app = Flask(__name__)
    app.register_blueprint(events)
    socketio = SocketIO(app, async_mode="threading")
    events.attach_socketio(socketio, namespace="/echo-ns")
    return app
