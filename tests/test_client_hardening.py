"""EventsClient and AsyncEventsClient against misbehaving servers (raw sockets in
threads, tests.servers.raw_http_server): every failure typed, ``timeout`` a deadline for
the whole exchange, ``max_response_size`` stopping huge answers and gzip bombs.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import time
import tracemalloc
import zlib

import pytest

from flask_events import (
    AsyncEventsClient,
    ConnectionFailed,
    EventsClient,
    EventsClientError,
    InvalidResponse,
    RequestTimeout,
    ResponseTooLarge,
    UnexpectedStatus,
)

from .servers import (
    raw_drip,
    raw_head,
    raw_http_server,
    raw_send,
    raw_stall,
    raw_stream,
)

MiB = 1024 * 1024
EVENT = json.dumps(
    {
        "name": "ping:response",
        "version": 1,
        "id": "i",
        "flowId": "f",
        "payload": {"pong": True},
        "metadata": {},
        "identity": {},
        "auth": {},
    }
).encode()


@pytest.fixture(params=["sync", "async"])
def send(request):
    """Send one event with the sync or the async client (other arguments go to the
    client's constructor); return the answer or raise.
    """

    def send(url, **options):
        options.setdefault("timeout", 5)
        if request.param == "sync":
            with EventsClient(f"{url}/events", **options) as client:
                return client.send("ping", 1)

        async def main():
            async with AsyncEventsClient(f"{url}/events", **options) as client:
                return await client.send("ping", 1)

        return asyncio.run(main())

    return send


def answer(body, **headers):
    """A whole 200 answer with ``body``, its Content-Length and ``headers``."""
    return raw_send(raw_head(content_length=len(body), **headers) + body)


def gzip_bomb(mebibytes):
    """gzip of ``mebibytes`` MiB of zeros, made without holding them (about 1 KB per MiB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MiB)
    return b"".join(compressor.compress(zeros) for _ in range(mebibytes)) + compressor.flush()


# Every failure is typed (nothing from httpx escapes)


def test_a_gzip_answer_is_decompressed(send):
    with raw_http_server(answer(gzip.compress(EVENT), content_encoding="gzip")) as url:
        assert send(url).payload == {"pong": True}


def test_a_deflate_answer_is_decompressed(send):
    with raw_http_server(answer(zlib.compress(EVENT), content_encoding="deflate")) as url:
        assert send(url).payload == {"pong": True}


def test_a_body_that_is_not_gzip_is_an_invalid_response(send):
    with raw_http_server(answer(EVENT, content_encoding="gzip")) as url:
        with pytest.raises(InvalidResponse, match="undecodable"):
            send(url)


def test_a_gzip_body_cut_short_is_an_invalid_response(send):
    with raw_http_server(answer(gzip.compress(EVENT)[:20], content_encoding="gzip")) as url:
        with pytest.raises(InvalidResponse, match="cut short"):
            send(url)


@pytest.mark.parametrize(
    "crafted",
    [
        b"this is not HTTP at all\r\n\r\n",
        raw_head(content_length=len(EVENT)) + EVENT[:10],  # closed before the end
        raw_head(content_length="abc") + EVENT,
        raw_head(content_length=f"{len(EVENT)}, {len(EVENT) + 1}") + EVENT,
        raw_head(transfer_encoding="chunked") + b"zz\r\n" + EVENT + b"\r\n0\r\n\r\n",
        b"",  # closed without a word
    ],
    ids=["not-http", "cut-short", "bad-length", "two-lengths", "bad-chunk", "closed"],
)
def test_a_broken_exchange_is_a_connection_failure(send, crafted):
    with raw_http_server(raw_send(crafted)) as url:
        with pytest.raises(ConnectionFailed):
            send(url)


@pytest.mark.parametrize("url", ["http://[::1", "ftp://127.0.0.1:1", ""])
def test_an_invalid_url_is_a_connection_failure(send, url):
    with pytest.raises(ConnectionFailed):
        send(url)


# timeout is a deadline for the whole exchange


@pytest.mark.parametrize(
    "drip",
    [
        # about 40 s at one byte every 0.25 s, each byte well within the timeout
        raw_drip(raw_head(content_length=len(EVENT)) + EVENT, 0.25, start=40),
        raw_drip(raw_head(content_length=len(EVENT)) + EVENT, 0.25),
        raw_stall(),
        raw_stall(raw_head(content_length=len(EVENT))),
    ],
    ids=["drip-body", "drip-head", "silent", "head-then-silent"],
)
def test_timeout_is_a_deadline_for_the_whole_answer(send, drip):
    with raw_http_server(drip) as url:
        started = time.monotonic()
        with pytest.raises(RequestTimeout):
            send(url, timeout=1.0)
        assert time.monotonic() - started < 5  # the drips would take about 40 s


def test_an_answer_dripped_within_the_timeout_arrives(send):
    body = raw_head(content_length=len(EVENT)) + EVENT
    with raw_http_server(raw_drip(body, 0.1, start=len(body) - 5)) as url:
        assert send(url, timeout=10).payload == {"pong": True}


# max_response_size


def test_a_declared_huge_answer_is_refused_before_its_body(send):
    sent = [0]
    huge = raw_stream(raw_head(content_length=300 * MiB), bytes(64 * 1024), 300 * 16, sent)
    with raw_http_server(huge) as url:
        with pytest.raises(ResponseTooLarge) as info:
            send(url)
    assert info.value.limit == 8 * MiB and info.value.status == 200
    assert sent[0] < 100 * MiB  # what the socket buffers took, not the 300 MB


def assert_read_in_little_memory(send, url):
    tracemalloc.start()
    try:
        with pytest.raises(EventsClientError) as info:
            send(url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 24 * MiB, f"{peak / MiB:.0f} MiB"  # the answers are 64 MiB, the limit 8
    assert isinstance(info.value, ResponseTooLarge)


def test_an_endless_chunked_answer_is_cut_at_the_limit(send):
    chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
    with raw_http_server(raw_stream(raw_head(transfer_encoding="chunked"), chunk, 1024)) as url:
        assert_read_in_little_memory(send, url)


def test_a_gzip_bomb_is_cut_at_the_limit(send):
    bomb = gzip_bomb(64)
    assert len(bomb) < MiB
    with raw_http_server(answer(bomb, content_encoding="gzip")) as url:
        assert_read_in_little_memory(send, url)


def test_the_limit_counts_the_bytes_as_received_too(send):
    noise = gzip.compress(os.urandom(4096))  # incompressible: more bytes sent than decoded
    with raw_http_server(answer(noise, content_encoding="gzip")) as url:
        with pytest.raises(ResponseTooLarge):
            send(url, max_response_size=4096)


def test_the_limit_applies_to_error_statuses_too(send):
    body = b"x" * 2048
    with raw_http_server(raw_send(raw_head("500 Oops") + body)) as url:  # no length
        with pytest.raises(ResponseTooLarge) as info:
            send(url, max_response_size=1024)
        assert info.value.status == 500
        with pytest.raises(UnexpectedStatus):
            send(url, max_response_size=2048)


def test_no_limit_with_none(send):
    event = json.loads(EVENT)
    event["payload"] = {"blob": "x" * (10 * MiB)}
    big = json.dumps(event).encode()
    with raw_http_server(answer(big)) as url:
        with pytest.raises(ResponseTooLarge):
            send(url)
        assert len(send(url, max_response_size=None).payload["blob"]) == 10 * MiB
