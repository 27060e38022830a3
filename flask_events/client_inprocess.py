"""Sending events to a Flask app in this process, internals of
:mod:`flask_events.client`: the sync client uses httpx's WSGI transport as it is; the
async one, :class:`AsyncWSGITransport`, runs it on a worker thread so a slow handler
never blocks the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import httpx


class AsyncWSGITransport(httpx.AsyncBaseTransport):
    """httpx's :class:`~httpx.WSGITransport` for an async client: each request runs
    the WSGI app on a thread of the loop's default executor, with a fresh context (as
    on a server), and its whole answer is read there.

    :param app: a WSGI app (a Flask app).
    """

    def __init__(self, app: Any) -> None:
        self._wsgi = httpx.WSGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        content = await request.aread()
        sync_request = httpx.Request(
            request.method, request.url, headers=request.headers, content=content
        )
        loop = asyncio.get_running_loop()
        status, headers, body = await loop.run_in_executor(None, self._call, sync_request)
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))

    def _call(self, request: httpx.Request) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        response = self._wsgi.handle_request(request)
        try:
            body = b"".join(response.stream)  # type: ignore[arg-type]
        finally:
            response.close()
        return response.status_code, response.headers.raw, body


def sync_transport(
    app: Any, transport: Optional[httpx.BaseTransport]
) -> Optional[httpx.BaseTransport]:
    """The sync client's transport: ``app`` in process, or ``transport`` (not both)."""
    if app is not None and transport is not None:
        raise TypeError("give app= or transport=, not both")
    return httpx.WSGITransport(app=app) if app is not None else transport


def async_transport(
    app: Any, transport: Optional[httpx.AsyncBaseTransport]
) -> Optional[httpx.AsyncBaseTransport]:
    """The async client's transport: ``app`` in process, or ``transport`` (not both)."""
    if app is not None and transport is not None:
        raise TypeError("give app= or transport=, not both")
    return AsyncWSGITransport(app) if app is not None else transport
