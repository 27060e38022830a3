"""One pooled client per app and service, from ``app.config["EVENTS_SERVICES"]``:
:func:`events_client` and :func:`async_events_client`.

The clients live in ``app.extensions["events.clients"]`` (sync: by service name) and
``app.extensions["events.async_clients"]`` (async: by event loop, then service name,
since an async client's connections belong to the loop that made them). Sync clients
are closed at interpreter exit; one closed by its user is replaced at the next call.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import weakref
from typing import Any, Optional, TypeVar

from flask import Flask, current_app

from .client import AsyncEventsClient, EventsClient
from .client_errors import NoRunningLoop, ServiceConfigError, UnknownService

__all__ = ["async_events_client", "events_client"]

#: The keys an ``EVENTS_SERVICES`` entry may have: the clients' arguments.
SERVICE_KEYS = frozenset(
    {
        "url",
        "timeout",
        "connect_timeout",
        "read_timeout",
        "retries",
        "backoff",
        "max_backoff",
        "headers",
        "max_response_size",
        "app",
        "transport",
    }
)

Client = TypeVar("Client", EventsClient, AsyncEventsClient)

_lock = threading.Lock()
_to_close: weakref.WeakSet[EventsClient] = weakref.WeakSet()
_atexit_registered = False


def events_client(name: str, app: Optional[Flask] = None) -> EventsClient:
    """The app's :class:`~flask_events.EventsClient` for service ``name``, made from
    ``EVENTS_SERVICES[name]`` at the first call and reused (with its connections) by
    every later call, from any thread.

    :param name: a key of ``app.config["EVENTS_SERVICES"]``.
    :param app: the app (default: the current app).
    :raises UnknownService: ``name`` is not in ``EVENTS_SERVICES``.
    :raises ServiceConfigError: its entry is not a dict, or has no ``url`` or a key the
        client does not take.
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    clients = app.extensions.setdefault("events.clients", {})
    client = _pooled(app, name, clients, EventsClient)
    _close_at_exit(client)
    return client


def async_events_client(name: str, app: Optional[Flask] = None) -> AsyncEventsClient:
    """:func:`events_client` for asyncio code: the app's
    :class:`~flask_events.AsyncEventsClient` for service ``name`` and the running event
    loop (call it from ``async`` code). Not closed at exit: its loop is gone by then.

    :raises ~flask_events.client_errors.NoRunningLoop: no event loop is running (a
        ``RuntimeError``).
    """
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise NoRunningLoop("async_events_client() needs a running event loop") from None
    by_loop = app.extensions.setdefault("events.async_clients", weakref.WeakKeyDictionary())
    with _lock:
        clients = by_loop.setdefault(loop, {})
    return _pooled(app, name, clients, AsyncEventsClient)


def _pooled(app: Flask, name: str, clients: dict[str, Any], kind: type[Client]) -> Client:
    """``clients[name]``, made first (or again, when closed) from the app's config."""
    with _lock:
        client: Optional[Client] = clients.get(name)
        if client is None or client.is_closed:
            client = clients[name] = kind(**service_options(app, name))
        return client


def service_options(app: Flask, name: str) -> dict[str, Any]:
    """The client arguments of service ``name``, checked."""
    services: dict[str, Any] = app.config.get("EVENTS_SERVICES") or {}
    if name not in services:
        known = ", ".join(sorted(services)) or "none"
        raise UnknownService(f"no service {name!r} in EVENTS_SERVICES (known: {known})")
    if not isinstance(services[name], dict):
        raise ServiceConfigError(
            f"EVENTS_SERVICES[{name!r}] must be a dict of client arguments "
            f"(e.g. {{'url': ...}}), not {type(services[name]).__name__}"
        )
    options = dict(services[name])
    unknown = sorted(set(options) - SERVICE_KEYS)
    if unknown or "url" not in options:
        raise ServiceConfigError(
            f"EVENTS_SERVICES[{name!r}] needs a 'url' and takes only "
            f"{', '.join(sorted(SERVICE_KEYS))}"
            + (f" (not {', '.join(unknown)})" if unknown else "")
        )
    return options


def _close_at_exit(client: EventsClient) -> None:
    global _atexit_registered
    with _lock:
        _to_close.add(client)
        if not _atexit_registered:
            atexit.register(close_all)
            _atexit_registered = True


def close_all() -> None:
    """Close every pooled sync client (run at interpreter exit)."""
    for client in list(_to_close):
        client.close()
