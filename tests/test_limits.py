"""Every limit, on a real server started with small ones: nesting depth, WebSocket
message size, events in flight per connection, batch size and body size. Past each
limit the answer is a protocol event, the connection keeps serving (except past the
WebSocket message size, which closes it with 1009), and every event gets exactly one
answer.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
import socketio
import websocket

from flask_events.codec import dumps

from .clients import SENDERS, websocket_connection
from .helpers import WIRE_KEYS, envelope
from .servers import flask_server, free_port, serve_logging_to

pytestmark = pytest.mark.e2e

LIMITS = {
    "FLASK_EVENTS_MAX_DEPTH": "8",
    "FLASK_EVENTS_MAX_CONTENT_LENGTH": "4000",
    "FLASK_EVENTS_WEBSOCKET_MAX_MESSAGE_SIZE": "2000",
    "FLASK_EVENTS_SOCKET_MAX_IN_FLIGHT": "3",
    "FLASK_EVENTS_BATCH_MAX_EVENTS": "4",
}
SLOW = 1.0  # seconds each slow event sleeps


@pytest.fixture(scope="module")
def server():
    with flask_server("tests.doc_app", LIMITS) as base:
        yield base


@pytest.fixture(scope="module")
def senders(server):
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(sender(server)) for name, sender in SENDERS.items()}


def nested(levels: int) -> object:
    """A value of ``levels`` nested arrays: ``nested(2) == [[]]``."""
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


# -- nesting depth ------------------------------------------------------------------


@pytest.mark.parametrize("transport", list(SENDERS))
def test_nesting_up_to_the_limit_is_served_and_deeper_is_bad_protocol(senders, transport):
    send = senders[transport]
    # the envelope is level 1, so its payload may nest 7 levels
    at_limit = envelope("test:hostile", 1, nested(7), id="deep-ok")
    assert send(dumps(at_limit).decode())["name"] == "test:hostile:response"
    too_deep = envelope("test:hostile", 1, nested(8), id="deep-no")
    answer = send(dumps(too_deep).decode())
    assert answer["name"] == "badProtocol" and list(answer) == WIRE_KEYS
    assert answer["payload"]["parameters"]["message"] == "JSON is nested more than 8 levels deep"
    # brackets inside strings do not count
    quoted = envelope("test:hostile", 1, {"text": "[[[[[[[[[[{{{{{{{{{{"}, id="quoted")
    assert send(dumps(quoted).decode())["name"] == "test:hostile:response"
    # as deep as fits the size limits here (test_fuzz sends 100,000 levels)
    bomb = send("[" * 999 + "]" * 999)
    assert bomb["payload"]["parameters"]["message"] == "JSON is nested more than 8 levels deep"
    assert send(dumps(envelope("rates:get", 1)).decode())["name"] == "rates:get:response"


def test_nesting_limit_applies_to_socketio_objects_too(server):
    """A Socket.IO client may emit the envelope as an object, not a JSON string."""
    sio = socketio.Client()
    sio.connect(server, namespaces=["/events"], transports=["websocket"], wait_timeout=10)
    try:
        call = lambda data: sio.call("event", data, namespace="/events", timeout=10)  # noqa: E731
        assert call(envelope("test:hostile", 1, nested(7)))["name"] == "test:hostile:response"
        answer = call(envelope("test:hostile", 1, nested(8)))
        assert answer["name"] == "badProtocol"
        assert "nested more than 8 levels" in answer["payload"]["parameters"]["message"]
    finally:
        sio.disconnect()


def test_nesting_inside_a_batch_counts_from_the_batch_envelope(senders):
    # batch (1) > payload (2) > events (3) > sub-envelope (4) > its payload (5..)
    sub = envelope("test:hostile", 1, nested(4))
    ok = senders["http"](dumps(envelope("batch", 1, {"events": [sub]})).decode())
    assert ok["payload"][0]["name"] == "test:hostile:response"
    sub = envelope("test:hostile", 1, nested(5))
    refused = senders["http"](dumps(envelope("batch", 1, {"events": [sub]})).decode())
    assert refused["name"] == "badProtocol"


# -- sizes ----------------------------------------------------------------------------


def test_websocket_message_size_has_its_own_limit(server, senders):
    body = dumps(envelope("test:hostile", 1, {"text": "x" * 2500})).decode()
    # over the WebSocket limit (2000) but under the HTTP one (4000)
    assert senders["http"](body)["name"] == "test:hostile:response"
    with websocket_connection(server) as ws:
        ws.send(body)
        answer = json.loads(ws.recv())
        assert answer["name"] == "badProtocol"
        assert answer["payload"]["parameters"]["message"] == (
            "the message is larger than 2000 bytes"
        )
        opcode, frame = ws.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE
        assert int.from_bytes(frame[:2], "big") == 1009


def test_http_body_limit_is_413_with_bad_protocol(server):
    body = dumps(envelope("test:hostile", 1, {"text": "x" * 4000}))
    request = urllib.request.Request(f"{server}/events", data=body, method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 413
    assert json.loads(caught.value.read())["name"] == "badProtocol"


def test_batch_size_limit(senders):
    events = [envelope("rates:get", 1) for _ in range(5)]
    answer = senders["websocket"](dumps(envelope("batch", 1, {"events": events})).decode())
    assert answer["name"] == "batch:badRequest"
    assert answer["payload"]["code"] == "TOO_MANY_EVENTS"
    assert answer["payload"]["parameters"] == {"max": 4, "count": 5}


# -- events in flight per connection --------------------------------------------------


def slow(i: int) -> dict:
    return envelope("test:slow", 1, SLOW, id=f"slow-{i}", flowId=f"flow-{i}")


def check_in_flight_answers(answers: dict[str, dict], elapsed: float) -> None:
    """Five slow events sent at once on one connection with a limit of 3."""
    assert sorted(answers) == [f"slow-{i}" for i in range(5)]  # each answered once
    refused = {i for i, a in answers.items() if a["name"] == "test:slow:error"}
    served = {i for i, a in answers.items() if a["name"] == "test:slow:response"}
    assert len(refused) == 2 and len(served) == 3
    for i in refused:
        assert answers[i]["payload"]["code"] == "TOO_MANY_IN_FLIGHT"
        assert answers[i]["payload"]["parameters"] == {"max": 3}
        assert answers[i]["flowId"] == i.replace("slow", "flow")
    # the three admitted ran at once: one sleep, not three
    assert elapsed < 2.5 * SLOW


def test_websocket_events_in_flight_are_capped_per_connection(server):
    with websocket_connection(server) as ws, websocket_connection(server) as other:
        start = time.monotonic()
        for i in range(5):
            ws.send(dumps(slow(i)).decode())
        # another connection is not affected by this one's limit
        other.send(dumps(envelope("rates:get", 1)).decode())
        assert json.loads(other.recv())["name"] == "rates:get:response"
        answers = {}
        for _ in range(5):
            answer = json.loads(ws.recv())
            answers[answer["id"]] = answer
        check_in_flight_answers(answers, time.monotonic() - start)
        first_two = list(answers)[:2]  # refusals are answered at once, before the rest
        assert all(answers[i]["name"] == "test:slow:error" for i in first_two)
        ws.send(dumps(envelope("rates:get", 1)).decode())  # the slots are free again
        assert json.loads(ws.recv())["name"] == "rates:get:response"


def test_a_slow_websocket_event_does_not_hold_up_the_next(server):
    with websocket_connection(server) as ws:
        ws.send(dumps(slow(0)).decode())
        time.sleep(0.1)  # the slow one is running
        ws.send(dumps(envelope("rates:get", 1, id="fast")).decode())
        first, second = json.loads(ws.recv()), json.loads(ws.recv())
    assert (first["id"], first["name"]) == ("fast", "rates:get:response")
    assert (second["id"], second["name"]) == ("slow-0", "test:slow:response")


@pytest.fixture(scope="module")
def logged_server(tmp_path_factory):
    """The same limits, with the server's output in a log file: ``(url, log)``."""
    log = tmp_path_factory.mktemp("logs") / "server.log"
    port = free_port()
    command = [sys.executable, "-m", "flask", "--app", "tests.doc_app", "run"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-reload"]
    with serve_logging_to(command, port, log, {"FLASK_DEBUG": "0", **LIMITS}):
        yield f"http://127.0.0.1:{port}", log


def logged_since(log, offset: int) -> str:
    """What the server logged past ``offset`` bytes of ``log``."""
    with open(log, encoding="utf-8", errors="replace") as lines:
        lines.seek(offset)
        return lines.read()


def test_closing_with_events_in_flight_leaves_the_server_serving(logged_server):
    """The answers of events whose connection closed go nowhere: not to another
    connection, not into the log as errors; the server keeps serving.
    """
    server, log = logged_server
    logged_before = log.stat().st_size
    with websocket_connection(server) as again:
        ws = websocket.create_connection(server.replace("http://", "ws://") + "/events/ws")
        for i in range(3):
            ws.send(dumps(envelope("test:slow", 1, SLOW / 2, id=f"gone-{i}")).decode())
        ws.close()
        again.send(dumps(envelope("rates:get", 1, id="first")).decode())
        assert json.loads(again.recv())["id"] == "first"
        # the closed connection's request is logged once its abandoned events have
        # finished (their answers dropped): ``again`` is still open, so the line is its
        finished_by = time.monotonic() + 20 * SLOW
        while "/events/ws" not in logged_since(log, logged_before):
            assert time.monotonic() < finished_by, "the abandoned events never finished"
            time.sleep(0.05)
        again.send(dumps(envelope("rates:get", 1, id="second")).decode())
        assert json.loads(again.recv())["id"] == "second"  # no stray answer came first
        again.settimeout(0.5)
        with pytest.raises(websocket.WebSocketTimeoutException):
            again.recv()  # and none comes after
    logged = logged_since(log, logged_before)
    assert "/events/ws" in logged  # the log is the server's
    for word in ("Traceback", "Error", "Exception", "gone-"):
        assert word not in logged, logged


def test_socketio_events_in_flight_are_capped_per_connection(server):
    sio = socketio.Client()
    sio.connect(server, namespaces=["/events"], transports=["websocket"], wait_timeout=10)
    answers: dict[str, dict] = {}
    done = threading.Event()

    def on_answer(answer):
        answers[answer["id"]] = answer
        if len(answers) == 5:
            done.set()

    try:
        start = time.monotonic()
        for i in range(5):
            sio.emit("event", dumps(slow(i)).decode(), namespace="/events", callback=on_answer)
        assert done.wait(10 * SLOW)
        check_in_flight_answers(answers, time.monotonic() - start)
        answer = sio.call("event", envelope("rates:get", 1), namespace="/events", timeout=10)
        assert answer["name"] == "rates:get:response"
    finally:
        sio.disconnect()


def test_with_one_event_in_flight_a_websocket_answers_in_arrival_order():
    with flask_server("example_app", {"FLASK_EVENTS_SOCKET_MAX_IN_FLIGHT": "1"}) as base:
        with websocket_connection(base) as ws:
            for i in range(50):
                ws.send(dumps(envelope("rates:get", 1, id=f"id-{i}")).decode())
            answers = [json.loads(ws.recv()) for _ in range(50)]
    assert [a["id"] for a in answers] == [f"id-{i}" for i in range(50)]
    assert {a["name"] for a in answers} == {"rates:get:response"}
