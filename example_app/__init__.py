"""A small accounts service speaking the events protocol over HTTP, WebSocket and
Socket.IO.

Run it with ``flask --app example_app run`` and open http://127.0.0.1:5000/doc. With
``FLASK_SOCKETIO_MESSAGE_QUEUE=redis://...`` set, several processes share pushes.
"""

from __future__ import annotations

from typing import Any, Optional

from flask import Flask
from flask_socketio import SocketIO

from .accounts import AccountStore, events


def create_app(config: Optional[dict[str, Any]] = None) -> Flask:
    """Build the example app; ``config`` overrides settings (tests use it).

    ``SOCKETIO_MESSAGE_QUEUE`` (or the ``FLASK_SOCKETIO_MESSAGE_QUEUE`` environment
    variable) is the Redis URL that several server processes share for pushes;
    ``METRICS`` (``FLASK_METRICS=1``) serves Prometheus metrics on ``/metrics``;
    ``TRACING`` (``FLASK_TRACING=1``) traces every event with OpenTelemetry;
    ``RATES_SERVICE_URL`` is where ``rates:convert`` asks for rates (itself by default).
    """
    app = Flask(__name__)
    app.config.from_prefixed_env()
    app.config.from_mapping(config or {})
    app.extensions["accounts"] = AccountStore()
    app.register_blueprint(events)
    socketio = SocketIO(
        app,
        async_mode="threading",
        message_queue=app.config.get("SOCKETIO_MESSAGE_QUEUE"),
        cors_allowed_origins=app.config.get("SOCKETIO_CORS_ALLOWED_ORIGINS"),
    )
    events.attach_socketio(socketio, namespace="/events")
    if app.config.get("METRICS"):  # FLASK_METRICS=1: Prometheus metrics on /metrics
        from flask_events.contrib.metrics import EventsMetrics

        EventsMetrics(app)
    if app.config.get("TRACING"):  # FLASK_TRACING=1: spans to the OpenTelemetry SDK
        from flask_events.contrib.tracing import EventsTracing

        EventsTracing(app)
    return app
