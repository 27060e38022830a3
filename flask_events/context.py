"""What is being handled right now: a context variable set around every handler call.

Transport-free. Each handler call (a batch's sub-events included, in their threads or
tasks) sees its own :class:`Handling`.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

if TYPE_CHECKING:
    from .event import Event

__all__ = ["Handling", "current_handling"]


class Handling(NamedTuple):
    """The event being handled, with the signal sender and the transport."""

    event: Event
    sender: Any
    transport: str


#: Holds a plain ``(event, sender, transport)`` tuple: set around every handler call,
#: so it is kept as cheap as possible; :func:`current_handling` names its parts.
_handling: ContextVar[Optional[tuple[Event, Any, str]]] = ContextVar(
    "flask_events.handling", default=None
)


def current_handling() -> Optional[Handling]:
    """The :class:`Handling` of the handler running in this context, or ``None``."""
    value = _handling.get()
    return None if value is None else Handling(*value)
