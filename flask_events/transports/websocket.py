"""The events protocol over a raw WebSocket (flask-sock / simple-websocket).

Each text message is one envelope; each reply is one text message holding exactly the
response event the HTTP endpoint would answer. A connection may send many events
before reading: up to ``EVENTS_SOCKET_MAX_IN_FLIGHT`` of them are handled at once,
each in a thread of the connection's own pool, and answered as they finish, so match
answers by ``id``/``flowId`` (with a limit of 1 they are handled one at a time and
answered in arrival order). Past the limit an event is answered at once with
``<name>:error`` (``TOO_MANY_IN_FLIGHT``) and not run.
"""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Optional

from flask import Blueprint as FlaskBlueprint
from flask import current_app
from flask_sock import ConnectionClosed, Sock

from ..errors import BadProtocol
from .inflight import InFlight, admit, handle

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
        """One connection: receive envelopes and answer each, until it closes."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        with _Connection(ws, dispatcher, app) as connection:
            while True:
                message = ws.receive()
                limit = app.config["EVENTS_WEBSOCKET_MAX_MESSAGE_SIZE"]
                if isinstance(message, (bytes, bytearray)):
                    connection.reject("binary messages are not events: send the envelope as text")
                    continue
                # len() counts characters: encode only when it could be over the limit
                if limit is not None and len(message) > limit // 4 and _size(message) > limit:
                    reason = f"the message is larger than {limit} bytes"
                    connection.reject(reason)
                    ws.close(MESSAGE_TOO_BIG, reason)
                    return
                connection.receive(message)

    # flask-sock registers through ``bp.route``; use Flask's, which keeps the route
    # out of flask-smorest's OpenAPI document.
    plain_routes = SimpleNamespace(
        route=lambda path, **kw: FlaskBlueprint.route(blueprint, path, **kw)
    )
    _sock.route(rule, bp=plain_routes, endpoint="events_websocket")(events_websocket)


class _Connection:
    """One WebSocket connection's events in flight, its pool and its sending lock.

    Leaving the ``with`` block waits for the events still being handled (their
    answers are dropped if the client has gone).
    """

    def __init__(self, ws: Server, dispatcher: Dispatcher, app: Any) -> None:
        self.ws = ws
        self.dispatcher = dispatcher
        self.app = app
        self.gate = InFlight()
        self._pool: Optional[ThreadPoolExecutor] = None
        self._send_lock = threading.Lock()

    def __enter__(self) -> _Connection:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def receive(self, message: str) -> None:
        """Answer ``message`` now if it is refused, else handle it in the pool (or
        here, when only one event may be in flight).
        """
        refusal = admit(self.gate, self.dispatcher, message, app=self.app, transport="websocket")
        if refusal is not None:
            self.send(refusal.body)
            return
        limit = self.app.config["EVENTS_SOCKET_MAX_IN_FLIGHT"]
        if limit == 1:
            self._answer(message)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(limit, thread_name_prefix="flask-events-ws")
        # each task runs in a copy of this context: the app and request contexts
        self._pool.submit(contextvars.copy_context().run, self._answer, message)

    def reject(self, reason: str) -> None:
        """Answer input that is not an event with ``badProtocol``."""
        error = BadProtocol.unreadable(reason)
        self.send(self.dispatcher.reject(error, sender=self.app, transport="websocket").body)

    def send(self, body: bytes) -> None:
        """Send one answer; an answer to a client that has gone is dropped."""
        try:
            with self._send_lock:
                self.ws.send(body.decode("utf-8"))
        except (ConnectionClosed, OSError):
            pass

    def _answer(self, message: str) -> None:
        try:
            reply = handle(self.dispatcher, message, app=self.app, transport="websocket")
            self.send(reply.body)
        finally:
            self.gate.leave()


def _size(message: str) -> int:
    return len(message.encode("utf-8", "surrogatepass"))
