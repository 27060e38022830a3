"""What is being handled right now: a context variable set around every handler call,
and what reads it (:data:`current_event`, :class:`EventLogFilter`).

Each handler call (a batch's sub-events included, in their threads or tasks) sees its
own :class:`Handling`; each signal subscriber, the redacted event it gets. No Flask
import (werkzeug's ``LocalProxy`` only).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

from werkzeug.local import LocalProxy

if TYPE_CHECKING:
    from .event import Event

__all__ = ["EventLogFilter", "Handling", "current_event", "current_handling"]


class Handling(NamedTuple):
    """The event being handled, with the signal sender, the transport, and what the
    blueprint's authenticator returned for it (``None`` without one, or when public).
    """

    event: Event
    sender: Any
    transport: str
    principal: Any = None


#: Holds a plain ``(event, sender, transport[, principal])`` tuple: set around every
#: handler call, so it is kept cheap; :func:`current_handling` names its parts.
_handling: ContextVar[Optional[tuple[Any, ...]]] = ContextVar(
    "flask_events.handling", default=None
)


def current_handling() -> Optional[Handling]:
    """The :class:`Handling` of the handler running in this context, or ``None``."""
    value = _handling.get()
    return None if value is None else Handling(*value)


def _current_event() -> Event:
    handling = _handling.get()
    if handling is None:
        raise RuntimeError(
            "Working outside of an event handler: current_event is only set while a handler runs."
        )
    return handling[0]  # type: ignore[no-any-return]


#: The event being handled (a proxy, like ``flask.request``), inside a handler and
#: anything it calls; in a signal subscriber, the redacted event it gets. Using it
#: elsewhere raises ``RuntimeError``.
current_event: Event = LocalProxy(_current_event)  # type: ignore[assignment]


class EventLogFilter(logging.Filter):
    """Puts the event being handled on every log record that passes through it.

    Sets ``flow_id``, ``event_id``, ``event_name`` and ``event_version`` (``"-"``
    outside a handler), so a format such as ``"%(flow_id)s %(event_name)s
    %(message)s"`` traces every line of a flow; in batch sub-events, in signal
    subscribers and on every transport too. Values with characters that are not
    printable (a newline, an escape) are written escaped, as ``repr`` writes them.
    ``auth`` never reaches a record from here. Add it to a handler::

        handler.addFilter(EventLogFilter())
    """

    def filter(self, record: logging.LogRecord) -> bool:
        handling = _handling.get()
        if handling is None:
            record.flow_id = record.event_id = record.event_name = record.event_version = "-"
        else:
            event = handling[0]
            record.flow_id, record.event_id = _printable(event.flow_id), _printable(event.id)
            record.event_name, record.event_version = _printable(event.name), event.version
        return True


def _printable(text: str) -> str:
    """``text`` as it is when it is printable, else escaped as ``repr`` escapes it (no
    quotes): a newline or a terminal escape in an id cannot forge or hide a log line.
    """
    return text if text.isprintable() else repr(text)[1:-1]
