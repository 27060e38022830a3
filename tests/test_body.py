"""Reading the HTTP body: every body that cannot be read whole is a ``badProtocol``
event, on real servers (gunicorn gthread and sync, the werkzeug dev server) over raw
sockets, with nothing in the server's log; and the same in-process.
"""

from __future__ import annotations

import io
import json
import traceback
from collections.abc import Iterator
from pathlib import Path

import gunicorn
import pytest

from flask_events.codec import dumps

from .servers import logged_server, raw_exchange, serve_in_thread

#: The app every server here serves (limit 4096 bytes).
APP = "tests.body_app:app"

BODY = dumps({"name": "echo", "version": 1, "id": "i-1", "flowId": "f-1", "payload": {"a": 1}})
SIZE = b"%x" % len(BODY)
CHUNKED = b"POST /events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
CLOSE = b"Connection: close\r\n\r\n"
SHORT = "the body ended before its Content-Length"
#: A chunk size that is also a marker: it must not reach the answer or the log.
MARKER = b"c0ffee5ecret"

#: Chunked bodies gunicorn and the dev server cannot frame (each raised out of the
#: view, a 500 and a traceback, before).
MALFORMED_CHUNKED = {
    "non-hex size": MARKER + b"\r\n" + BODY + b"\r\n0\r\n\r\n",
    "negative size": b"-5\r\nhello\r\n0\r\n\r\n",
    "chunk cut short": b"%x\r\n" % (len(BODY) + 50) + BODY,
    "no CRLF after the data": SIZE + b"\r\n" + BODY + b"XX0\r\n\r\n",
    "missing final chunk": SIZE + b"\r\n" + BODY + b"\r\n",
    "missing end of trailers": SIZE + b"\r\n" + BODY + b"\r\n0\r\n",
    "chunk-extension garbage": SIZE + b";\x01\x7f=(\r\n" + BODY + b"\r\n0\r\n\r\n",
    "huge size": b"f" * 24 + b"\r\n" + BODY,
    "no chunk at all": b"",
}
#: Framing gunicorn before 27 (23 was seen) lets through: it hands the app the whole
#: body, which is then served (the package cannot tell; nothing is lost or leaked).
LENIENT_BEFORE_GUNICORN_27 = {"missing end of trailers", "chunk-extension garbage"}


def status_and_event(answer: bytes) -> tuple[bytes, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], json.loads(body)


@pytest.fixture(scope="module", params=["gthread", "sync", "werkzeug"])
def server(request, tmp_path_factory) -> Iterator[tuple[int, Path]]:
    """(port, log file) of a real server of each kind serving ``APP``."""
    log = tmp_path_factory.mktemp(request.param) / "server.log"
    with logged_server(request.param, APP, log) as port:
        yield port, log


def exchange_without_trace(server: tuple[int, Path], request: bytes) -> bytes:
    """Send ``request`` (then half-close), and check the server logged no error."""
    port, log = server
    start = log.stat().st_size
    answer = raw_exchange(port, request)
    logged = log.read_bytes()[start:]  # written before the answer was sent, if at all
    for sign in (b"Traceback", b"Error handling request", b"Exception on"):
        assert sign not in logged, logged.decode(errors="replace")
    return answer


@pytest.mark.e2e
@pytest.mark.parametrize("case", MALFORMED_CHUNKED)
def test_a_malformed_chunked_body_is_bad_protocol_never_a_500(request, server, case):
    answer = exchange_without_trace(server, CHUNKED + CLOSE + MALFORMED_CHUNKED[case])
    status, event = status_and_event(answer)
    kind = request.node.callspec.params["server"]
    if kind != "werkzeug" and gunicorn.version_info < (27,) and case in LENIENT_BEFORE_GUNICORN_27:
        assert status == b"HTTP/1.1 200 OK" and event["name"] == "echo:response"
        return
    # the dev server reads a huge chunk as data: the limit answers first
    assert status in (b"HTTP/1.1 200 OK", b"HTTP/1.1 413 REQUEST ENTITY TOO LARGE")
    assert event["name"] == "badProtocol"
    assert event["payload"]["code"] == "INVALID_COMMUNICATION_PROTOCOL"
    assert MARKER.decode() not in json.dumps(event)
    if status.startswith(b"HTTP/1.1 200"):
        message = event["payload"]["parameters"]["message"]
        assert message.startswith("the body could not be read: ") or message == SHORT


@pytest.mark.e2e
def test_a_well_formed_chunked_body_is_served(server):
    answer = exchange_without_trace(
        server, CHUNKED + CLOSE + SIZE + b"\r\n" + BODY + b"\r\n0\r\n\r\n"
    )
    status, event = status_and_event(answer)
    assert status == b"HTTP/1.1 200 OK" and event["name"] == "echo:response"


@pytest.mark.e2e
@pytest.mark.parametrize("sent", [BODY, BODY[:20], b""], ids=["valid JSON", "cut", "none"])
def test_a_body_shorter_than_its_content_length_is_bad_protocol(server, sent):
    """The client half-closes after fewer bytes than it declared."""
    head = b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % (len(BODY) + 20)
    status, event = status_and_event(exchange_without_trace(server, head + CLOSE + sent))
    assert status == b"HTTP/1.1 200 OK" and event["name"] == "badProtocol"
    assert event["payload"]["parameters"]["message"] == SHORT


@pytest.mark.e2e
def test_a_body_of_exactly_its_content_length_is_served(server):
    head = b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(BODY)
    status, event = status_and_event(exchange_without_trace(server, head + CLOSE + BODY))
    assert status == b"HTTP/1.1 200 OK" and event["name"] == "echo:response"


@pytest.mark.e2e
def test_a_short_body_reaches_the_client_disconnected_branch_in_process():
    """werkzeug's server in this process (so coverage sees it): its ``LimitedStream``
    raises ``ClientDisconnected`` on the read after the short one.
    """
    from .body_app import app

    with serve_in_thread(app) as base:
        port = int(base.rsplit(":", 1)[1])
        head = b"POST /events HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n"
        status, event = status_and_event(raw_exchange(port, head + CLOSE + b'{"name":'))
    assert status == b"HTTP/1.1 200 OK"
    assert event["payload"]["parameters"]["message"] == SHORT


class BrokenFraming(Exception):
    """Stands for a server's own exception (gunicorn's derive from ``Exception``),
    whose text quotes body bytes."""


class BrokenStream(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise BrokenFraming(f"bad chunk size {MARKER!r}")


def test_any_exception_from_the_stream_is_bad_protocol_naming_only_its_class(client, recorder):
    response = client.post(
        "/events",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input": BrokenStream(), "wsgi.input_terminated": True},
    )
    assert response.status_code == 200 and response.json["name"] == "badProtocol"
    message = response.json["payload"]["parameters"]["message"]
    assert message == "the body could not be read: BrokenFraming"
    (call,) = recorder.calls["error_noticed"]
    error = call["error"]
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    assert "bad chunk size" not in trace and MARKER.decode() not in trace


@pytest.mark.parametrize(
    "terminated",
    [False, True],
    ids=["werkzeug LimitedStream (ClientDisconnected)", "server-terminated (gunicorn)"],
)
def test_a_short_stream_in_process_is_bad_protocol(client, terminated):
    """Both ways a short body shows: werkzeug's ``LimitedStream`` raising
    ``ClientDisconnected``, or a server's own stream simply ending early.
    """
    overrides = {"CONTENT_LENGTH": str(len(BODY) + 1)}
    if terminated:
        overrides["wsgi.input_terminated"] = True
    response = client.post("/events", input_stream=io.BytesIO(BODY), environ_overrides=overrides)
    assert response.status_code == 200 and response.json["name"] == "badProtocol"
    assert response.json["payload"]["parameters"]["message"] == SHORT
