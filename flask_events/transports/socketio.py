"""The events protocol over Socket.IO (Flask-SocketIO), and pushing events to clients.

On the namespace (``/events`` by default) a client emits ``event`` with one argument,
the envelope (an object or a JSON string); anything else is answered ``badProtocol``.
With an acknowledgement callback it gets the response event as the acknowledgement;
without one, the response is emitted back to it as ``event``.
At most ``EVENTS_SOCKET_MAX_IN_FLIGHT`` events of one client are handled at once; past
that an event is answered ``<name>:error`` (``TOO_MANY_IN_FLIGHT``) without running.
Pushes are emitted as ``event`` too, to one client, a room or everyone, from any
process that shares the Socket.IO message queue (Redis).
"""

from __future__ import annotations

import functools
import importlib.metadata
import inspect
import logging
import threading
from contextvars import ContextVar
from types import ModuleType
from typing import TYPE_CHECKING, Any, Optional

from flask import current_app, has_app_context, request

from ..codec import dumps, loads
from ..config import PUSH_TIMEOUT
from ..errors import BadProtocol, EventsError, PushFailed
from ..event import Event, without_auth
from ..extras import require
from ..signals import error_noticed, send
from .limits import InFlight, handle_limited
from .message_queue import bounded_publish, is_redis, listen_promptly, require_redis

if TYPE_CHECKING:
    from flask_socketio import SocketIO

    from ..dispatch import Dispatcher

__all__ = ["EventPusher", "bind_socketio", "push", "require_socketio"]

logger = logging.getLogger("flask_events")

#: The Socket.IO event name that carries envelopes, both ways.
MESSAGE = "event"


#: Whether the client asked for an acknowledgement of the message being handled.
_ack_requested: ContextVar[Optional[bool]] = ContextVar("flask_events.ack", default=None)


def bind_socketio(
    dispatcher: Dispatcher, socketio: SocketIO, namespace: str, *, name: Optional[str] = None
) -> None:
    """Answer envelopes emitted as ``event`` on ``namespace`` of ``socketio``.

    Only the ``event`` handler of ``namespace`` is registered, so the app's own
    ``connect`` and ``disconnect`` handlers there keep working, whether registered
    before or after; ``socketio.init_app(app)`` may come before or after too.

    :param name: who serves the namespace (the blueprint's full dotted name), for the
        message of a collision.
    :raises EventsError: something answers ``event`` on ``namespace`` of ``socketio``
        already (another events blueprint, or the app's own handler); or the installed
        python-socketio is not one Flask-Events supports.
    """
    _refuse_collision(socketio, namespace, name)
    _watch_acks()
    listen_promptly(_manager(socketio))  # pushes resume promptly after a Redis outage
    gate_key = f"flask_events.in_flight:{namespace}"

    def on_event(*args: Any) -> Optional[dict[str, Any]]:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        try:
            envelope = _as_envelope(args)
        except BadProtocol as error:
            reply = dispatcher.reject(error, sender=app, transport="socketio")
        else:
            gate = _connection_gate(gate_key)
            reply = handle_limited(gate, dispatcher, envelope, app=app, transport="socketio")
        answer: dict[str, Any] = loads(reply.body)  # plain JSON types, whatever the payload
        if _ack_requested.get() is False:
            socketio.emit(MESSAGE, answer, namespace=namespace, to=_current_sid())
            return None
        return answer

    setattr(on_event, _OWNER, name)  # Flask-SocketIO's wrapper copies it (functools.wraps)
    socketio.on_event(MESSAGE, on_event, namespace=namespace)


def _refuse_collision(socketio: SocketIO, namespace: str, name: Optional[str]) -> None:
    """Refuse to serve ``namespace`` of ``socketio`` where something answers ``event``
    already: python-socketio keeps one handler per event name, the last one wins.

    :raises EventsError: naming the events blueprint or the function found there.
    """
    for handler in _event_handlers(socketio, namespace):
        if hasattr(handler, _OWNER):
            owner = getattr(handler, _OWNER)
            there = f"events blueprint {owner!r}" if owner else "another events blueprint"
        else:
            func = getattr(handler, "__wrapped__", handler)
            module = getattr(func, "__module__", None) or "?"
            qualname = getattr(func, "__qualname__", None) or type(func).__qualname__
            there = f"the app's own handler {module}.{qualname}"
        who = f"events blueprint {name!r}" if name else "an events blueprint"
        raise EventsError(
            f"{who} cannot serve Socket.IO namespace {namespace!r}: "
            f"{there} answers {MESSAGE!r} there already; use another namespace for one"
        )


def _event_handlers(socketio: SocketIO, namespace: str) -> list[Any]:
    """What answers ``event`` on ``namespace``: the handlers Flask-SocketIO holds until
    ``init_app`` (``socketio.handlers``), its python-socketio server's after it, and
    class-based namespaces with an ``on_event`` method.
    """
    server = getattr(socketio, "server", None)
    found = [h for message, h, ns in socketio.handlers if (message, ns) == (MESSAGE, namespace)]
    spaces = [h for h in socketio.namespace_handlers if h.namespace == namespace]
    if server is not None:
        found.append(server.handlers.get(namespace, {}).get(MESSAGE))
        spaces.append(server.namespace_handlers.get(namespace))
    found += [space for space in spaces if hasattr(space, f"on_{MESSAGE}")]
    # (after init_app, a handler registered before it is in both places)
    return [handler for handler in dict.fromkeys(found) if handler is not None]


def push(
    socketio: SocketIO,
    event: Event,
    *,
    to: Optional[str],
    namespace: str,
    timeout: Optional[float] = PUSH_TIMEOUT,
) -> None:
    """Emit ``event`` (``auth`` emptied) as ``event`` to ``to`` (a client's sid or a
    room), or to every client of ``namespace`` when ``to`` is ``None``.

    With a Redis message queue, the clients of this process get it at once, and the
    other processes through Redis: connecting to Redis, sending and waiting for its
    answer take at most ``timeout`` seconds together (``None``: no limit). When Redis
    cannot be reached, does not answer in time, or answers that no server process is
    subscribed, :class:`~flask_events.PushFailed` is sent to
    :data:`~flask_events.signals.error_noticed` subscribers (transport
    ``"socketio"``; the sender is the current app, ``None`` outside an app context)
    and raised. Without a message queue, or with one of another kind, it is
    Flask-SocketIO's ``emit``.
    """
    app = _current_app_or_none()  # values msgspec cannot encode go to its JSON provider
    data = loads(dumps(without_auth(event), getattr(getattr(app, "json", None), "default", None)))
    manager = _manager(socketio)
    if not is_redis(manager):
        socketio.emit(MESSAGE, data, namespace=namespace, to=to)
        return
    with bounded_publish(manager, timeout) as outcome:
        socketio.emit(MESSAGE, data, namespace=namespace, to=to)
    if outcome.failure is not None:
        error = PushFailed(f"Push not delivered: {outcome.failure}", to=to, namespace=namespace)
        send(error_noticed, _current_app_or_none(), error=error, transport="socketio")
        raise error from outcome.cause


def require_socketio(feature: str) -> ModuleType:
    """Flask-SocketIO's module, for ``feature`` (``"attach_socketio"``).

    :raises ~flask_events.MissingDependency: it is not installed (naming the
        ``socketio`` extra).
    """
    return require("flask_socketio", feature)


class EventPusher:
    """Push events from a process that runs no server, through the message queue.

    :param message_queue: the URL the servers' ``SocketIO(message_queue=...)`` use,
        e.g. ``"redis://127.0.0.1:6379/0"``.
    :param namespace: the events namespace of the servers.
    :param timeout: with Redis, the most seconds a push waits for Redis in all:
        connecting, sending and its answer together (``None``: no limit).
    :raises ~flask_events.MissingDependency: Flask-SocketIO is not installed (the
        ``socketio`` extra), or the Redis client with a Redis URL (``redis``).
    """

    def __init__(
        self,
        message_queue: str,
        namespace: str = "/events",
        *,
        timeout: Optional[float] = PUSH_TIMEOUT,
    ) -> None:
        require_redis(message_queue, "EventPusher with a Redis message queue")
        self.socketio = require_socketio("EventPusher").SocketIO(message_queue=message_queue)
        self.namespace = namespace
        self.timeout = timeout

    def push(self, event: Event, to: Optional[str] = None) -> None:
        """Emit ``event`` to a client (sid), a room, or everyone (``None``).

        :raises ~flask_events.PushFailed: Redis could not be reached, did not answer
            within ``timeout``, or no server process is subscribed to it.
        """
        push(self.socketio, event, to=to, namespace=self.namespace, timeout=self.timeout)


def _manager(socketio: SocketIO) -> Any:
    """The python-socketio client manager of ``socketio`` (``None`` before ``init_app``)."""
    return getattr(getattr(socketio, "server", None), "manager", None)


def _current_app_or_none() -> Any:
    """The current app (a signal's sender), or ``None`` outside an app context."""
    return current_app._get_current_object() if has_app_context() else None  # type: ignore[attr-defined]


def _as_envelope(args: tuple[Any, ...]) -> Any:
    """The one argument of an ``event`` message as :func:`~flask_events.parse_event`
    reads it: a JSON string or bytes as they are, an object encoded as JSON.

    :raises BadProtocol: the message has no argument, or more than one, or an object
        that carries binary attachments (``bytes`` inside it: not JSON).
    """
    if len(args) != 1:
        reason = f"emit one envelope per event, not {len(args)} arguments"
        raise BadProtocol(parameters={"message": reason})
    data = args[0]
    if not isinstance(data, (dict, list)):
        return data if data is not None else b""
    if _carries_binary(data):
        reason = "binary attachments are not JSON: send the envelope as JSON"
        raise BadProtocol(parameters={"message": reason})
    # python-socketio decoded the message with the json module, which lets through
    # what the other transports refuse (lone surrogates such as "\ud800"): encoded
    # again, the envelope takes the same path as a WebSocket message.
    try:
        return dumps(data)
    except TypeError:
        reason = "the envelope cannot be JSON text (a lone surrogate, or nested too deeply)"
        raise BadProtocol(parameters={"message": reason}) from None


#: The types of JSON's scalars: nothing inside them to look at.
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _carries_binary(value: Any) -> bool:
    """Whether ``bytes`` sit anywhere inside ``value``, a dict or a list (dicts and
    lists, any depth).

    Once per event, so the common types are told by their exact type first (what the
    json module decodes to), and only dicts and lists are stacked.
    """
    stack = [value]
    while stack:
        item = stack.pop()
        for child in item.values() if isinstance(item, dict) else item:
            kind = type(child)
            if kind in _SCALARS:
                continue
            if kind is dict or kind is list or isinstance(child, (dict, list)):
                stack.append(child)
            elif isinstance(child, (bytes, bytearray)):
                return True
    return False


def _connection_gate(key: str) -> InFlight:
    """The in-flight count of the current client, under ``key`` (one per namespace).

    Kept in the connection's WSGI environ, which Flask-SocketIO hands to every event
    of the connection and which goes away with it. python-socketio runs each event
    in its own thread (``async_handlers=True``, the default), so several of one
    client's events can be in flight at once: the first of them to find no count
    adds one with ``setdefault`` (atomic), the others read it.
    """
    environ = request.environ
    gate: Optional[InFlight] = environ.get(key)
    if gate is None:
        gate = environ.setdefault(key, InFlight())
    return gate


def _current_sid() -> Optional[str]:
    return getattr(request, "sid", None)


#: The python-socketio releases :func:`_watch_acks` is tested with (pyproject.toml pins them).
SUPPORTED_PYTHON_SOCKETIO = ">=5.10,<5.19"

#: The attribute naming the events blueprint that an ``event`` handler belongs to.
_OWNER = "_flask_events_blueprint"

_PRIVATE_SIGNATURE = ("self", "server", "sid", "eio_sid", "data", "namespace", "id")
_install_lock = threading.Lock()


def _watch_acks() -> None:
    """Let the ``event`` handler know whether the client asked for an acknowledgement.

    python-socketio decides that after the handler returns (``id is not None``) and has
    no public way to tell the handler, so this wraps its PRIVATE method
    ``socketio.Server._handle_event_internal(self, server, sid, eio_sid, data,
    namespace, id)``, which calls the handler in the same thread, to record it in a
    context variable. Installed once per process, on the class, so that servers
    created before or after (``init_app``) have it.

    :raises EventsError: the installed python-socketio lacks that method, or changed
        its signature: better than answering every event as an acknowledgement.
    """
    python_socketio = require("socketio", "attach_socketio", extra="socketio")
    server_class = python_socketio.Server
    with _install_lock:
        original: Any = getattr(server_class, "_handle_event_internal", None)
        if getattr(original, "_flask_events", False):
            return
        try:
            parameters = tuple(inspect.signature(original).parameters)
        except (TypeError, ValueError):
            parameters = ()
        if parameters != _PRIVATE_SIGNATURE:
            version = importlib.metadata.version("python-socketio")
            raise EventsError(
                f"python-socketio {version} is not supported: Flask-Events needs "
                f"python-socketio{SUPPORTED_PYTHON_SOCKETIO}, whose private "
                "Server._handle_event_internal tells acknowledged events from the others"
            )

        @functools.wraps(original)
        def handle_event_internal(
            self: Any, server: Any, sid: str, eio_sid: str, data: Any, namespace: str, id_: Any
        ) -> Any:
            token = _ack_requested.set(id_ is not None)
            try:
                return original(self, server, sid, eio_sid, data, namespace, id_)
            finally:
                _ack_requested.reset(token)

        handle_event_internal._flask_events = True  # type: ignore[attr-defined]
        server_class._handle_event_internal = handle_event_internal
