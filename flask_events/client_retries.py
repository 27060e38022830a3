"""Transport failures, typed, and when the client sends an event again: internals of
:mod:`flask_events.client`.

A retry happens only after a transport failure, never after a protocol answer (any
event, error events included). Failures where the event surely reached no handler are
retried always; those where it may have are retried only for an idempotent event.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import httpx

from .client_errors import (
    ConnectionFailed,
    EventsClientError,
    InvalidResponse,
    RequestTimeout,
    UnexpectedStatus,
)

#: The statuses of a service (or a proxy) that did not take the request.
NOT_TAKEN_STATUSES = frozenset({503})
#: The statuses of a proxy whose upstream may have run the handler.
MAYBE_TAKEN_STATUSES = frozenset({502, 504})


def may_retry(error: EventsClientError, idempotent: bool) -> bool:
    """Whether ``error`` is a transport failure worth sending the event again for.

    :param error: what the last attempt raised.
    :param idempotent: the caller marked the event safe to run twice.
    """
    if isinstance(error, UnexpectedStatus):
        return error.status in NOT_TAKEN_STATUSES or (
            idempotent and error.status in MAYBE_TAKEN_STATUSES
        )
    if not isinstance(error, (ConnectionFailed, RequestTimeout)):
        return False  # the answer arrived: too large, or not an event
    return not error.connected or idempotent


def retry_delay(backoff: float, retry: int, max_backoff: float) -> float:
    """Seconds to wait before retry number ``retry`` (1, 2...): exponential backoff
    with jitter, a random time between half and all of ``backoff * 2 ** (retry - 1)``
    or of ``max_backoff`` when that is less.
    """
    # a float power (an int one would not convert past 2 ** 1023)
    ceiling = min(backoff * 2.0 ** min(retry - 1, 1000), max_backoff)
    return float(ceiling * random.uniform(0.5, 1.0))


def endpoint_url(url: str, *, in_process: bool) -> str:
    """``url``, made absolute (``http://localhost`` as Flask's test client) for an
    in-process client given a path; any other URL as it is (a wrong one raises
    :class:`ConnectionFailed` when sending).
    """
    return f"http://localhost{url}" if in_process and url.startswith("/") else url


def shown_url(url: str) -> str:
    """``url`` as the client's messages show it: a password in it replaced with
    ``[secure]``, as httpx's ``repr`` of a URL does.
    """
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:  # not a URL: sending it raises ConnectionFailed
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:[secure]@{host}"))


@contextlib.contextmanager
def delivering(url: str) -> Iterator[None]:
    """Every httpx exception raised inside as one of the client's typed exceptions;
    ``connected=False`` on those raised before a connection was made.
    """
    try:
        yield
    except (httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ConnectError) as error:
        failure: EventsClientError = (
            ConnectionFailed(f"cannot connect to {url}: {error}")
            if isinstance(error, httpx.ConnectError)
            else RequestTimeout(f"no connection to {url}: {error}")
        )
        failure.connected = False
        raise failure from error
    except httpx.TimeoutException as error:
        raise RequestTimeout(f"no answer from {url}: {error}") from error
    except httpx.DecodingError as error:
        raise InvalidResponse(b"", f"undecodable body: {error}") from error
    # the rest of httpx.HTTPError, and the three exceptions outside that tree
    except (
        httpx.HTTPError,
        httpx.InvalidURL,
        httpx.StreamError,
        httpx.CookieConflict,
    ) as error:
        raise ConnectionFailed(f"cannot reach {url}: {error}") from error
