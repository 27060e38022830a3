"""The client's limits, internals of :mod:`flask_events.client`: :class:`AnswerBody`
reads an answer within the size limit and the deadline (decompressing gzip and
deflate); :func:`add_deadline` makes every socket operation of the sync client end by
the deadline set in :data:`current_deadline`.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any, Optional

import httpcore
import httpx

from .client_errors import InvalidResponse, RequestTimeout, ResponseTooLarge

#: The most bytes decompressed at once.
_PIECE = 64 * 1024


class AnswerBody:
    """An answer's body, read chunk by chunk as received: gzip and deflate decompressed
    (other encodings kept as received), within the size limit and the deadline.
    """

    def __init__(
        self,
        url: str,
        response: httpx.Response,
        deadline: Optional[float],
        limit: Optional[int],
    ) -> None:
        self._url, self._status, self._deadline, self._limit = (
            url,
            response.status_code,
            deadline,
            limit,
        )
        self._chunks: list[bytes] = []
        self._received = self._size = 0
        length = response.headers.get("Content-Length", "")
        if limit is not None and length.isdigit() and int(length) > limit:
            raise ResponseTooLarge(url, self._status, limit)
        encoding = response.headers.get("Content-Encoding", "").strip().lower()
        # 32 + MAX_WBITS: a gzip or a zlib header, detected from the body
        self._zlib = (
            zlib.decompressobj(32 + zlib.MAX_WBITS)
            if encoding in ("gzip", "x-gzip", "deflate")
            else None
        )
        # deflate: the first bytes, until the 2 of a header are in (see feed)
        self._start: Optional[bytes] = b"" if encoding == "deflate" else None

    def feed(self, raw: bytes) -> None:
        """Take the next chunk as received; raise as soon as a limit is passed."""
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise RequestTimeout(f"no whole answer from {self._url} in time")
        self._received += len(raw)
        self._check(self._received)
        if self._zlib is None:
            self._add(raw)
            return
        start, self._start = self._start, None
        if start is not None and len(start + raw) < 2:
            self._start = start + raw
        try:
            self._inflate(self._zlib, raw)
        except zlib.error as error:
            # httpx's leniency: "deflate" without a zlib header (zlib tells by the 2nd
            # byte) is raw deflate; read it from its start again, nothing out yet
            if start is None or self._size:
                raise InvalidResponse(b"", f"undecodable body: {error}") from None
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            try:
                self._inflate(self._zlib, start + raw)
            except zlib.error as error:
                raise InvalidResponse(b"", f"undecodable body: {error}") from None

    def _inflate(self, decompressor: Any, raw: bytes) -> None:
        """Decompress ``raw`` piece by piece, so a bomb never expands far past the limit
        in memory.
        """
        while True:
            piece = decompressor.decompress(raw, _PIECE)
            self._add(piece)
            raw = decompressor.unconsumed_tail
            if not raw and len(piece) < _PIECE:
                return

    def finish(self) -> bytes:
        """The whole body, decompressed."""
        if self._zlib is not None and not self._zlib.eof:
            raise InvalidResponse(b"", "undecodable body: the compressed data is cut short")
        return b"".join(self._chunks)

    def _add(self, data: bytes) -> None:
        self._size += len(data)
        self._check(self._size)
        self._chunks.append(data)

    def _check(self, size: int) -> None:
        if self._limit is not None and size > self._limit:
            raise ResponseTooLarge(self._url, self._status, self._limit)


#: The monotonic time the current thread's exchange must end by (sync client only).
current_deadline: ContextVar[Optional[float]] = ContextVar("flask_events_deadline", default=None)
#: Bytes written per socket operation, so a slow reader cannot stretch one write.
_WRITE_SLICE = 64 * 1024


def _left(timeout: Optional[float], error: type[Exception]) -> Optional[float]:
    """An operation's timeout capped at what is left before the deadline; ``error``
    (an httpcore timeout, so httpx maps it) when nothing is left.
    """
    deadline = current_deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the current deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        for start in range(0, len(buffer), _WRITE_SLICE):
            chunk = buffer[start : start + _WRITE_SLICE]
            self._stream.write(chunk, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend, its connections made :class:`_DeadlineStream`."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Optional[Iterable[Any]] = None,
    ) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        # by keyword, and only when given: a backend of its own may not take them
        if socket_options is None:
            stream = self._backend.connect_tcp(
                host, port, timeout=timeout, local_address=local_address
            )
        else:
            stream = self._backend.connect_tcp(
                host,
                port,
                timeout=timeout,
                local_address=local_address,
                socket_options=socket_options,
            )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: Optional[float] = None,
        socket_options: Optional[Iterable[Any]] = None,
    ) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        if socket_options is None:
            stream = self._backend.connect_unix_socket(path, timeout=timeout)
        else:
            stream = self._backend.connect_unix_socket(
                path, timeout=timeout, socket_options=socket_options
            )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def add_deadline(client: httpx.Client) -> None:
    """Make every connection of ``client`` go through :class:`_DeadlineBackend`: those of
    its own transport and those of the transports httpx mounted for the proxies of the
    environment (``HTTP_PROXY``, ``NO_PROXY``...; passing a transport of our own would
    turn them off).

    httpx's transports build their httpcore pools themselves and take no network
    backend, so the backend is swapped on each pool (an ``HTTPProxy`` or a
    ``SOCKSProxy`` is a pool too) — private attributes of httpx (0.25 to 0.28) and
    httpcore (0.18 to 1.0); tests/test_client_hardening.py's dripped-headers and proxy
    deadline tests fail if this stops working. Without it the deadline is still checked
    between the chunks of the body, and each read still has the whole timeout.
    """
    mounts: dict[Any, Any] = getattr(client, "_mounts", {})
    for transport in [getattr(client, "_transport", None), *mounts.values()]:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend) and not isinstance(
            backend, _DeadlineBackend
        ):
            pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
