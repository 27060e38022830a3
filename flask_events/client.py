"""Sending events to other services: :class:`EventsClient` and :class:`AsyncEventsClient`.

Both share one request builder and one answer reader (``AnswerBody``: the size limit,
gzip, the deadline between reads); they differ only in the httpx client underneath and in
how the deadline interrupts a read: a network backend that caps every socket operation
at the time left (sync), ``asyncio.wait_for`` around the whole exchange (async). Inside a
handler, outgoing events carry the current event's ``flowId`` (explicit arguments win),
and, when OpenTelemetry is installed and a span is active, the trace context in
``metadata.trace``. Transport failures — every httpx exception included — are typed
exceptions; a protocol answer — success, redirect or error event — is returned as an
:class:`~flask_events.Event` to classify (``kind``, ``is_success``, ``is_error``,
``error_code``).
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Any, Optional, Union

import httpx

from .client_errors import (
    ConnectionFailed,
    EventsClientError,
    InvalidResponse,
    RequestTimeout,
    ResponseTooLarge,
    UnexpectedStatus,
)
from .client_inprocess import async_transport, sync_transport
from .client_limits import AnswerBody, add_deadline, current_deadline
from .client_retries import delivering, endpoint_url, may_retry, retry_delay, shown_url
from .codec import dumps
from .context import _handling
from .errors import BadProtocol
from .event import Event, JSONObject, parse_event, random_id

__all__ = [
    "AsyncEventsClient",
    "ConnectionFailed",
    "EventsClient",
    "EventsClientError",
    "InvalidResponse",
    "RequestTimeout",
    "ResponseTooLarge",
    "UnexpectedStatus",
]

#: The default ``max_response_size``: 8 MiB.
DEFAULT_MAX_RESPONSE_SIZE = 8 * 1024 * 1024

#: One of the three values a context manager's ``__exit__`` receives.
_ExcInfo = Union[type[BaseException], BaseException, TracebackType, None]


class _Common:
    """What both clients share: configuration, the envelope, reading the answer."""

    def __init__(
        self,
        url: str,
        timeout: Optional[float] = 10.0,
        headers: Optional[dict[str, str]] = None,
        max_response_size: Optional[int] = DEFAULT_MAX_RESPONSE_SIZE,
        *,
        connect_timeout: Optional[float] = None,
        read_timeout: Optional[float] = None,
        retries: int = 0,
        backoff: float = 0.1,
        max_backoff: float = 30.0,
        app: Any = None,
        transport: Any = None,
    ) -> None:
        if retries < 0 or backoff < 0 or max_backoff < 0:
            raise ValueError("retries, backoff and max_backoff cannot be negative")
        #: The events endpoint, e.g. ``"http://accounts:5000/events"``.
        self.url = endpoint_url(url, in_process=app is not None or transport is not None)
        #: Seconds for the whole exchange: connecting, sending, reading the whole answer
        #: (None: no time limit).
        self.timeout = timeout
        #: Seconds to make a connection; and the most seconds between two reads of the
        #: answer (None: only ``timeout`` applies).
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        #: Times an event is sent again after a transport failure; and the seconds of
        #: the first wait, doubled for each next one (each with jitter).
        self.retries, self.backoff = retries, backoff
        #: The longest wait before a retry, in seconds (before jitter).
        self.max_backoff = max_backoff
        #: The most bytes of an answer, as received and once decompressed (None: no limit).
        self.max_response_size = max_response_size
        # only what AnswerBody decompresses (httpx would add br and zstd when installed)
        self.headers = {
            "Content-Type": "application/json",
            "Accept-Encoding": "gzip, deflate",
            **(headers or {}),
        }
        self._open(app, transport)

    @property
    def _shown_url(self) -> str:
        """``url`` as messages show it: without its password."""
        return shown_url(self.url)

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`close` (``aclose``) was called: the client sends no more."""
        return bool(self._http.is_closed)  # type: ignore[attr-defined]

    def _open(self, app: Any, transport: Any) -> None:
        """Make ``self._http``: sends to ``app`` in process, or through ``transport``."""
        raise NotImplementedError

    def envelope(
        self,
        name: str,
        version: int,
        payload: Any = None,
        *,
        identity: Optional[JSONObject] = None,
        auth: Optional[JSONObject] = None,
        metadata: Optional[JSONObject] = None,
        id: Optional[str] = None,
        flow_id: Optional[str] = None,
    ) -> Event:
        """The event to send: fresh id; flowId given, else the current event's, else
        fresh; the trace context in ``metadata.trace`` when there is one.
        """
        if flow_id is None:
            handling = _handling.get()
            flow_id = handling[0].flow_id if handling is not None else random_id()
        metadata = dict(metadata or {})
        trace = _trace_context()
        if trace:
            metadata.setdefault("trace", trace)
        return Event.new(
            name,
            version,
            payload,
            id=id,
            flow_id=flow_id,
            identity=identity,
            auth=auth,
            metadata=metadata,
        )

    @staticmethod
    def _answer(status: int, body: bytes) -> Event:
        """The answer as an event, or the typed exception of a transport failure."""
        if not 200 <= status < 300:
            raise UnexpectedStatus(status, body)
        try:
            return parse_event(body)
        except BadProtocol as error:
            # the parser's message speaks of a request ("The request body is not valid
            # JSON"): keep its details, which speak of the body only
            raise InvalidResponse(body, error.parameters.get("message", error.message)) from None

    def _time_allowed(self, timeout: Optional[float]) -> tuple[Optional[float], Optional[float]]:
        """The seconds allowed for this exchange, and the monotonic time they end (both
        None when the client has no timeout and none is given).
        """
        seconds = self.timeout if timeout is None else timeout
        return seconds, None if seconds is None else time.monotonic() + seconds

    def _timeouts(self, seconds: Optional[float]) -> httpx.Timeout:
        """httpx's timeouts of one attempt: ``seconds`` for each operation, but
        ``connect_timeout`` and ``read_timeout`` when set.
        """
        connect = seconds if self.connect_timeout is None else self.connect_timeout
        read = seconds if self.read_timeout is None else self.read_timeout
        return httpx.Timeout(seconds, connect=connect, read=read)

    def _next_delay(
        self, error: EventsClientError, attempt: int, idempotent: bool, deadline: Optional[float]
    ) -> Optional[float]:
        """Seconds to wait before sending again after ``attempt`` failed with ``error``;
        None to give up (``error.attempts`` is then set).
        """
        if attempt <= self.retries and may_retry(error, idempotent):
            delay = retry_delay(self.backoff, attempt, self.max_backoff)
            if deadline is None or time.monotonic() + delay < deadline:
                return delay
        error.attempts = attempt
        return None

    def _body(self, response: httpx.Response, deadline: Optional[float]) -> AnswerBody:
        return AnswerBody(self._shown_url, response, deadline, self.max_response_size)


class EventsClient(_Common):
    """Sends events to one service over HTTP, reusing connections.

    :param url: the service's events endpoint.
    :param timeout: seconds (not milliseconds) for the whole exchange — connecting,
        sending the event and reading the whole answer — after which
        :class:`RequestTimeout` is raised; ``None``: no time limit.
    :param headers: extra HTTP headers for every request.
    :param max_response_size: the most bytes of an answer, as received and once
        decompressed (8 MiB by default; ``None``: no limit); a longer one raises
        :class:`ResponseTooLarge` without being read further.
    :param connect_timeout: seconds to make a connection (``None``: ``timeout``).
    :param read_timeout: the most seconds between two reads of the answer, the wait
        for its first byte included (``None``: ``timeout``).
    :param retries: times an event is sent again after a transport failure (see
        :meth:`send`); 0 by default.
    :param backoff: seconds of the first wait before a retry, doubled for each next
        one up to ``max_backoff`` (30 by default), each a random time between half and
        all of it.
    :param app: a Flask (WSGI) app to send to in this process, with no server; ``url``
        may then be a path (``"/events"``), sent to ``http://localhost``.
    :param transport: an httpx transport to send through (e.g. ``httpx.MockTransport``).

    Use it as a context manager, or call :meth:`close`::

        with EventsClient("http://accounts:5000/events", timeout=2.5) as accounts:
            answer = accounts.send("account:get", 1, {"accountId": 1})
            if answer.is_success: ...
    """

    _http: httpx.Client

    def _open(self, app: Any, transport: Optional[httpx.BaseTransport]) -> None:
        self._http = httpx.Client(headers=self.headers, transport=sync_transport(app, transport))
        add_deadline(self._http)

    def send(
        self,
        name: str,
        version: int,
        payload: Any = None,
        *,
        identity: Optional[JSONObject] = None,
        auth: Optional[JSONObject] = None,
        metadata: Optional[JSONObject] = None,
        id: Optional[str] = None,
        flow_id: Optional[str] = None,
        timeout: Optional[float] = None,
        idempotent: bool = False,
    ) -> Event:
        """Send one event and return the answer event (success, redirect or error).

        With ``retries``, a transport failure sends the same event (same ``id`` and
        ``flowId``) again after a wait: always when the event surely reached no handler
        (no connection could be made, or HTTP 503); when it may have (the connection
        broke or timed out after sending, HTTP 502 or 504) only if ``idempotent`` is
        true. Never after a protocol answer, nor past ``timeout``, which covers all
        attempts. The exception raised tells how many there were (``attempts``).

        :raises RequestTimeout: the whole answer did not arrive within ``timeout``
            (seconds; the client's ``timeout`` when ``None``).
        :raises ConnectionFailed: the service could not be reached, or broke the exchange.
        :raises UnexpectedStatus: a non-2xx HTTP status.
        :raises InvalidResponse: a 2xx body that is not an event, or a body that cannot be
            decompressed.
        :raises ResponseTooLarge: an answer longer than ``max_response_size``.
        """
        event = self.envelope(
            name,
            version,
            payload,
            identity=identity,
            auth=auth,
            metadata=metadata,
            id=id,
            flow_id=flow_id,
        )
        return self.send_event(event, timeout=timeout, idempotent=idempotent)

    def send_event(
        self, event: Event, *, timeout: Optional[float] = None, idempotent: bool = False
    ) -> Event:
        """Send an event built by the caller, as it is (retried as by :meth:`send`)."""
        seconds, deadline = self._time_allowed(timeout)
        content, attempt = dumps(event), 0
        while True:
            attempt += 1
            try:
                return self._attempt(content, seconds, deadline)
            except EventsClientError as error:
                delay = self._next_delay(error, attempt, idempotent, deadline)
                if delay is None:
                    raise
            time.sleep(delay)

    def _attempt(self, event: bytes, seconds: Optional[float], deadline: Optional[float]) -> Event:
        token = current_deadline.set(deadline)
        try:
            with (
                delivering(self._shown_url),
                self._http.stream(
                    "POST", self.url, content=event, timeout=self._timeouts(seconds)
                ) as response,
            ):
                body = self._body(response, deadline)
                # a response made whole (httpx.Response(content=...) of a MockTransport)
                # has been read already
                chunks = [response.content] if response.is_stream_consumed else None
                for chunk in chunks or response.iter_raw():
                    body.feed(chunk)
                status, content = response.status_code, body.finish()
        finally:
            current_deadline.reset(token)
        return self._answer(status, content)

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> EventsClient:
        return self

    def __exit__(self, *exc: _ExcInfo) -> None:
        self.close()


class AsyncEventsClient(_Common):
    """:class:`EventsClient` for asyncio code (``async def`` handlers included), with
    the same arguments; ``transport`` is an ``httpx.AsyncBaseTransport``, and ``app``
    runs on a thread of the event loop's default executor.
    """

    _http: httpx.AsyncClient

    def _open(self, app: Any, transport: Optional[httpx.AsyncBaseTransport]) -> None:
        self._http = httpx.AsyncClient(
            headers=self.headers, transport=async_transport(app, transport)
        )

    async def send(
        self,
        name: str,
        version: int,
        payload: Any = None,
        *,
        identity: Optional[JSONObject] = None,
        auth: Optional[JSONObject] = None,
        metadata: Optional[JSONObject] = None,
        id: Optional[str] = None,
        flow_id: Optional[str] = None,
        timeout: Optional[float] = None,
        idempotent: bool = False,
    ) -> Event:
        """As :meth:`EventsClient.send`."""
        event = self.envelope(
            name,
            version,
            payload,
            identity=identity,
            auth=auth,
            metadata=metadata,
            id=id,
            flow_id=flow_id,
        )
        return await self.send_event(event, timeout=timeout, idempotent=idempotent)

    async def send_event(
        self, event: Event, *, timeout: Optional[float] = None, idempotent: bool = False
    ) -> Event:
        """As :meth:`EventsClient.send_event`."""
        seconds, deadline = self._time_allowed(timeout)
        tried = [0]  # the attempts made, counted by _attempts
        try:
            return await asyncio.wait_for(
                self._attempts(dumps(event), seconds, deadline, idempotent, tried), seconds
            )
        except asyncio.TimeoutError:
            error = RequestTimeout(f"no answer from {self._shown_url} within {seconds}s")
            error.attempts = tried[0]
            raise error from None

    async def _attempts(
        self,
        event: bytes,
        seconds: Optional[float],
        deadline: Optional[float],
        idempotent: bool,
        tried: list[int],
    ) -> Event:
        while True:
            tried[0] += 1
            attempt = tried[0]
            try:
                status, content = await self._exchange(event, seconds, deadline)
                return self._answer(status, content)
            except EventsClientError as error:
                delay = self._next_delay(error, attempt, idempotent, deadline)
                if delay is None:
                    raise
            await asyncio.sleep(delay)

    async def _exchange(
        self, event: bytes, seconds: Optional[float], deadline: Optional[float]
    ) -> tuple[int, bytes]:
        with delivering(self._shown_url):
            async with self._http.stream(
                "POST", self.url, content=event, timeout=self._timeouts(seconds)
            ) as response:
                body = self._body(response, deadline)
                if response.is_stream_consumed:  # as in EventsClient._attempt
                    body.feed(response.content)
                else:
                    async for chunk in response.aiter_raw():
                        body.feed(chunk)
                return response.status_code, body.finish()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncEventsClient:
        return self

    async def __aexit__(self, *exc: _ExcInfo) -> None:
        await self.aclose()


def _trace_context() -> JSONObject:
    """The active OpenTelemetry context as W3C headers (``{}`` without OpenTelemetry)."""
    try:
        from opentelemetry import propagate
    except ImportError:
        return {}
    carrier: JSONObject = {}
    propagate.inject(carrier)
    return carrier
