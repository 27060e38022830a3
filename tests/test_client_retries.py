"""Retries with backoff (``retries=``, ``backoff=``, ``send(..., idempotent=True)``) and
the separate ``connect_timeout`` / ``read_timeout``, against real failing servers on
127.0.0.1; every count of attempts is the server's own.
"""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest
from flask import Flask, request

from flask_events import (
    AsyncEventsClient,
    ConnectionFailed,
    EventsBlueprint,
    EventsClient,
    InvalidResponse,
    NotFound,
    RequestTimeout,
    UnexpectedStatus,
)
from flask_events.client_retries import retry_delay

from .servers import free_port, raw_head, raw_http_server, raw_send, raw_stall, serve_in_thread

pytestmark = pytest.mark.e2e

QUICK = {"backoff": 0.01, "timeout": 10}


class Flaky:
    """A WSGI service answering ``statuses`` in turn (then successes), recording the
    envelope of every request.
    """

    def __init__(self, *statuses: int, event_body: bool = False) -> None:
        self.statuses, self.seen, self.lock = list(statuses), [], threading.Lock()
        #: Answer a failure status with an error event as the body, not text.
        self.event_body = event_body
        self.app = Flask(__name__)
        self.app.add_url_rule("/events", "events", self.answer, methods=["POST"])

    def answer(self):
        event = json.loads(request.get_data())
        with self.lock:
            self.seen.append(event)
            status = self.statuses.pop(0) if self.statuses else 200
        if status != 200 and self.event_body:
            error = {"name": f"{event['name']}:error", "version": 1, "id": "answer"}
            return {**error, "flowId": event["flowId"], "payload": {"code": "BUSY"}}, status
        if status != 200:
            return "unavailable", status
        return {
            "name": f"{event['name']}:response",
            "version": 1,
            "id": "answer",
            "flowId": event["flowId"],
            "payload": len(self.seen),
        }


def test_a_503_is_retried_even_with_an_event_as_its_body():
    """A protocol answer is HTTP 200: a 503 is a service that took no event, whatever
    its body says.
    """
    flaky = Flaky(503, 503, event_body=True)
    with serve_in_thread(flaky.app) as base:
        with EventsClient(f"{base}/events", retries=3, **QUICK) as client:
            answer = client.send("x", 1)
    assert answer.name == "x:response" and answer.payload == 3
    assert len(flaky.seen) == 3


def test_refused_connection_is_retried_then_raised_with_its_attempts():
    url = f"http://127.0.0.1:{free_port()}/events"  # nothing listens there
    with EventsClient(url, retries=2, **QUICK) as client:
        with pytest.raises(ConnectionFailed) as raised:
            client.send("x", 1)
    assert raised.value.attempts == 3 and raised.value.connected is False


def test_without_retries_a_refused_connection_is_tried_once():
    with EventsClient(f"http://127.0.0.1:{free_port()}/events") as client:
        with pytest.raises(ConnectionFailed) as raised:
            client.send("x", 1)
    assert raised.value.attempts == 1


def test_503_twice_then_success_is_retried_with_the_same_id_and_flow_id():
    flaky = Flaky(503, 503)
    with serve_in_thread(flaky.app) as base:
        with EventsClient(f"{base}/events", retries=3, **QUICK) as client:
            answer = client.send("x", 1, flow_id="F")
    assert answer.is_success and answer.payload == 3
    assert len(flaky.seen) == 3
    assert len({event["id"] for event in flaky.seen}) == 1
    assert {event["flowId"] for event in flaky.seen} == {"F"}


def test_503_past_the_retries_raises_the_status_with_its_attempts():
    flaky = Flaky(503, 503)
    with serve_in_thread(flaky.app) as base:
        with EventsClient(f"{base}/events", retries=1, **QUICK) as client:
            with pytest.raises(UnexpectedStatus) as raised:
                client.send("x", 1)
    assert raised.value.status == 503 and raised.value.attempts == 2
    assert len(flaky.seen) == 2


def test_without_retries_a_503_is_sent_once():
    flaky = Flaky(503)
    with serve_in_thread(flaky.app) as base:
        with EventsClient(f"{base}/events") as client:
            with pytest.raises(UnexpectedStatus):
                client.send("x", 1)
    assert len(flaky.seen) == 1


@pytest.mark.parametrize("status", [502, 504])
def test_502_and_504_are_retried_only_for_an_idempotent_event(status):
    flaky = Flaky(status, status)
    with serve_in_thread(flaky.app) as base:
        with EventsClient(f"{base}/events", retries=3, **QUICK) as client:
            with pytest.raises(UnexpectedStatus) as raised:
                client.send("x", 1)
            assert raised.value.status == status and len(flaky.seen) == 1
            answer = client.send("x", 1, idempotent=True)
    assert answer.is_success and len(flaky.seen) == 3


@pytest.mark.parametrize("status", [400, 404, 500])
def test_other_statuses_are_never_retried(status):
    flaky = Flaky(status, status)
    with serve_in_thread(flaky.app) as base:
        with EventsClient(f"{base}/events", retries=3, **QUICK) as client:
            with pytest.raises(UnexpectedStatus):
                client.send("x", 1, idempotent=True)
    assert len(flaky.seen) == 1


def test_a_protocol_error_answer_is_returned_never_retried():
    calls = []
    app = Flask(__name__)
    events = EventsBlueprint("events", __name__)

    @events.handler("thing:get", 1)
    def get(event):
        calls.append(event.id)
        raise NotFound("no such thing")

    app.register_blueprint(events)
    with serve_in_thread(app) as base:
        with EventsClient(f"{base}/events", retries=3, **QUICK) as client:
            answer = client.send("thing:get", 1, idempotent=True)
    assert answer.kind == "notFound" and len(calls) == 1


def test_a_stalled_answer_is_not_retried_unless_idempotent():
    heads: list = []
    with raw_http_server(raw_stall(), heads) as base:
        with EventsClient(f"{base}/events", retries=2, read_timeout=0.5, **QUICK) as client:
            with pytest.raises(RequestTimeout) as raised:
                client.send("x", 1)
            assert raised.value.attempts == 1 and raised.value.connected is True
            assert len(heads) == 1
            with pytest.raises(RequestTimeout) as raised:
                client.send("x", 1, idempotent=True)
    assert raised.value.attempts == 3 and len(heads) == 4


def test_an_answer_closed_midway_is_not_retried_unless_idempotent():
    heads: list = []
    cut = raw_send(raw_head(content_length=200, content_type="application/json") + b'{"na')
    with raw_http_server(cut, heads) as base:
        with EventsClient(f"{base}/events", retries=2, **QUICK) as client:
            with pytest.raises(ConnectionFailed) as raised:
                client.send("x", 1)
            assert raised.value.attempts == 1 and len(heads) == 1
            with pytest.raises(ConnectionFailed) as raised:
                client.send("x", 1, idempotent=True)
    assert raised.value.attempts == 3 and len(heads) == 4


def test_an_invalid_answer_is_never_retried():
    heads: list = []
    body = b"not json"
    garbage = raw_send(raw_head(content_length=len(body)) + body)
    with raw_http_server(garbage, heads) as base:
        with EventsClient(f"{base}/events", retries=2, **QUICK) as client:
            with pytest.raises(InvalidResponse):
                client.send("x", 1, idempotent=True)
    assert len(heads) == 1


def test_a_connect_timeout_is_retried():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectTimeout("no SYN-ACK", request=request)

    transport = httpx.MockTransport(handler)
    with EventsClient("http://slow.test/events", retries=2, transport=transport, **QUICK) as c:
        with pytest.raises(RequestTimeout) as raised:
            c.send("x", 1)
    assert raised.value.connected is False and raised.value.attempts == 3 and len(calls) == 3


def test_no_retry_starts_past_the_timeout():
    """``timeout`` covers every attempt: a wait that would end past it is not made."""
    url = f"http://127.0.0.1:{free_port()}/events"
    with EventsClient(url, retries=5, backoff=60, timeout=1) as client:
        with pytest.raises(ConnectionFailed) as raised:
            client.send("x", 1)
    assert raised.value.attempts == 1


def test_retry_delays_grow_exponentially_with_jitter():
    for retry in (1, 2, 3, 4):
        delays = [retry_delay(0.1, retry, 30.0) for _ in range(50)]
        top = 0.1 * 2 ** (retry - 1)
        assert all(top / 2 <= delay <= top for delay in delays)
        assert len(set(delays)) > 1


def test_retry_delays_stop_growing_at_max_backoff():
    delays = [retry_delay(0.1, retry, 0.4) for retry in range(3, 200) for _ in range(5)]
    assert all(0.2 <= delay <= 0.4 for delay in delays)
    assert max(retry_delay(0.1, 40, 30.0) for _ in range(20)) <= 30.0


def test_many_retries_without_a_timeout_wait_at_most_max_backoff_each():
    """``timeout=None`` puts no deadline on the retries: ``max_backoff`` keeps each wait
    short (without it, retry 20 of ``backoff=1`` would wait days).
    """
    url = f"http://127.0.0.1:{free_port()}/events"
    with EventsClient(url, retries=20, backoff=1, max_backoff=0.01, timeout=None) as client:
        with pytest.raises(ConnectionFailed) as raised:
            client.send("x", 1)
    assert raised.value.attempts == 21


def test_negative_retries_or_backoff_are_refused():
    with pytest.raises(ValueError):
        EventsClient("http://x/events", retries=-1)
    with pytest.raises(ValueError):
        AsyncEventsClient("http://x/events", backoff=-1)
    with pytest.raises(ValueError):
        EventsClient("http://x/events", max_backoff=-1)


def test_async_client_retries_503_with_the_same_id():
    flaky = Flaky(503, 503)

    async def main(base):
        async with AsyncEventsClient(f"{base}/events", retries=3, **QUICK) as client:
            return await client.send("x", 1)

    with serve_in_thread(flaky.app) as base:
        answer = asyncio.run(main(base))
    assert answer.payload == 3 and len({event["id"] for event in flaky.seen}) == 1


def test_async_client_retries_a_stall_only_when_idempotent():
    heads: list = []

    async def main(base, idempotent):
        async with AsyncEventsClient(
            f"{base}/events", retries=2, read_timeout=0.5, **QUICK
        ) as client:
            with pytest.raises(RequestTimeout) as raised:
                await client.send("x", 1, idempotent=idempotent)
            return raised.value

    with raw_http_server(raw_stall(), heads) as base:
        assert asyncio.run(main(base, False)).attempts == 1 and len(heads) == 1
        assert asyncio.run(main(base, True)).attempts == 3 and len(heads) == 4


def test_async_client_retries_a_refused_connection():
    async def main():
        url = f"http://127.0.0.1:{free_port()}/events"
        async with AsyncEventsClient(url, retries=2, **QUICK) as client:
            with pytest.raises(ConnectionFailed) as raised:
                await client.send("x", 1)
            return raised.value

    assert asyncio.run(main()).attempts == 3


# connect_timeout and read_timeout


def timeouts_seen(client_class, **options):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(503)

    transport = httpx.MockTransport(handler)
    if client_class is EventsClient:
        with EventsClient("http://t.test/events", transport=transport, **options) as client:
            with pytest.raises(UnexpectedStatus):
                client.send("x", 1)
    else:

        async def main():
            async with AsyncEventsClient(
                "http://t.test/events", transport=transport, **options
            ) as client:
                with pytest.raises(UnexpectedStatus):
                    await client.send("x", 1)

        asyncio.run(main())
    return seen[0]


@pytest.mark.parametrize("client_class", [EventsClient, AsyncEventsClient])
def test_connect_and_read_timeouts_are_set_apart(client_class):
    seen = timeouts_seen(client_class, timeout=5, connect_timeout=0.2, read_timeout=0.3)
    assert seen == {"connect": 0.2, "read": 0.3, "write": 5, "pool": 5}


@pytest.mark.parametrize("client_class", [EventsClient, AsyncEventsClient])
def test_without_them_timeout_bounds_each_operation(client_class):
    seen = timeouts_seen(client_class, timeout=5)
    assert seen == {"connect": 5, "read": 5, "write": 5, "pool": 5}


def test_read_timeout_alone_ends_a_stall():
    with raw_http_server(raw_stall(raw_head(content_length=10))) as base:
        with EventsClient(f"{base}/events", timeout=None, read_timeout=0.3) as client:
            with pytest.raises(RequestTimeout):
                client.send("x", 1)


def test_async_read_timeout_alone_ends_a_stall():
    async def main(base):
        async with AsyncEventsClient(f"{base}/events", timeout=None, read_timeout=0.3) as c:
            with pytest.raises(RequestTimeout):
                await c.send("x", 1)

    with raw_http_server(raw_stall()) as base:
        asyncio.run(main(base))
