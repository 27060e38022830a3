"""Configuration: every ``EVENTS_*`` key with its default, how an events blueprint
reads one through its ``config_prefix``, and the dispatcher's
:class:`~flask_events.dispatch.Settings` read from an app's configuration when they
are used.
"""

from __future__ import annotations

from typing import Any, Optional

from flask import Flask

from .dispatch import Settings

__all__ = [
    "APP_WIDE",
    "DEFAULT_PREFIX",
    "DEFAULT_CONFIG",
    "PUSH_TIMEOUT",
    "setting",
    "settings_of",
]

#: The prefix of every key's name; an events blueprint's ``config_prefix`` by default.
DEFAULT_PREFIX = "EVENTS_"

#: Default of ``EVENTS_PUSH_TIMEOUT``: the most seconds a push through Redis waits for
#: Redis in all (connecting, sending and its answer together).
PUSH_TIMEOUT = 2.0

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
    # Most events whose details the /doc page holds inline; above it, each event's
    # details are fetched from <doc>/event as its section nears the viewport, is
    # linked to or gets the focus (read when the page is rendered). None: no limit.
    "EVENTS_DOC_INLINE_MAX": 50,
}


#: The keys that are the app's, never read through a blueprint's ``config_prefix``.
APP_WIDE = frozenset({"EVENTS_SERVICES"})


def setting(app: Flask, key: str, prefix: Optional[str] = DEFAULT_PREFIX) -> Any:
    """The value of ``key`` (an ``EVENTS_*`` name) for the events blueprint whose
    ``config_prefix`` is ``prefix``: ``<prefix><rest of key>`` when the app's
    configuration has it, else ``key`` itself (its default when the app has neither).
    """
    config = app.config
    if prefix != DEFAULT_PREFIX and prefix is not None:
        own = prefix + key[len(DEFAULT_PREFIX) :]
        if own in config:
            return config[own]
    return config.get(key, DEFAULT_CONFIG.get(key))


def settings_of(app: Flask, prefix: str = DEFAULT_PREFIX) -> Settings:
    """The dispatcher's settings, from the app's configuration (read when used)
    through the blueprint's ``config_prefix``.
    """
    validate = setting(app, "EVENTS_VALIDATE_OUTPUT", prefix)
    propagate = setting(app, "EVENTS_PROPAGATE_EXCEPTIONS", prefix)
    return Settings(
        validate_output=bool(app.debug or app.testing) if validate is None else bool(validate),
        batch_max_events=setting(app, "EVENTS_BATCH_MAX_EVENTS", prefix),
        batch_max_workers=setting(app, "EVENTS_BATCH_MAX_WORKERS", prefix),
        batch_timeout=setting(app, "EVENTS_BATCH_TIMEOUT", prefix),
        propagate_exceptions=bool(app.testing) if propagate is None else bool(propagate),
        json_default=getattr(app.json, "default", None),
        warn_undeclared=bool(app.debug or app.testing),
    )
