"""Sending events to other services: :class:`EventsClient` and :class:`AsyncEventsClient`.

Both share one request builder and one response reader; they differ only in the httpx
client underneath. Inside a handler, outgoing events carry the current event's
``flowId`` (explicit arguments win), and, when OpenTelemetry is installed and a span
is active, the trace context in ``metadata.trace``. Transport failures are typed
exceptions; a protocol answer — success, redirect or error event — is returned as an
:class:`~flask_events.Event` to classify (``kind``, ``is_success``, ``is_error``,
``error_code``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Optional, Union

import httpx

from .codec import dumps
from .context import _handling
from .errors import BadProtocol, EventsError
from .event import Event, parse_event, random_id

__all__ = [
    "AsyncEventsClient",
    "ConnectionFailed",
    "EventsClient",
    "EventsClientError",
    "InvalidResponse",
    "RequestTimeout",
    "UnexpectedStatus",
]

JSONObject = dict[str, Any]
_ExcInfo = Union[type[BaseException], BaseException, TracebackType, None]


class EventsClientError(EventsError):
    """The event could not be delivered or its answer not read (not a protocol error:
    those are answered as error events).
    """


class RequestTimeout(EventsClientError):
    """No answer within the timeout."""


class ConnectionFailed(EventsClientError):
    """The service could not be reached (refused, unknown host, reset...)."""


class UnexpectedStatus(EventsClientError):
    """The service answered a non-2xx HTTP status.

    :ivar status: the HTTP status code.
    :ivar body: the raw body.
    :ivar event: the body read as an event when it is one (413 and 500 carry one).
    """

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"the service answered HTTP {status}")
        self.status, self.body = status, body
        try:
            self.event: Optional[Event] = parse_event(body)
        except BadProtocol:
            self.event = None


class InvalidResponse(EventsClientError):
    """The service answered 2xx with a body that is not a valid event."""

    def __init__(self, body: bytes, reason: str) -> None:
        super().__init__(f"the answer is not a valid event: {reason}")
        self.body = body


class _Common:
    """What both clients share: configuration, the envelope, reading the answer."""

    def __init__(
        self, url: str, timeout: float = 10.0, headers: Optional[dict[str, str]] = None
    ) -> None:
        #: The events endpoint, e.g. ``"http://accounts:5000/events"``.
        self.url = url
        #: Seconds to wait for connecting, and again for the answer.
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", **(headers or {})}

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
    def read(response: httpx.Response) -> Event:
        """The answer as an event, or the typed exception of a transport failure."""
        if not 200 <= response.status_code < 300:
            raise UnexpectedStatus(response.status_code, response.content)
        try:
            return parse_event(response.content)
        except BadProtocol as error:
            raise InvalidResponse(response.content, error.message) from None

    @contextlib.contextmanager
    def _delivering(self) -> Iterator[None]:
        """httpx's transport failures as this module's typed exceptions."""
        try:
            yield
        except httpx.TimeoutException as error:
            raise RequestTimeout(f"no answer from {self.url}: {error}") from error
        except httpx.TransportError as error:
            raise ConnectionFailed(f"cannot reach {self.url}: {error}") from error

    def _timeout(self, timeout: Optional[float]) -> httpx.Timeout:
        return httpx.Timeout(self.timeout if timeout is None else timeout)


class EventsClient(_Common):
    """Sends events to one service over HTTP, reusing connections.

    :param url: the service's events endpoint.
    :param timeout: seconds (not milliseconds) to connect, and again to get the answer.
    :param headers: extra HTTP headers for every request.

    Use it as a context manager, or call :meth:`close`::

        with EventsClient("http://accounts:5000/events", timeout=2.5) as accounts:
            answer = accounts.send("account:get", 1, {"accountId": 1})
            if answer.is_success: ...
    """

    def __init__(
        self, url: str, timeout: float = 10.0, headers: Optional[dict[str, str]] = None
    ) -> None:
        super().__init__(url, timeout, headers)
        self._http = httpx.Client(headers=self.headers)

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
    ) -> Event:
        """Send one event and return the answer event (success, redirect or error).

        :raises RequestTimeout: no answer within ``timeout`` (seconds).
        :raises ConnectionFailed: the service could not be reached.
        :raises UnexpectedStatus: a non-2xx HTTP status.
        :raises InvalidResponse: a 2xx body that is not an event.
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
        return self.send_event(event, timeout=timeout)

    def send_event(self, event: Event, *, timeout: Optional[float] = None) -> Event:
        """Send an event built by the caller, as it is."""
        with self._delivering():
            response = self._http.post(
                self.url, content=dumps(event), timeout=self._timeout(timeout)
            )
        return self.read(response)

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> EventsClient:
        return self

    def __exit__(
        self, *exc: Union[type[BaseException], BaseException, TracebackType, None]
    ) -> None:
        self.close()


class AsyncEventsClient(_Common):
    """:class:`EventsClient` for asyncio code (``async def`` handlers included)."""

    def __init__(
        self, url: str, timeout: float = 10.0, headers: Optional[dict[str, str]] = None
    ) -> None:
        super().__init__(url, timeout, headers)
        self._http = httpx.AsyncClient(headers=self.headers)

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
        return await self.send_event(event, timeout=timeout)

    async def send_event(self, event: Event, *, timeout: Optional[float] = None) -> Event:
        """As :meth:`EventsClient.send_event`."""
        with self._delivering():
            response = await self._http.post(
                self.url, content=dumps(event), timeout=self._timeout(timeout)
            )
        return self.read(response)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncEventsClient:
        return self

    async def __aexit__(
        self, *exc: Union[type[BaseException], BaseException, TracebackType, None]
    ) -> None:
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
