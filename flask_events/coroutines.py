"""Running ``async def`` handlers from synchronous code, without the user wiring a loop.

Each thread keeps one event loop and runs coroutines to completion on it, so loop-bound
resources (clients, pools) created by handlers stay usable from one event to the next
in that thread; the loop is closed when the thread ends. Tasks a coroutine spawned and
left pending are cancelled, and awaited, when it returns, as :func:`asyncio.run` does:
none lingers into the next event. Transport-free.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import sys
import threading
import weakref
from collections.abc import Awaitable, Coroutine, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["gather_bounded", "run"]

T = TypeVar("T")

_local = threading.local()
_helper: ThreadPoolExecutor | None = None
_closing_at_exit = False
_lock = threading.Lock()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion and return its result.

    Uses this thread's loop; if a loop is already running in this thread (the caller
    is itself async), the coroutine runs on a helper thread's loop instead. Under
    gevent (``threading`` monkey-patched), it always runs on one of gevent's native
    threads (``gevent.get_hub().threadpool``), each with its own loop. The
    current context (Flask's app and request contexts included) is carried over.
    Once ``coroutine`` has returned (or raised), the tasks still pending on the loop
    (spawned by it and not awaited) are cancelled and awaited, as :func:`asyncio.run`
    does; an exception other than the cancellation that one of them ends with goes
    to the loop's exception handler (logged by the ``asyncio`` logger).
    """
    native = _gevent_threadpool()
    if native is not None:
        # gevent patched threading: every greenlet shares this OS thread, and asyncio
        # keeps one running loop per OS thread, so one greenlet's loop would be seen
        # as running by the next, forever handed on. A native thread of gevent's runs
        # the coroutine on its own loop; this greenlet waits without blocking others.
        # The outcome, not the exception, crosses back: the pool would print it.
        ok, outcome = native.apply(contextvars.copy_context().run, (_outcome, coroutine))
        if not ok:
            raise outcome
        return outcome  # type: ignore[no-any-return]
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_here(coroutine)

    context = contextvars.copy_context()
    future: Future[T] = _helper_pool().submit(context.run, run, coroutine)  # type: ignore[arg-type]
    return future.result()


def _run_here(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on this thread's loop, then cancel what it left pending."""
    loop = _thread_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        _cancel_leftovers(loop)


def _outcome(coroutine: Coroutine[Any, Any, T]) -> tuple[bool, Any]:
    """:func:`_run_here`'s result as ``(True, value)``, or ``(False, exception)``:
    gevent's threadpool prints every exception that leaves a task, the traceback of
    each async handler that raises (a protocol error's too), then raises it again.
    """
    try:
        return True, _run_here(coroutine)
    except BaseException as exc:  # re-raised by the caller, in the greenlet
        return False, exc


def patched_gevent() -> Any:
    """The :mod:`gevent` module when it has monkey-patched ``threading`` (a gunicorn
    ``-k gevent`` worker); ``None`` otherwise. gevent is never imported here: it is
    found in :data:`sys.modules`, where the patching put it.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is None or not monkey.is_module_patched("threading"):
        return None
    return sys.modules["gevent"]


def _gevent_threadpool() -> Any:
    """gevent's pool of native threads under :func:`patched_gevent`; else ``None``."""
    gevent = patched_gevent()
    return None if gevent is None else gevent.get_hub().threadpool


async def gather_bounded(awaitables: Iterable[Awaitable[T]], limit: int) -> list[T]:
    """Await all ``awaitables`` concurrently, at most ``limit`` at once; results in order."""
    semaphore = asyncio.Semaphore(max(1, limit))

    async def bounded(awaitable: Awaitable[T]) -> T:
        async with semaphore:
            return await awaitable

    return list(await asyncio.gather(*(bounded(a) for a in awaitables)))


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the tasks pending on ``loop`` (not running) and wait for them to end."""
    tasks = asyncio.all_tasks(loop)
    if not tasks:
        return
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception in a task an async handler left running",
                    "exception": task.exception(),
                    "task": task,
                }
            )


class _LoopHolder:
    """A thread's event loop, closed when the thread ends, or at exit.

    Held only by the thread's :data:`_local`, which CPython drops when the thread
    ends; the loop itself sits in reference cycles (its selector, its self-pipe), so
    without this it would keep its three file descriptors until the garbage
    collector ran. The main thread (and a daemon thread still alive at exit) ends
    only as the interpreter tears itself down, too late to close a loop cleanly (its
    sockets may be gone first: ``ResourceWarning: unclosed event loop``), so
    :func:`_close_idle_loops` closes those loops at exit.
    """

    __slots__ = ("__weakref__", "loop")

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        """Close the loop, unless it is running (or closed already)."""
        if not self.loop.is_running() and not self.loop.is_closed():
            self.loop.close()


#: The holders of loops not closed yet, for :func:`_close_idle_loops`.
_holders: weakref.WeakSet[_LoopHolder] = weakref.WeakSet()


def _thread_loop() -> asyncio.AbstractEventLoop:
    holder: _LoopHolder | None = getattr(_local, "holder", None)
    if holder is None or holder.loop.is_closed():
        holder = _local.holder = _LoopHolder()
        with _lock:
            global _closing_at_exit
            if not _closing_at_exit:
                atexit.register(_close_idle_loops)
                _closing_at_exit = True
            _holders.add(holder)
    return holder.loop


def _close_idle_loops() -> None:
    """At exit: close the loops of the threads that are still alive (the main one)."""
    with _lock:
        holders = list(_holders)
    for holder in holders:
        holder.close()


def _helper_pool() -> ThreadPoolExecutor:
    """The threads that run coroutines for callers that run a loop themselves.

    Not shut down explicitly: :mod:`concurrent.futures` ends its threads at exit
    (before :mod:`atexit` callbacks run), and each thread's loop is closed as the
    thread ends.
    """
    global _helper
    with _lock:
        if _helper is None:
            _helper = ThreadPoolExecutor(thread_name_prefix="flask-events-async")
        return _helper
