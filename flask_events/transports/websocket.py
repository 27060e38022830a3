"""The events protocol over a raw WebSocket (flask-sock / simple-websocket).

Each text message is one envelope; each reply is one text message holding exactly the
response event the HTTP endpoint would answer. Messages on one connection are handled
in the order they arrive and answered in that order, so a client may send many before
reading (they are in flight together) and match replies by ``id``/``flowId``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from flask import Blueprint as FlaskBlueprint
from flask import current_app
from flask_sock import Sock

from ..errors import BadProtocol

if TYPE_CHECKING:
    from simple_websocket import Server

    from ..blueprint import EventsBlueprint
    from ..dispatch import Dispatcher

__all__ = ["add_websocket_route"]

#: RFC 6455 close codes.
MESSAGE_TOO_BIG = 1009

_sock = Sock()  # flask-sock only builds the route; it never holds an app here


def add_websocket_route(blueprint: EventsBlueprint, rule: str) -> None:
    """Serve the events protocol over a WebSocket at ``rule`` of ``blueprint``."""
    dispatcher = blueprint.dispatcher

    def events_websocket(ws: Server) -> None:
        """One connection: receive envelopes, answer each in order, until it closes."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        while True:
            message = ws.receive()
            limit = app.config["EVENTS_MAX_CONTENT_LENGTH"]
            if isinstance(message, (bytes, bytearray)):
                reason = "binary messages are not events: send the envelope as text"
                ws.send(_reject(dispatcher, app, reason))
                continue
            # len() counts characters: encode only when it could be over the limit
            if limit is not None and len(message) > limit // 4 and _size(message) > limit:
                reason = f"the message is larger than {limit} bytes"
                ws.send(_reject(dispatcher, app, reason))
                ws.close(MESSAGE_TOO_BIG, reason)
                return
            reply = dispatcher.handle(message, sender=app, transport="websocket")
            ws.send(reply.body.decode("utf-8"))

    # flask-sock registers through ``bp.route``; use Flask's, which keeps the route
    # out of flask-smorest's OpenAPI document.
    plain_routes = SimpleNamespace(
        route=lambda path, **kw: FlaskBlueprint.route(blueprint, path, **kw)
    )
    _sock.route(rule, bp=plain_routes, endpoint="events_websocket")(events_websocket)


def _size(message: str) -> int:
    return len(message.encode("utf-8", "surrogatepass"))


def _reject(dispatcher: Dispatcher, app: Any, reason: str) -> str:
    reply = dispatcher.reject(BadProtocol.unreadable(reason), sender=app, transport="websocket")
    return reply.body.decode("utf-8")
