"""Under gevent, a socket connection's events run as greenlets of their own.

When gevent has monkey-patched :mod:`threading` (a gunicorn ``-k gevent`` worker),
threads are greenlets already, but a :class:`~concurrent.futures.ThreadPoolExecutor`
still hands each event through its queue to one of its workers, and keeps its idle
workers until it is shut down. :class:`GreenletPool` has the two methods the
WebSocket connection uses (``submit``, ``shutdown``) with the same rules (at most
``size`` at once, the others wait in order; ``submit`` never blocks; after
``shutdown`` it raises :class:`RuntimeError`), and spawns a greenlet per event that
ends once no event waits. gevent is never imported here
(:func:`~flask_events.coroutines.patched_gevent`).
"""

from __future__ import annotations

import collections
import logging
import selectors
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional, Protocol

from ..coroutines import patched_gevent
from ..errors import EventsError

logger = logging.getLogger("flask_events")

__all__ = ["Executor", "GreenletPool", "ReadSelector", "executor"]


class Executor(Protocol):
    """What a connection needs of its pool."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any: ...

    def shutdown(self, wait: bool = True) -> None: ...


def executor(size: int, thread_name_prefix: str) -> Executor:
    """A pool running at most ``size`` tasks at once: greenlets under gevent, else
    threads (named with ``thread_name_prefix``).
    """
    gevent = patched_gevent()
    if gevent is not None:
        return GreenletPool(gevent, size)
    return ThreadPoolExecutor(size, thread_name_prefix=thread_name_prefix)


class GreenletPool:
    """Each task a greenlet spawned for it, at most ``size`` at once; a task past
    that waits and runs, in order, in the first greenlet to finish its own.

    Not thread-safe, and need not be: under gevent all its callers are greenlets of
    one OS thread, switching only where they block.
    """

    def __init__(self, gevent: Any, size: int) -> None:
        self._gevent = gevent
        self._size = size
        self._running: set[Any] = set()
        self._waiting: collections.deque[tuple[Callable[..., Any], tuple[Any, ...]]]
        self._waiting = collections.deque()
        self._shut = False

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> None:
        """Run ``fn(*args)`` in a new greenlet, or once one finishes if ``size`` run.

        :raises RuntimeError: the pool is shut down.
        """
        if self._shut:
            raise RuntimeError("cannot schedule new tasks after shutdown")
        if len(self._running) >= self._size:
            self._waiting.append((fn, args))
            return
        self._running.add(self._gevent.spawn(self._run, fn, args))

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            while True:
                try:
                    fn(*args)
                except Exception:  # as an executor would keep it: the next task runs
                    logger.exception("a task of a connection's greenlet pool failed")
                if not self._waiting:
                    return
                fn, args = self._waiting.popleft()
        finally:
            self._running.discard(self._gevent.getcurrent())

    def shutdown(self, wait: bool = True) -> None:
        """Take no more tasks; with ``wait``, return once every task has run."""
        self._shut = True
        while wait and self._running:
            self._gevent.joinall(list(self._running))


class _TimedOut(EventsError):
    """A :class:`ReadSelector`'s wait ran out (never seen outside it)."""


class ReadSelector:
    """simple-websocket's ``selector_class`` under gevent.

    With pings on, simple-websocket's reading thread waits for its one socket to be
    readable, at most until the next ping, before every read. gevent's
    ``DefaultSelector`` builds its watchers again on each of those waits (about 17 µs
    of the worker per message); this one keeps one watcher for the socket's life.
    Only what simple-websocket calls is here: ``register`` (once, for reading),
    ``select`` and ``close``.
    """

    def __init__(self) -> None:
        self._gevent = patched_gevent()
        self._watcher: Any = None
        self._ready: list[tuple[selectors.SelectorKey, int]] = []
        self._timed_out = _TimedOut()

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        """Watch ``fileobj`` for reading (``events`` must be ``EVENT_READ``)."""
        if events != selectors.EVENT_READ or self._watcher is not None:
            raise ValueError("a ReadSelector watches one socket for reading")
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        key = selectors.SelectorKey(fileobj, fd, events, data)
        self._watcher = self._gevent.get_hub().loop.io(fd, 1)  # 1: readable
        self._ready = [(key, selectors.EVENT_READ)]
        return key

    def select(self, timeout: Optional[float] = None) -> list[tuple[selectors.SelectorKey, int]]:
        """Wait until the socket is readable (its key) or ``timeout`` passes (``[]``)."""
        try:
            self._gevent.socket.wait(self._watcher, timeout, self._timed_out)
        except _TimedOut as timed_out:
            # raised again at the next ping: its traceback would keep this wait's
            # frames alive meanwhile, long-lived objects that make the garbage
            # collector's full pass come (hundreds of ms with thousands of connections)
            timed_out.__traceback__ = None
            return []
        return self._ready

    def close(self) -> None:
        """Stop watching the socket."""
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None
