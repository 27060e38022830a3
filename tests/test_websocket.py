"""The events protocol over a raw WebSocket: a real server process, real clients."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest
import websocket  # websocket-client

from flask_events.codec import dumps

from .clients import websocket_connection as connect
from .helpers import envelope
from .servers import flask_server, logged_server

pytestmark = pytest.mark.e2e

USER = {"userId": 7}


@pytest.fixture(scope="module")
def server():
    with flask_server("example_app") as base:
        yield base


def ask(ws, env):
    ws.send(dumps(env).decode())
    return json.loads(ws.recv())


def test_request_and_response(server):
    with connect(server) as ws:
        opened = ask(ws, envelope("account:open", 1, {"currency": "BRL"}, identity=USER))
        assert opened["name"] == "account:open:response" and opened["auth"] == {}
        got = ask(
            ws,
            envelope(
                "account:get",
                1,
                {"accountId": opened["payload"]["id"]},
                identity=USER,
                flowId="flow-ws",
            ),
        )
        assert got["name"] == "account:get:response" and got["flowId"] == "flow-ws"


def test_a_reply_is_exactly_what_http_answers(server):
    env = dumps(envelope("no:such:event", 3, {"a": 2**70}, id="same", flowId="same"))
    request = urllib.request.Request(f"{server}/events", data=env, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        over_http = response.read()
    with connect(server) as ws:
        ws.send(env.decode())
        assert ws.recv().encode() == over_http


def test_malformed_and_binary_messages_get_bad_protocol_and_the_connection_stays(server):
    with connect(server) as ws:
        ws.send("{not json")
        assert json.loads(ws.recv())["name"] == "badProtocol"
        ws.send_binary(dumps(envelope("rates:get", 1)))
        answer = json.loads(ws.recv())
        assert (
            answer["name"] == "badProtocol"
            and "binary" in answer["payload"]["parameters"]["message"]
        )
        assert ask(ws, envelope("rates:get", 1))["name"] == "rates:get:response"


def test_a_message_over_the_limit_is_refused_and_the_connection_closed_1009(server):
    with connect(server) as ws:
        ws.send("x" * (1024 * 1024 + 1))
        answer = json.loads(ws.recv())
        assert answer["name"] == "badProtocol"
        opcode, frame = ws.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE
        assert int.from_bytes(frame[:2], "big") == 1009


def test_many_events_in_flight_on_one_connection_each_answered_once(server):
    """Up to EVENTS_SOCKET_MAX_IN_FLIGHT (100) run at once and answer as they finish."""
    with connect(server) as ws:
        for i in range(100):
            ws.send(dumps(envelope("rates:get", 1, id=f"id-{i}")).decode())
        answers = [json.loads(ws.recv()) for _ in range(100)]
        assert sorted(a["id"] for a in answers) == sorted(f"id-{i}" for i in range(100))
        assert {a["name"] for a in answers} == {"rates:get:response"}


def test_fifty_concurrent_connections(server):
    failures, replies = [], []
    lock = threading.Lock()

    def client(n):
        try:
            with connect(server) as ws:
                for i in range(10):
                    answer = ask(ws, envelope("rates:get", 1, id=f"{n}-{i}"))
                    assert answer["id"] == f"{n}-{i}" and answer["name"] == "rates:get:response"
                    with lock:
                        replies.append(answer["id"])
        except Exception as error:  # reported below, with the client's number
            failures.append((n, repr(error)))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert len(replies) == 500 and len(set(replies)) == 500


def test_batch_over_a_websocket(server):
    with connect(server) as ws:
        subs = [envelope("rates:get", 1), envelope("account:list", 1, identity=USER)]
        answer = ask(ws, envelope("batch", 1, {"parallel": True, "events": subs}))
        assert [a["name"] for a in answer["payload"]] == [
            "rates:get:response",
            "account:list:response",
        ]


def test_connections_under_gunicorn_gthread_end_cleanly(tmp_path):
    """Our view hands the socket back to gunicorn as flask-sock does: each connection
    ends without an error and the worker's thread serves the next one.
    """
    log = tmp_path / "gunicorn.log"
    with logged_server("gthread", "example_app:create_app()", log) as port:
        for _ in range(6):  # more connections than the worker has threads
            with connect(f"http://127.0.0.1:{port}") as ws:
                assert ask(ws, envelope("rates:get", 1))["name"] == "rates:get:response"
    logged = log.read_text()
    assert "Traceback" not in logged and "Error" not in logged, logged
