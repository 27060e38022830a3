"""The example app: a smoke test in-process, and end to end over real HTTP."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from example_app import create_app
from flask_events.codec import dumps

from .helpers import envelope
from .servers import flask_server

USER = {"userId": 7}


@pytest.fixture
def app():
    return create_app({"TESTING": True})


def send(client, name, payload=None, **extra):
    response = client.post("/events", data=dumps(envelope(name, 1, payload, **extra)))
    assert response.status_code == 200
    return response.json


def test_account_lifecycle(client):
    opened = send(
        client, "account:open", {"currency": "usd"}, identity=USER, metadata={"origin": "tests"}
    )
    assert opened["name"] == "account:open:response"
    account = opened["payload"]
    assert account["currency"] == "USD" and account["origin"] == "tests"
    assert account["owner"] == "7" and account["balance"] == 0
    ref = {"accountId": account["id"]}
    deposited = send(client, "account:deposit", {**ref, "amount": 1500}, identity=USER)
    assert deposited["payload"]["balance"] == 1500
    short = send(client, "account:withdraw", {**ref, "amount": 2000}, identity=USER)
    assert short["name"] == "account:withdraw:unprocessable"
    assert short["payload"]["code"] == "INSUFFICIENT_FUNDS"
    assert (
        send(client, "account:withdraw", {**ref, "amount": 500}, identity=USER)["payload"][
            "balance"
        ]
        == 1000
    )
    assert [a["id"] for a in send(client, "account:list", identity=USER)["payload"]] == [
        account["id"]
    ]
    redirect = send(client, "account:statement", ref, identity=USER)
    assert redirect["name"] == "account:statement:redirect"
    assert redirect["payload"]["queryParameters"] == ref


def test_typed_errors(client):
    assert send(client, "account:list")["name"] == "account:list:unauthorized"
    missing = send(client, "account:get", {"accountId": 99}, identity=USER)
    assert missing["name"] == "account:get:notFound"
    assert missing["payload"]["parameters"] == {"accountId": 99}
    account = send(client, "account:open", {}, identity=USER)["payload"]
    other = send(client, "account:get", {"accountId": account["id"]}, identity={"userId": 8})
    assert other["name"] == "account:get:forbidden"
    bad = send(
        client, "account:deposit", {"accountId": account["id"], "amount": -1}, identity=USER
    )
    assert bad["name"] == "account:deposit:badRequest"


def test_identity_user_id_form(client):
    opened = send(client, "account:open", {}, identity={"user": {"id": "42", "type": "C"}})
    assert opened["payload"]["owner"] == "42"


def test_doc_lists_every_event(client):
    html = client.get("/doc").get_data(as_text=True)
    for name in (
        "account:open",
        "account:get",
        "account:list",
        "account:deposit",
        "account:withdraw",
        "account:statement",
    ):
        assert f'id="{name}/v1"' in html


def post(url, body: bytes):
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], json.loads(error.read())


@pytest.mark.e2e
def test_end_to_end_over_real_http():
    with flask_server("example_app") as base:
        env = envelope(
            "account:open", 1, {"currency": "BRL"}, identity=USER, auth={"token": "e2e-secret"}
        )
        status, content_type, body = post(f"{base}/events", dumps(env))
        assert (status, content_type) == (200, "application/json")
        assert body["name"] == "account:open:response" and body["flowId"] == env["flowId"]
        assert body["auth"] == {}
        account_id = body["payload"]["id"]

        status, _, body = post(
            f"{base}/events/",
            dumps(envelope("account:get", 1, {"accountId": account_id}, identity=USER)),
        )
        assert status == 200 and body["payload"]["id"] == account_id

        status, _, body = post(f"{base}/events", b"not json")
        assert status == 200 and body["name"] == "badProtocol"

        status, _, body = post(f"{base}/events", dumps(envelope("nope", 1)))
        assert status == 200 and body["name"] == "eventNotFound"

        status, _, body = post(f"{base}/events", b"x" * (1024 * 1024 + 1))
        assert status == 413 and body["name"] == "badProtocol"

        with urllib.request.urlopen(f"{base}/doc", timeout=10) as response:
            assert response.status == 200 and b"account:withdraw" in response.read()


@pytest.mark.e2e
def test_body_cut_short_by_the_client_gets_a_bad_protocol_answer():
    """A client that promises more bytes than it sends still gets an event back."""
    with flask_server("example_app") as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b'Content-Length: 500\r\nConnection: close\r\n\r\n{"name":'
            )
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        event = json.loads(body)
        assert event["name"] == "badProtocol"
        # not the JSON decoder's answer: the short read itself is noticed
        assert event["payload"]["parameters"]["message"] == (
            "the body ended before its Content-Length"
        )


@pytest.mark.e2e
def test_chunked_body_over_real_http():
    """A body without Content-Length (chunked) is read up to the limit, then refused."""
    with flask_server("example_app") as base:
        port = int(base.rsplit(":", 1)[1])

        def chunked(body: bytes) -> tuple[bytes, dict]:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(
                    b"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    + b"%x\r\n" % len(body)
                    + body
                    + b"\r\n0\r\n\r\n"
                )
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
            head, _, rest = answer.partition(b"\r\n\r\n")
            return head.split(b"\r\n")[0], json.loads(rest)

        status, body = chunked(dumps(envelope("account:list", 1, identity=USER)))
        assert status == b"HTTP/1.1 200 OK" and body["name"] == "account:list:response"
        status, body = chunked(b" " * (1024 * 1024 + 10))
        assert status.startswith(b"HTTP/1.1 413") and body["name"] == "badProtocol"


def test_metrics_behind_a_flag():
    app = create_app({"TESTING": True, "METRICS": True, "TRACING": True})
    client = app.test_client()
    send(client, "rates:get")
    assert 'events_total{name="rates:get"' in client.get("/metrics").get_data(as_text=True)
    assert create_app({"TESTING": True}).test_client().get("/metrics").status_code == 404


def test_rates_convert_calls_a_rates_service_in_process(monkeypatch):
    """``rates:convert`` asks another app for rates through ``EventsClient(url, app=...)``:
    no server (``rates.test`` resolves nowhere); the rates app answers with the convert
    event's flowId.
    """
    import example_app.accounts
    from flask_events import EventsClient

    url = "http://rates.test/events"
    rates = create_app({"TESTING": True})
    with EventsClient(url, app=rates) as in_process:
        monkeypatch.setitem(example_app.accounts._clients, url, in_process)
        client = create_app({"TESTING": True, "RATES_SERVICE_URL": url}).test_client()
        answer = send(client, "rates:convert", {"amount": 1000, "to": "USD"}, flowId="F")
    assert answer["name"] == "rates:convert:response"
    assert answer["payload"] == {"amount": 180, "currency": "USD", "ratesFlowId": "F"}


def test_a_push_that_fails_leaves_the_deposit_and_fails_the_ping(caplog):
    """With the message queue unreachable, a deposit still stands (its failed push is
    logged) and ``notifications:ping`` answers ``PUSH_FAILED``.
    """
    from .servers import free_port

    unreachable = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    client = create_app({"TESTING": True, "SOCKETIO_MESSAGE_QUEUE": unreachable}).test_client()
    opened = send(client, "account:open", {"currency": "BRL"}, identity=USER)
    ref = {"accountId": opened["payload"]["id"]}
    with caplog.at_level("WARNING"):
        deposited = send(client, "account:deposit", {**ref, "amount": 700}, identity=USER)
    assert deposited["name"] == "account:deposit:response"
    assert deposited["payload"]["balance"] == 700
    assert any("not pushed" in record.getMessage() for record in caplog.records)
    pinged = send(client, "notifications:ping", {"to": "user:7"}, identity=USER)
    assert pinged["name"] == "notifications:ping:error"
    assert pinged["payload"]["code"] == "PUSH_FAILED"
