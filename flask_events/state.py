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

__all__ = [
    "EventsState",
    "attached_state",
    "check_collisions",
    "registrations",
    "rules_of",
    "socketio_app",
    "state_for",
]

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


def attached_state(
    blueprint: EventsBlueprint, app: Flask, socketio: Any, namespace: Optional[str]
) -> EventsState:
    """The registration of ``blueprint`` on ``app`` attached to ``socketio`` / ``namespace`` (each
    ``None``: any); there must be exactly one.
    """
    attached = [
        state
        for state in registrations(app).values()
        if state.blueprint is blueprint
        and state.socketio is not None
        and (socketio is None or state.socketio is socketio)
        and (namespace is None or state.namespace == namespace)
    ]
    if len(attached) == 1:
        return attached[0]
    if not attached:
        raise EventsError(
            f"events blueprint {blueprint.name!r} is not attached to a SocketIO on app "
            f"{app.name!r}: call attach_socketio() first"
        )
    names = ", ".join(f"{s.name} ({s.namespace})" for s in attached)
    raise EventsError(
        f"events blueprint {blueprint.name!r} is attached more than once on app "
        f"{app.name!r} ({names}): pass namespace= to push()"
    )


def socketio_app(socketio: Any) -> Flask:
    """The current app, else the app ``socketio`` was created with (Flask-SocketIO keeps
    it only on its WSGI middleware).

    :raises EventsError: neither is known.
    """
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]
    app = getattr(getattr(socketio, "sockio_mw", None), "flask_app", None)
    if app is None:
        raise EventsError(
            "attach_socketio() cannot tell the app: pass app=, or call it in an app "
            "context, or after SocketIO(app) / socketio.init_app(app)"
        )
    return app  # type: ignore[no-any-return]


def rules_of(app: Flask, name: str) -> list[Any]:
    """The URL rules that the registration ``name`` of a blueprint added to ``app``."""
    prefix = name + "."
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(prefix) and "." not in rule.endpoint[len(prefix) :]
    ]


def check_collisions(app: Flask, name: str, ours: list[Any]) -> None:
    """Refuse a registration whose routes another view of ``app`` serves already (two
    events blueprints at one URL, say): werkzeug would silently serve only the first.

    :raises EventsError: naming both endpoints and the URL.
    """

    def key(rule: Any) -> tuple[Any, ...]:
        return (rule.rule, rule.subdomain, rule.host, rule.websocket)

    others: dict[tuple[Any, ...], list[Any]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(name + "."):
            others.setdefault(key(rule), []).append(rule)
    for mine in ours:
        if mine.endpoint == f"{name}.static":  # the same files, whoever serves them
            continue
        for rule in others.get(key(mine), ()):
            if (mine.methods or set()) & (rule.methods or set()) - {"HEAD", "OPTIONS"}:
                raise EventsError(
                    f"events blueprint {name!r} would serve {rule.rule!r} "
                    f"({mine.endpoint}), which {rule.endpoint!r} serves already on app "
                    f"{app.name!r}: give one of them another url_prefix"
                )
