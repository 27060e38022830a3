"""The events protocol over Socket.IO, and push: real server processes, real clients."""

from __future__ import annotations

import queue

import pytest

from flask_events.codec import dumps

from .clients import NS
from .clients import http_post as post
from .clients import socketio_call as call
from .clients import socketio_client as client
from .helpers import envelope
from .servers import flask_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server():
    with flask_server("example_app") as base:
        yield base


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_the_answer_is_the_acknowledgement(server, transport):
    with client(server, transport) as sio:
        answer = call(sio, envelope("rates:get", 1, id="ack-1", auth={"token": "t"}))
        assert answer["name"] == "rates:get:response" and answer["id"] == "ack-1"
        assert answer["auth"] == {}
        assert call(sio, dumps(envelope("rates:get", 1)).decode())["name"] == (
            "rates:get:response"
        )  # a JSON string works too
        assert call(sio, "{nope")["name"] == "badProtocol"
        assert sio.received.empty()  # acknowledged answers are not emitted as well


def test_without_acknowledgement_the_answer_is_emitted_back(server):
    with client(server) as sio:
        sio.emit("event", envelope("rates:get", 1, id="no-ack"), namespace=NS)
        answer = sio.received.get(timeout=10)
        assert answer["name"] == "rates:get:response" and answer["id"] == "no-ack"


def test_push_to_one_client(server):
    with client(server) as a, client(server) as b:
        sid_a = call(a, envelope("notifications:subscribe", 1, identity={"userId": 1}))["payload"][
            "sid"
        ]
        pushed = call(b, envelope("notifications:ping", 1, {"to": sid_a}))
        assert pushed["name"] == "notifications:ping:response"
        pong = a.received.get(timeout=10)
        assert pong["name"] == "notifications:pong" and pong["flowId"] == pushed["flowId"]
        with pytest.raises(queue.Empty):
            b.received.get(timeout=0.5)


def test_push_to_a_room_from_an_http_request(server):
    with client(server) as a, client(server) as c, client(server) as other:
        for sio in (a, c):
            call(sio, envelope("notifications:subscribe", 1, identity={"userId": 77}))
        call(other, envelope("notifications:subscribe", 1, identity={"userId": 78}))
        account = post(server, envelope("account:open", 1, {}, identity={"userId": 77}))
        post(
            server,
            envelope(
                "account:deposit",
                1,
                {"accountId": account["payload"]["id"], "amount": 250},
                identity={"userId": 77},
                flowId="deposit-flow",
            ),
        )
        for sio in (a, c):
            notice = sio.received.get(timeout=10)
            assert notice["name"] == "account:balance:changed"
            assert notice["payload"]["balance"] == 250 and notice["flowId"] == "deposit-flow"
        with pytest.raises(queue.Empty):
            other.received.get(timeout=0.5)


def test_batch_over_socketio(server):
    with client(server) as sio:
        subs = [envelope("rates:get", 1), envelope("nope", 1)]
        answer = call(sio, envelope("batch", 1, {"parallel": True, "events": subs}))
        assert [a["name"] for a in answer["payload"]] == ["rates:get:response", "eventNotFound"]


def test_subscribing_needs_socketio(server):
    answer = post(server, envelope("notifications:subscribe", 1, identity={"userId": 1}))
    assert answer["name"] == "notifications:subscribe:badRequest"
