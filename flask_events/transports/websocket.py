"""The events protocol over a raw WebSocket (simple-websocket).

Each text message is one envelope; each reply is one text message holding exactly the
response event the HTTP endpoint would answer. A connection may send many events
before reading: up to ``EVENTS_SOCKET_MAX_IN_FLIGHT`` of them are handled at once,
each in a thread of the connection's own pool (under gevent, a greenlet spawned for
it: :mod:`.greenlets`), and answered as they finish, so match
answers by ``id``/``flowId`` (with a limit of 1 they are handled one at a time and
answered in arrival order). Past the limit an event is answered at once with
``<name>:error`` (``TOO_MANY_IN_FLIGHT``) and not run.

The server options of a connection (its pings, simple-websocket's own cap on a
message) are read from the app's ``EVENTS_*`` configuration when the connection
opens; the app's ``SOCK_SERVER_OPTIONS`` (flask-sock's) are neither read nor changed.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import socket
import threading
from typing import TYPE_CHECKING, Any, Callable, Optional

from flask import Response, current_app, request
from simple_websocket import ConnectionClosed, Server
from wsproto.utilities import LocalProtocolError  # simple-websocket's protocol engine

from ..config import setting
from ..coroutines import patched_gevent
from ..errors import BadProtocol, EventsError
from .greenlets import Executor, ReadSelector, executor
from .limits import InFlight, admit, handle

if TYPE_CHECKING:
    from ..dispatch import Dispatcher

__all__ = ["UNLIMITED_THREADS", "ArrivalEvent", "server_options", "websocket_view_for"]

logger = logging.getLogger("flask_events")

#: RFC 6455 close codes.
MESSAGE_TOO_BIG = 1009
INTERNAL_ERROR = 1011

#: Seconds a connection closed by the server waits for the client's close reply
#: before shutting its socket down (as long as gunicorn's graceful close lingers).
CLOSE_TIMEOUT = 2.0

#: With ``EVENTS_SOCKET_MAX_IN_FLIGHT = None`` no event is refused, and a connection
#: handles at most this many at once (its own thread and its pool's); the others wait
#: for a thread.
UNLIMITED_THREADS = 100


def websocket_view_for(dispatcher: Dispatcher) -> Callable[[], Response]:
    """The view of the WebSocket endpoint (register it with ``websocket=True``)."""

    def events_websocket() -> Response:
        """One connection: receive envelopes and answer each, until it closes."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        ws = Server(request.environ, **server_options(app, dispatcher.config_prefix))
        # From here on, this mirrors flask-sock 0.7's ``Sock.route`` wrapper; an
        # exception that propagates (EVENTS_PROPAGATE_EXCEPTIONS) leaves it closed.
        try:
            with contextlib.suppress(ConnectionClosed):
                _Connection(ws, dispatcher, app).serve()
        finally:
            with contextlib.suppress(Exception):
                ws.close()
            _end_reader(ws)
        return _WebSocketDone(ws.mode)

    return events_websocket


def server_options(app: Any, prefix: str = "EVENTS_") -> dict[str, Any]:
    """simple-websocket's ``Server`` options for one connection, from ``app``'s
    configuration read through ``prefix`` (the blueprint's ``config_prefix``).

    simple-websocket's own cap on a message is far above ours: past ours the message
    is still read, to answer ``badProtocol``; past its cap the socket just closes.
    Under gevent its reading thread waits between pings on a
    :class:`~flask_events.transports.greenlets.ReadSelector`.
    """
    limit = setting(app, "EVENTS_WEBSOCKET_MAX_MESSAGE_SIZE", prefix)
    return {
        "ping_interval": setting(app, "EVENTS_WEBSOCKET_PING_INTERVAL", prefix),
        "max_message_size": None if limit is None else 4 * limit + 1024,
        "event_class": ArrivalEvent,
        **({"selector_class": ReadSelector} if patched_gevent() else {}),
    }


def _end_reader(ws: Server) -> None:
    """Give the client :data:`CLOSE_TIMEOUT` seconds to answer the close, then shut
    the socket down: simple-websocket's reader (``ws.thread``) waits for the answer,
    and under threads the server's own close of the socket does not wake it (with
    pings off, a silent client held a thread and the socket for good).
    """
    ws.thread.join(CLOSE_TIMEOUT)
    if ws.thread.is_alive():
        with contextlib.suppress(OSError):
            ws.sock.shutdown(socket.SHUT_RDWR)  # the reader sees the end, and ends


class _WebSocketDone(Response):
    """The view's return value once the connection is over: tells the WSGI server that
    the socket was handled (flask-sock 0.7's ``WebSocketResponse``).
    """

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def __call__(self, environ: Any, start_response: Any) -> Any:
        if self.mode == "werkzeug":
            return super().__call__(environ, start_response)
        if self.mode == "gunicorn":
            raise StopIteration()
        if self.mode == "eventlet":  # pragma: no cover - not among the tested servers
            from eventlet import wsgi  # type: ignore[import-not-found]

            local = getattr(wsgi, "WSGI_LOCAL", None)
            if local is None:  # an older eventlet
                return wsgi.ALREADY_HANDLED
            if hasattr(local, "already_handled"):
                local.already_handled = True
            return []
        return []  # pragma: no cover - gevent


class ArrivalEvent(threading.Event):
    """The ``event_class`` Flask-Events gives simple-websocket: a
    :class:`threading.Event` that also tells the connection when a message arrives,
    so that a reader is woken only when one is needed, and ends the wait of a reader
    once the connection has closed the socket itself (:meth:`end`).
    """

    on_set: Optional[Callable[[], None]] = None
    ended = False

    def set(self) -> None:
        super().set()
        hook = self.on_set
        if hook is not None:
            hook()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait for a message, as :class:`threading.Event` does.

        :raises ConnectionClosed: the connection ended (:meth:`end`), now or while
            waiting.
        """
        if self.ended:
            raise ConnectionClosed()
        arrived = super().wait(timeout)
        if self.ended:
            raise ConnectionClosed()
        return arrived

    def end(self) -> None:
        """Wake the reader for good: the server closed the connection. Without it a
        reader could wait until the client answers the close, since simple-websocket
        may mark the connection open again after the close (it stores whether to go
        on once it has handled what it read, meanwhile a reader may have closed).
        """
        self.ended = True
        threading.Event.set(self)  # no hook: the connection is over


class _Closed(EventsError):
    """The connection is closed: stop reading."""


class _Connection:
    """One WebSocket connection: its reader, its events in flight, its pool.

    Design (leader/follower). Why: bench (e) — a thread per message, or a reader
    thread handing messages to workers, costs a hand-off per event; here the thread
    that reads an event handles it. The invariants, each with its test in
    ``tests/test_websocket_design.py`` (named after it):

    1. *One reader*: at most one thread waits in ``ws.receive()`` at a time; the
       ``_reader`` flag, under ``_lock``, says whether a thread reads or is about to
       (set before the arrival hook is installed). Only :meth:`_start_waiting` polls
       besides (``timeout=0``, it never waits).
    2. *The reader handles what it reads*: no hand-off on the way in. Before handling,
       it admits the messages already waiting, each started in a pool thread; a lone
       event is read and handled by the connection's own thread, which starts no
       other (as a plain loop would).
    3. *Only handlers block, and never the reading*: while the reader handles, a
       message that arrives (:class:`ArrivalEvent`'s hook) summons one pool thread to
       read, so a slow or blocked handler never holds up the others. Answers are
       sent under ``_send_lock``, one whole message each (tested by
       ``test_many_events_in_flight_on_one_connection_each_answered_once``).
    4. *Close drains*: when the connection closes (the client, a message over the
       limit: 1009, or an exception escaping an event: 1011), the view returns only
       once the events in flight are done (the pool is shut down with
       ``wait=True``); their answers are dropped, and the first exception is raised
       or logged after them. When the server closes it, a thread waiting to read is
       woken (:meth:`ArrivalEvent.end`), so that the view does not wait for the client
       (``test_a_websocket_handlers_exception_propagates_out_of_the_view``;
       ``tests/test_websocket_gevent.py``).
    5. *In order with one in flight*: with ``EVENTS_SOCKET_MAX_IN_FLIGHT = 1`` there
       is no pool: the connection's own thread reads and handles one event at a
       time, and answers in arrival order. Past any other limit an event is answered
       ``TOO_MANY_IN_FLIGHT`` at once and not run
       (``test_websocket_events_in_flight_are_capped_per_connection``).

    Under gevent (``threading`` monkey-patched) the pool is a
    :class:`~flask_events.transports.greenlets.GreenletPool`: the same rules, each
    event started in a greenlet spawned for it, with no queue or idle worker in
    between (``tests/test_websocket_gevent.py``).
    """

    def __init__(self, ws: Server, dispatcher: Dispatcher, app: Any) -> None:
        self.ws = ws
        self.dispatcher = dispatcher
        self.app = app
        self.gate = InFlight()
        self._pool: Optional[Executor] = None
        self._context = contextvars.copy_context()  # the app and request contexts
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._reader = False  # whether a thread reads, or is about to
        self._send_lock = threading.Lock()
        self._failure: Optional[Exception] = None  # the first, of any pool thread

    def serve(self) -> None:
        """Read and answer until the connection closes; then wait for the events
        still being handled (their answers are dropped if the client has gone).

        An exception that escapes an event (a handler's, when the app propagates
        them; or a bug) ends the connection: it is raised here once the events in
        flight are done, when the app propagates exceptions, and logged otherwise.

        The limit of events in flight decides, when the connection opens, whether it
        handles them in order and how many threads its pool may have.
        """
        limit = setting(self.app, "EVENTS_SOCKET_MAX_IN_FLIGHT", self.dispatcher.config_prefix)
        if limit == 1:
            self._serve_in_order()
        else:
            self._serve_at_once(limit)
        failure = self._failure
        if failure is not None:
            if self.dispatcher.settings(self.app).propagate_exceptions:
                raise failure
            logger.error("WebSocket connection failed; closing it", exc_info=failure)

    def _serve_at_once(self, limit: Optional[int]) -> None:
        # ``limit`` events being handled, a reader, and one returning to the pool; with
        # no limit, the pool's threads and this one bound the events handled at once
        threads = UNLIMITED_THREADS - 1 if limit is None else limit + 2
        self._pool = executor(threads, thread_name_prefix="flask-events-ws")
        try:
            with self._lock:
                self._reader = True  # before the hook: it must not summon a second reader
            self.ws.event.on_set = self._summon_reader
            self._work(None)  # this thread reads first, and waits once another does
            self._closed.wait()
        finally:
            self.ws.event.on_set = None
            self._pool.shutdown(wait=True)

    def _serve_in_order(self) -> None:
        try:
            while True:
                message = self.ws.receive()
                if message is not None and self._admitted(message):
                    self._answer(message)
        except (_Closed, ConnectionClosed):
            pass
        except Exception as exc:
            self._fail(exc)

    def _start(self, message: Optional[str]) -> None:
        """Run :meth:`_work` in the pool (``message``: admitted, to handle first)."""
        assert self._pool is not None
        with contextlib.suppress(RuntimeError):  # shut down: the connection is over
            self._pool.submit(self._context.copy().run, self._work, message)

    def _summon_reader(self) -> None:
        """A message arrived (or the connection closed): make sure a thread reads."""
        with self._lock:
            if self._reader or self._closed.is_set():
                return
            self._reader = True
        self._start(None)

    def _work(self, message: Optional[str]) -> None:
        """A pool thread: handle ``message`` (admitted already), or read one if it is
        the summoned reader; go on reading while no other thread does.
        """
        reader = message is None  # summoned: the reader role is reserved for it
        try:
            while True:
                if message is None:
                    message = self._receive(reserved=reader)
                    if message is None:
                        return  # another thread reads
                    reader = False
                    if not self._admitted(message):
                        message = None
                        continue
                    self._start_waiting()
                self._answer(message)
                message = None
        except (_Closed, ConnectionClosed):
            self._closed.set()
        except Exception as exc:
            self._fail(exc)

    def _fail(self, error: Exception) -> None:
        """End this connection, and only this one: close it (1011), so that the reader
        stops too, and keep the first error for :meth:`serve`.
        """
        with self._lock:
            self._failure = self._failure or error
        self._close(INTERNAL_ERROR, "internal error")

    def _close(self, code: int, reason: str) -> None:
        """Close the connection from this side (unless it is closing already) and
        wake a reader that waits for a message. An answer being sent goes first: no
        frame may follow the close, and simple-websocket builds a frame before it
        writes it.
        """
        self._closed.set()
        with self._send_lock, contextlib.suppress(ConnectionClosed, LocalProtocolError, OSError):
            self.ws.close(code, reason)
        self.ws.event.end()

    def _receive(self, reserved: bool) -> Optional[str]:
        """Become the reader (unless another thread is) and wait for a message."""
        with self._lock:
            if self._reader and not reserved:
                return None
            self._reader = True
        try:
            while True:
                message = self.ws.receive()
                if message is not None:
                    return message  # type: ignore[no-any-return]
        finally:
            with self._lock:
                self._reader = False

    def _start_waiting(self) -> None:
        """Admit the messages already waiting, each handled in a thread of its own.

        simple-websocket's buffer is looked at first: ``receive(timeout=0)`` on an
        empty one waits on the arrival event with a timeout, which under gevent
        starts and fires a timer (about 30 µs of the worker per event).
        """
        while self.ws.input_buffer:
            try:
                message = self.ws.receive(timeout=0)
            except ConnectionClosed:
                return  # the reader will see it
            if message is None:
                return
            if self._admitted(message):
                self._start(message)

    def _admitted(self, message: Any) -> bool:
        """Whether ``message`` is an event to handle; answer it here if not.

        :raises _Closed: the message was too big and the connection is now closed.
        """
        if isinstance(message, (bytes, bytearray)):
            self._reject("binary messages are not events: send the envelope as text")
            return False
        prefix = self.dispatcher.config_prefix
        limit = setting(self.app, "EVENTS_WEBSOCKET_MAX_MESSAGE_SIZE", prefix)
        # len() counts characters: encode only when it could be over the limit
        if limit is not None and len(message) > limit // 4 and _size(message) > limit:
            reason = f"the message is larger than {limit} bytes"
            self._reject(reason)
            self._close(MESSAGE_TOO_BIG, reason)
            raise _Closed()
        refusal = admit(self.gate, self.dispatcher, message, app=self.app, transport="websocket")
        if refusal is not None:
            self._send(refusal.body)
            return False
        return True

    def _answer(self, message: str) -> None:
        try:
            reply = handle(self.dispatcher, message, app=self.app, transport="websocket")
            self._send(reply.body)
        finally:
            self.gate.leave()

    def _reject(self, reason: str) -> None:
        error = BadProtocol.unreadable(reason)
        self._send(self.dispatcher.reject(error, sender=self.app, transport="websocket").body)

    def _send(self, body: bytes) -> None:
        """Send one answer; an answer to a connection that is closed or closing is
        dropped, with a debug line that does not quote it.

        simple-websocket marks a connection closed only after its closing handshake
        is under way; a send in between is refused by wsproto with a
        ``LocalProtocolError`` whose message holds the whole answer.
        """
        try:
            with self._send_lock:
                if self._closed.is_set():  # no frame after the close, whatever
                    raise ConnectionClosed()  # simple-websocket says (1.0 may not)
                self.ws.send(body.decode("utf-8"))
        except (ConnectionClosed, LocalProtocolError, OSError):
            logger.debug("WebSocket answer dropped (%d bytes): connection closed", len(body))


def _size(message: str) -> int:
    return len(message.encode("utf-8", "surrogatepass"))
