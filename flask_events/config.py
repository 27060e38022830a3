"""Configuration: every ``EVENTS_*`` key with its default, and the dispatcher's
:class:`~flask_events.Settings` read from an app's configuration when they are used.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from .dispatch import Settings
from .transports.socketio import PUSH_TIMEOUT

__all__ = ["DEFAULT_CONFIG", "settings_of"]

#: Every configuration key with its default (set with ``app.config.setdefault``).
DEFAULT_CONFIG: dict[str, Any] = {
    # Largest request body accepted, in bytes; larger gets HTTP 413 + badProtocol.
    "EVENTS_MAX_CONTENT_LENGTH": 1024 * 1024,
    # Check handlers' results against their output schema; None: in debug or testing.
    "EVENTS_VALIDATE_OUTPUT": None,
    # Most sub-events in one batch; more is answered <batch>:badRequest.
    "EVENTS_BATCH_MAX_EVENTS": 100,
    # Most sub-events of a parallel batch running at once (a cap per batch).
    "EVENTS_BATCH_MAX_WORKERS": 16,
    # Seconds a batch may take: sub-events not started by then are answered
    # <name>:error (BATCH_TIMEOUT) without running. None: no limit.
    "EVENTS_BATCH_TIMEOUT": 30,
    # Deepest nesting of arrays and objects in an envelope (itself level 1); deeper
    # is answered badProtocol. None: the interpreter's recursion limit (~1000).
    "EVENTS_MAX_DEPTH": 128,
    # Largest WebSocket message accepted, in bytes; larger: badProtocol, close 1009.
    "EVENTS_WEBSOCKET_MAX_MESSAGE_SIZE": 1024 * 1024,
    # Seconds between the server's pings on a WebSocket connection; None: no pings.
    "EVENTS_WEBSOCKET_PING_INTERVAL": 25,
    # Most events handled at once on one WebSocket or Socket.IO connection; more are
    # answered <name>:error (TOO_MANY_IN_FLIGHT) without running.
    "EVENTS_SOCKET_MAX_IN_FLIGHT": 100,
    # Let a handler's unexpected exception propagate out of the request instead of
    # answering <name>:error; None: when app.testing.
    "EVENTS_PROPAGATE_EXCEPTIONS": None,
    # Seconds a push through a Redis message queue may take to connect, send and get
    # Redis's answer, together; past that it raises PushFailed. None: no limit.
    "EVENTS_PUSH_TIMEOUT": PUSH_TIMEOUT,
    # The services events_client(name) sends to: {name: {"url": ..., client arguments}}.
    "EVENTS_SERVICES": None,
    # Show the "try it" panels on the /doc page (read when the page is rendered).
    "EVENTS_DOC_TRY_IT": True,
}


def settings_of(app: Flask) -> Settings:
    """The dispatcher's settings, from the app's configuration (read when used)."""
    config = app.config
    validate = config["EVENTS_VALIDATE_OUTPUT"]
    propagate = config.get("EVENTS_PROPAGATE_EXCEPTIONS")
    return Settings(
        validate_output=bool(app.debug or app.testing) if validate is None else bool(validate),
        batch_max_events=config["EVENTS_BATCH_MAX_EVENTS"],
        batch_max_workers=config["EVENTS_BATCH_MAX_WORKERS"],
        batch_timeout=config["EVENTS_BATCH_TIMEOUT"],
        propagate_exceptions=bool(app.testing) if propagate is None else bool(propagate),
        json_default=getattr(app.json, "default", None),
    )
