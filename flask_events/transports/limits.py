"""The limits the socket transports share: events in flight per connection, depth.

A socket connection may send many events before reading any answer. Both socket
transports count, per connection, the events received and not yet answered; past
``EVENTS_SOCKET_MAX_IN_FLIGHT`` an event is answered at once with
``<name>:error`` (``TOO_MANY_IN_FLIGHT``) and does not run, so one connection can
neither pile up unbounded work nor starve the others, and every event still gets
exactly one answer.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

from ..config import setting
from ..dispatch import Dispatcher, Reply
from ..errors import TooManyInFlight

__all__ = ["InFlight", "admit", "handle", "handle_limited"]


class InFlight:
    """How many events of one connection are being handled (thread-safe)."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def enter(self, limit: Optional[int]) -> bool:
        """Count one more event, unless ``limit`` are already in flight (``None``: no
        limit).
        """
        with self._lock:
            if limit is not None and self._count >= limit:
                return False
            self._count += 1
            return True

    def leave(self) -> None:
        """Count one event fewer: it has been answered."""
        with self._lock:
            self._count -= 1


def admit(
    gate: InFlight, dispatcher: Dispatcher, data: Any, *, app: Any, transport: str
) -> Optional[Reply]:
    """Let ``data`` in (``None``: the caller must :meth:`InFlight.leave` once it is
    answered) or return the refusal to send instead. ``EVENTS_SOCKET_MAX_IN_FLIGHT``
    ``None`` lets every event in.
    """
    limit = setting(app, "EVENTS_SOCKET_MAX_IN_FLIGHT", dispatcher.config_prefix)
    if gate.enter(limit):
        return None
    return dispatcher.refuse(
        data,
        TooManyInFlight(limit),
        sender=app,
        transport=transport,
        max_depth=setting(app, "EVENTS_MAX_DEPTH", dispatcher.config_prefix),
    )


def handle(
    dispatcher: Dispatcher, data: Any, *, app: Any, transport: str, isolated: bool = True
) -> Reply:
    """Handle one envelope with the app's depth limit; ``isolated``: in an app context
    of its own (the events of one connection run at once).
    """
    max_depth = setting(app, "EVENTS_MAX_DEPTH", dispatcher.config_prefix)
    return dispatcher.handle(
        data, sender=app, transport=transport, max_depth=max_depth, isolated=isolated
    )


def handle_limited(
    gate: InFlight, dispatcher: Dispatcher, data: Any, *, app: Any, transport: str
) -> Reply:
    """Handle ``data`` in the calling thread if the connection is under its limit,
    else answer the refusal. Not isolated again: Flask-SocketIO, its only caller, runs
    each event in a request and app context of its own already.
    """
    refusal = admit(gate, dispatcher, data, app=app, transport=transport)
    if refusal is not None:
        return refusal
    try:
        return handle(dispatcher, data, app=app, transport=transport, isolated=False)
    finally:
        gate.leave()
