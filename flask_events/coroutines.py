"""Running ``async def`` handlers from synchronous code, without the user wiring a loop.

Each thread keeps one event loop and runs coroutines to completion on it, so loop-bound
resources (clients, pools) created by handlers stay usable from one event to the next
in that thread; the loop is closed when the thread ends. Transport-free.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Coroutine, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["gather_bounded", "run"]

T = TypeVar("T")

_local = threading.local()
_helper: ThreadPoolExecutor | None = None
_helper_lock = threading.Lock()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion and return its result.

    Uses this thread's loop; if a loop is already running in this thread (the caller
    is itself async), the coroutine runs on a helper thread's loop instead. The
    current context (Flask's app and request contexts included) is carried over.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _thread_loop().run_until_complete(coroutine)

    context = contextvars.copy_context()
    future: Future[T] = _helper_pool().submit(context.run, run, coroutine)  # type: ignore[arg-type]
    return future.result()


async def gather_bounded(awaitables: Iterable[Awaitable[T]], limit: int) -> list[T]:
    """Await all ``awaitables`` concurrently, at most ``limit`` at once; results in order."""
    semaphore = asyncio.Semaphore(max(1, limit))

    async def bounded(awaitable: Awaitable[T]) -> T:
        async with semaphore:
            return await awaitable

    return list(await asyncio.gather(*(bounded(a) for a in awaitables)))


class _LoopHolder:
    """A thread's event loop, closed when the thread ends.

    Held only by the thread's :data:`_local`, which CPython drops when the thread
    ends; the loop itself sits in reference cycles (its selector, its self-pipe), so
    without this it would keep its three file descriptors until the garbage
    collector ran.
    """

    __slots__ = ("loop",)

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        if not self.loop.is_running():
            self.loop.close()


def _thread_loop() -> asyncio.AbstractEventLoop:
    holder: _LoopHolder | None = getattr(_local, "holder", None)
    if holder is None or holder.loop.is_closed():
        holder = _local.holder = _LoopHolder()
    return holder.loop


def _helper_pool() -> ThreadPoolExecutor:
    global _helper
    with _helper_lock:
        if _helper is None:
            _helper = ThreadPoolExecutor(thread_name_prefix="flask-events-async")
        return _helper
