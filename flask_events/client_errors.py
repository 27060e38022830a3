"""The client's exceptions: what keeps an answer from arriving, under
:class:`EventsClientError` (itself under the package's root, :class:`~flask_events.EventsError`).
"""

from __future__ import annotations

from typing import Optional

from .errors import BadProtocol, EventsError
from .event import Event, parse_event


class EventsClientError(EventsError):
    """The event could not be delivered or its answer not read (not a protocol error:
    those are answered as error events).

    :ivar attempts: how many times the event was sent before giving up (1 without
        retries).
    :ivar connected: ``False`` when no connection could be made (refused, unknown
        host, connect timeout), so the event surely reached no handler.
    """

    attempts: int = 1
    connected: bool = True


class RequestTimeout(EventsClientError):
    """The whole answer did not arrive within the timeout."""


class ConnectionFailed(EventsClientError):
    """The service could not be reached, or broke the exchange (refused, unknown host,
    invalid URL, reset, closed early, not speaking HTTP...).
    """


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
    """The service answered 2xx with a body that is not a valid event, or a body that
    cannot be decompressed (``body`` is then empty).
    """

    def __init__(self, body: bytes, reason: str) -> None:
        super().__init__(f"the answer is not a valid event: {reason}")
        self.body = body


class ResponseTooLarge(EventsClientError):
    """The answer is longer than ``max_response_size`` bytes, as received or once
    decompressed; the rest of it was not read.

    :ivar status: the HTTP status code of the answer.
    :ivar limit: the limit, in bytes.
    """

    def __init__(self, url: str, status: int, limit: int) -> None:
        super().__init__(f"the answer from {url} is larger than {limit} bytes")
        self.status, self.limit = status, limit


class UnknownService(EventsError, LookupError):
    """:func:`~flask_events.events_client` was given a name that is not a key of
    ``EVENTS_SERVICES``; the message names the known ones.
    """


class ServiceConfigError(EventsError, ValueError):
    """An entry of ``EVENTS_SERVICES`` is not a dict, or has no ``url`` or a key the
    client does not take.
    """


class NoRunningLoop(EventsError, RuntimeError):
    """:func:`~flask_events.async_events_client` was called outside a running event
    loop (call it from ``async`` code). Also a ``RuntimeError``, as before.
    """
