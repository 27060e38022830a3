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

import httpcore
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
from flask_events.client_limits import _DeadlineBackend

from .servers import (
    free_port,
    raw_drip,
    raw_head,
    raw_http_server,
    raw_send,
    raw_stall,
    raw_stream,
)

pytestmark = pytest.mark.e2e  # its deadline tests wait out real timeouts (about 16 s)

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


# Regressions of the hardening (the proxy of the environment, old httpcore, timeout=None,
# raw deflate, the words of InvalidResponse)


@pytest.fixture
def proxy_env(monkeypatch):
    """Set the proxy variables of the environment: ``proxy_env(http=..., no=...)``."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)

    def set_env(**values):
        for name, value in values.items():
            monkeypatch.setenv(f"{name.upper()}_PROXY", value)

    return set_env


def test_the_proxy_of_the_environment_is_used(send, proxy_env):
    target = f"http://127.0.0.1:{free_port()}"  # nobody listens: reached only by the proxy
    heads = []
    with raw_http_server(answer(EVENT), heads) as proxy:
        proxy_env(http=proxy)
        assert send(target).payload == {"pong": True}
    assert heads[0].split(b"\r\n")[0] == f"POST {target}/events HTTP/1.1".encode()


def test_the_deadline_holds_through_the_proxy(send, proxy_env):
    target = f"http://127.0.0.1:{free_port()}"
    drip = raw_drip(raw_head(content_length=len(EVENT)) + EVENT, 0.25)  # the head too
    with raw_http_server(drip) as proxy:
        proxy_env(http=proxy)
        started = time.monotonic()
        with pytest.raises(RequestTimeout):
            send(target, timeout=1.0)
        assert time.monotonic() - started < 5  # the drip would take about 45 s


def test_no_proxy_is_respected(send, proxy_env):
    heads = []
    with raw_http_server(answer(EVENT)) as url, raw_http_server(answer(b"{}"), heads) as proxy:
        proxy_env(http=proxy, no="127.0.0.1")
        assert send(url).payload == {"pong": True}
    assert heads == []


class BackendWithoutSocketOptions(httpcore.NetworkBackend):
    """A network backend with the connect_tcp of httpcore 0.17.1 and older."""

    def connect_tcp(self, host, port, timeout=None, local_address=None):
        return httpcore.SyncBackend().connect_tcp(host, port, timeout, local_address)


def test_the_deadline_backend_passes_socket_options_only_when_given():
    backend = _DeadlineBackend(BackendWithoutSocketOptions())
    with raw_http_server(answer(EVENT)) as url:
        with httpcore.ConnectionPool(network_backend=backend) as pool:
            response = pool.request("POST", f"{url}/events", content=b"{}")
    assert json.loads(response.content) == json.loads(EVENT)


def test_timeout_none_means_no_timeout(send):
    body = raw_head(content_length=len(EVENT)) + EVENT
    with raw_http_server(raw_drip(body, 0.05, start=len(body) - 10)) as url:
        assert send(url, timeout=None).payload == {"pong": True}


@pytest.mark.parametrize("client_timeout", [None, 1.0])
def test_a_timeout_per_call_wins_and_none_per_call_is_the_clients(client_timeout):
    with raw_http_server(raw_stall()) as url:
        with EventsClient(f"{url}/events", timeout=client_timeout) as client:
            started = time.monotonic()
            with pytest.raises(RequestTimeout):
                if client_timeout is None:
                    client.send("ping", 1, timeout=1.0)
                else:
                    client.send("ping", 1, timeout=None)
            assert time.monotonic() - started < 5


def raw_deflate(data):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def chunked(*pieces):
    """A whole chunked 200 answer, one chunk per piece (each read apart by the client)."""
    body = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces)
    return raw_send(
        raw_head(transfer_encoding="chunked", **{"content_encoding": "deflate"})
        + body
        + b"0\r\n\r\n"
    )


def test_a_raw_deflate_answer_is_decompressed(send):
    with raw_http_server(answer(raw_deflate(EVENT), content_encoding="deflate")) as url:
        assert send(url).payload == {"pong": True}


@pytest.mark.parametrize("compress", [raw_deflate, zlib.compress], ids=["raw", "zlib"])
def test_a_deflate_answer_split_after_its_first_byte_is_decompressed(send, compress):
    body = compress(EVENT)
    with raw_http_server(chunked(body[:1], body[1:])) as url:
        assert send(url).payload == {"pong": True}


def test_a_raw_deflate_bomb_is_cut_at_the_limit(send):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    bomb = b"".join(compressor.compress(bytes(MiB)) for _ in range(64)) + compressor.flush()
    with raw_http_server(answer(bomb, content_encoding="deflate")) as url:
        assert_read_in_little_memory(send, url)


def test_a_deflate_body_that_is_not_deflate_is_an_invalid_response(send):
    with raw_http_server(answer(b"\xff" * 64, content_encoding="deflate")) as url:
        with pytest.raises(InvalidResponse, match="undecodable"):
            send(url)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "JSON is malformed"),
        (b"[1]", "expected a JSON object, got an array"),
        (b"{}", "Property 'name' is required"),
    ],
)
def test_an_invalid_answer_is_described_as_an_answer(send, body, reason):
    with raw_http_server(answer(body)) as url:
        with pytest.raises(InvalidResponse) as info:
            send(url)
    assert str(info.value).startswith("the answer is not a valid event: ")
    assert reason in str(info.value) and "request" not in str(info.value)
