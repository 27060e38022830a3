"""What registering an events blueprint on an app sets up: one :class:`EventsState` per
registration, in ``app.extensions["events"]`` under the blueprint's full dotted name.

The blueprint itself keeps only what its decorators declare (handlers, authenticator,
error handlers), as Flask's own ``Blueprint`` does; so the same blueprint registered on
two apps (an app factory) serves each independently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Optional

from flask import Flask, current_app, has_app_context

from .errors import EventsError

if TYPE_CHECKING:
    from .blueprint import EventsBlueprint

__all__ = ["EventsState", "join_rule", "registrations", "state_for"]

#: The key of ``app.extensions`` holding ``{full name: EventsState}``.
EXTENSION = "events"


@dataclass
class EventsState:
    """One registration of an :class:`~flask_events.EventsBlueprint` on one app."""

    #: The blueprint registered.
    blueprint: EventsBlueprint
    #: Its full dotted name on the app (``"parent.child"`` when nested): the prefix of
    #: its endpoints, as in ``url_for(f"{state.name}.events")``.
    name: str
    #: The rules it serves on this app, URL prefix included: ``{endpoint: rule}``.
    urls: dict[str, str] = field(default_factory=dict)
    #: The Flask-SocketIO ``SocketIO`` it is attached to on this app, or ``None``.
    socketio: Any = None
    #: The Socket.IO namespace it serves, when attached.
    namespace: Optional[str] = None


def registrations(app: Flask) -> dict[str, EventsState]:
    """Every events blueprint registered on ``app``, by full dotted name."""
    registered: dict[str, EventsState] = app.extensions.setdefault(EXTENSION, {})
    return registered


def state_for(
    blueprint: EventsBlueprint, app: Optional[Flask] = None, *, name: Optional[str] = None
) -> EventsState:
    """The state of ``blueprint`` on ``app`` (the current app by default).

    :param name: the full dotted name of one registration, when the blueprint is
        registered on the app more than once.
    :raises EventsError: the blueprint is not registered on the app, or is registered
        more than once and ``name`` does not say which registration.
    """
    if app is None:
        if not has_app_context():
            raise EventsError(
                f"events blueprint {blueprint.name!r}: no app given and no app context"
            )
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    assert app is not None
    mine = {
        key: state for key, state in registrations(app).items() if state.blueprint is blueprint
    }
    if name is not None:
        if name not in mine:
            raise EventsError(
                f"events blueprint {blueprint.name!r} is not registered on app "
                f"{app.name!r} as {name!r} (registered as: {sorted(mine) or 'nothing'})"
            )
        return mine[name]
    if len(mine) == 1:
        return next(iter(mine.values()))
    if not mine:
        raise EventsError(
            f"events blueprint {blueprint.name!r} is not registered on app {app.name!r}: "
            "call app.register_blueprint() first"
        )
    raise EventsError(
        f"events blueprint {blueprint.name!r} is registered on app {app.name!r} more than "
        f"once ({', '.join(sorted(mine))}): pass name= to say which"
    )


def join_rule(url_prefix: Optional[str], rule: str) -> str:
    """``rule`` under ``url_prefix``, joined as Flask joins a blueprint's rules."""
    if url_prefix is None:
        return rule
    if rule:
        return "/".join((url_prefix.rstrip("/"), rule.lstrip("/")))
    return url_prefix
