"""Pushes through a Redis message queue that fail fast and visibly, and a Redis
listener that comes back promptly.

Left to itself, python-socketio's ``RedisManager`` publishes with the Redis client's
defaults (5 s socket timeouts, several retries) twice, then only logs a failure: a
push to a stopped Redis returned as if delivered, and one to a hung Redis blocked its
caller 10 to 20 s. Its listener thread waits 1, 2, 4 ... up to 60 s between attempts to
reconnect, and what is published meanwhile reaches nobody.

Here, inside :func:`bounded_publish`, the manager publishes through a Redis client of
our own that does not retry, in a worker thread the caller waits for at most the
timeout: connecting, sending and Redis's answer together, however slowly Redis
drips it. Past that, the client is disconnected and dropped, so that no later push
reads what is left of the answer. An error, the timeout or Redis's answer that no
process is subscribed is recorded for the caller
(:func:`~flask_events.transports.socketio.push` raises
:class:`~flask_events.PushFailed`). :func:`listen_promptly` makes a server's listener
try again every second. Everything else python-socketio publishes (room changes,
disconnections, the app's own ``emit``) goes its usual way.

Both lean on private methods of python-socketio's ``RedisManager`` (``_publish``,
``_redis_connect``, ``_redis_listen_with_retries``; present from python-socketio 5.9
on, tested with 5.18): it has no public hook for either. When they are missing, pushes and the
listener behave as python-socketio makes them, and a warning says so.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import urlparse

from ..extras import require

__all__ = ["Publishing", "bounded_publish", "is_redis", "listen_promptly", "require_redis"]

logger = logging.getLogger("flask_events")

#: Seconds a server's Redis listener waits before trying to reconnect.
RECONNECT_DELAY = 1.0

_SCHEMES = ("redis", "rediss", "unix")
_PRIVATE = ("_publish", "_redis_connect", "_redis_listen_with_retries")
_install_lock = threading.Lock()


@dataclass
class Publishing:
    """The outcome of the publishes made inside :func:`bounded_publish`."""

    timeout: Optional[float]
    #: Why publishing failed (``None``: it did not, or nothing was published).
    failure: Optional[str] = None
    #: The Redis client's exception, if one was raised.
    cause: Optional[BaseException] = None


_publishing: ContextVar[Optional[Publishing]] = ContextVar("flask_events.publishing", default=None)


def is_redis(manager: Any) -> bool:
    """Whether ``manager`` (a python-socketio client manager) is a Redis message
    queue (``redis://``, ``rediss://`` or ``unix://``) that we can bound.
    """
    url = getattr(manager, "redis_url", None)
    if not isinstance(url, str) or urlparse(url).scheme not in _SCHEMES:
        return False
    if not all(hasattr(manager, name) for name in _PRIVATE):
        if not getattr(manager, "_flask_events_warned", False):
            logger.warning("python-socketio changed: pushes through Redis are not bounded")
            manager._flask_events_warned = True
        return False
    return True


def require_redis(url: str, feature: str) -> None:
    """Check that the Redis client is installed if ``url`` is a Redis message queue
    (``redis://``, ``rediss://``), as Flask-SocketIO reads it.

    :raises ~flask_events.MissingDependency: it is not (naming the ``redis`` extra).
    """
    if urlparse(url).scheme.split("+")[0] in ("redis", "rediss"):
        require("redis", feature)


@contextlib.contextmanager
def bounded_publish(manager: Any, timeout: Optional[float]) -> Iterator[Publishing]:
    """Within the block, what ``manager`` publishes in this thread (or task) goes
    through a client, and each publish waits at most ``timeout`` seconds in all
    (``None``: no limit); the yielded :class:`Publishing` tells how it went.
    """
    _wrap_publish(manager)
    outcome = Publishing(timeout)
    token = _publishing.set(outcome)
    try:
        yield outcome
    finally:
        _publishing.reset(token)


def listen_promptly(manager: Any) -> None:
    """Make ``manager``'s listener, not started yet, reconnect every
    :data:`RECONNECT_DELAY` seconds instead of backing off to a minute.

    :raises ~flask_events.MissingDependency: the Redis client is not installed
        (python-socketio would only log, every second, that Redis is unreachable).
    """
    if not is_redis(manager) or getattr(manager, "_flask_events_listener", False):
        return
    require("redis", "A Socket.IO server with a Redis message queue")

    def listen_with_retries() -> Iterator[Any]:
        # python-socketio's own loop, without the doubling delay; one warning per outage.
        failing = False
        while True:
            try:
                manager._redis_connect()
                manager.pubsub.subscribe(manager.channel)
                if failing:
                    logger.info("the Socket.IO message queue is reachable again")
                    failing = False
                yield from manager.pubsub.listen()
            except Exception as exc:
                level = logging.DEBUG if failing else logging.WARNING
                logger.log(
                    level,
                    "the Socket.IO message queue is unreachable (%s); retrying every %g s",
                    type(exc).__name__,
                    RECONNECT_DELAY,
                )
                failing = True
                time.sleep(RECONNECT_DELAY)

    manager._redis_listen_with_retries = listen_with_retries
    manager._flask_events_listener = True


def _encoded(manager: Any, data: Any) -> Any:
    """``data`` as ``manager``'s own ``_publish`` writes it: with its JSON module
    (python-socketio 5.11 and later), or pickled (5.10, whose listeners read both).
    """
    json = getattr(manager, "json", None)
    return json.dumps(data) if json is not None else pickle.dumps(data)


def _wrap_publish(manager: Any) -> None:
    """Route ``manager``'s publishes inside :func:`bounded_publish` to a bounded
    client (once per manager); the others go to python-socketio's ``_publish``.
    """
    with _install_lock:
        original = manager._publish
        if getattr(original, "_flask_events", False):
            return
        clients: dict[Optional[float], Any] = {}

        def publish(data: Any) -> Any:
            outcome = _publishing.get()
            if outcome is None:
                return original(data)
            client = clients.get(outcome.timeout)
            if client is None:
                client = clients.setdefault(outcome.timeout, _client(manager, outcome.timeout))
            message = _encoded(manager, data)
            try:
                finished, receivers = _by_deadline(
                    outcome.timeout, client.publish, manager.channel, message
                )
            except Exception as exc:  # redis's ConnectionError, TimeoutError...
                outcome.failure = f"the message queue did not take it ({type(exc).__name__})"
                outcome.cause = exc
                return None
            if not finished:
                # The worker may be halfway through Redis's answer: no later push may
                # use that connection. Disconnecting wakes the worker (and fails the
                # publishes in flight on the same client, stuck on the same Redis).
                with contextlib.suppress(KeyError):
                    if clients[outcome.timeout] is client:
                        del clients[outcome.timeout]
                client.connection_pool.disconnect()
                outcome.failure = "the message queue did not take it (TimeoutError)"
                outcome.cause = TimeoutError(f"Redis took no publish within {outcome.timeout} s")
                return None
            if not receivers:
                outcome.failure = "no server process is subscribed to the message queue"
            return receivers

        publish._flask_events = True  # type: ignore[attr-defined]
        manager._publish = publish


def _by_deadline(
    timeout: Optional[float], call: Callable[..., Any], *args: Any
) -> tuple[bool, Any]:
    """Run ``call(*args)`` in a worker thread and wait for it at most ``timeout``
    seconds (``None``: in this thread, as long as it takes).

    :returns: ``(True, its result)``, or ``(False, None)`` once ``timeout`` has passed
        (the worker is left running).
    :raises Exception: what ``call`` raised in time.
    """
    if timeout is None:
        return True, call(*args)
    done = threading.Event()
    ended: list[tuple[bool, Any]] = []

    def work() -> None:
        try:
            ended.append((True, call(*args)))
        except BaseException as exc:  # handed to the caller, if it still waits
            ended.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=work, name="flask_events-publish", daemon=True).start()
    if not done.wait(max(timeout, 0.0)):
        return False, None
    returned, value = ended[0]
    if not returned:
        raise value
    return True, value


def _client(manager: Any, timeout: Optional[float]) -> Any:
    """A Redis client for ``manager``'s URL and options, with bounded waits and no
    retries.
    """
    redis = require("redis", "Pushing through a Redis message queue")
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    options = {
        **getattr(manager, "redis_options", {}),
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "retry": Retry(NoBackoff(), 0),
    }
    return redis.Redis.from_url(manager.redis_url, **options)
