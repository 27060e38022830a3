"""The same protocol cases on every transport, from one parametrized test, so that
HTTP, WebSocket and Socket.IO cannot drift apart.
"""

from __future__ import annotations

import contextlib
import json

import pytest

from flask_events.codec import dumps

from .clients import SENDERS
from .helpers import WIRE_KEYS, envelope
from .servers import flask_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server():
    with flask_server("tests.doc_app") as base:
        yield base


@pytest.fixture(scope="module")
def senders(server):
    """One open connection per transport, for every case."""
    with contextlib.ExitStack() as stack:
        yield {name: stack.enter_context(sender(server)) for name, sender in SENDERS.items()}


CASES = {
    "success": (envelope("rates:get", 1, id="c1", flowId="f1"), "rates:get:response", None),
    "not found": (
        envelope("no:such", 4, id="c2", flowId="f2"),
        "eventNotFound",
        "NO_EVENT_HANDLER_FOUND",
    ),
    "typed error": (
        envelope(
            "account:get", 1, {"accountId": 999}, id="c3", flowId="f3", identity={"userId": 1}
        ),
        "account:get:notFound",
        "ACCOUNT_NOT_FOUND",
    ),
    "handler error": (
        envelope("test:crash", 1, id="c4", flowId="f4"),
        "test:crash:error",
        "UNHANDLED_ERROR",
    ),
    "bad payload": (
        envelope("account:get", 1, {"accountId": "x"}, id="c5", flowId="f5"),
        "account:get:badRequest",
        "INVALID_PAYLOAD",
    ),
    "bad envelope": (
        {"name": "rates:get", "version": "1", "id": "c6", "flowId": "f6", "payload": {}},
        "badProtocol",
        "INVALID_COMMUNICATION_PROTOCOL",
    ),
    "not json": ("{nope", "badProtocol", "INVALID_COMMUNICATION_PROTOCOL"),
}


@pytest.mark.parametrize("transport", list(SENDERS))
@pytest.mark.parametrize("case", list(CASES))
def test_every_transport_answers_alike(senders, transport, case):
    request, name, code = CASES[case]
    text = request if isinstance(request, str) else dumps(request).decode()
    answer = senders[transport](text)
    assert answer["name"] == name
    assert list(answer) == WIRE_KEYS
    if isinstance(request, dict):  # the ids are readable, and kept
        assert (answer["id"], answer["flowId"]) == (request["id"], request["flowId"])
    if code is not None:
        assert answer["payload"]["code"] == code
    assert "hunter2" not in json.dumps(answer)


@pytest.mark.parametrize("transport", list(SENDERS))
def test_every_transport_gives_the_same_answer_for_a_deterministic_event(senders, transport):
    """Not just alike: the same event, key for key and value for value."""
    request = dumps(envelope("no:such", 9, {"n": 2**70}, id="same", flowId="same")).decode()
    assert senders[transport](request) == senders["http"](request)


@pytest.mark.parametrize("transport", list(SENDERS))
def test_auth_is_never_echoed_on_any_transport(senders, transport):
    token = "tok-transport-secret-1234"
    for request, _, _ in CASES.values():
        if isinstance(request, dict):
            request = {**request, "auth": {"token": token}}
            answer = senders[transport](dumps(request).decode())
            assert token not in json.dumps(answer) and answer["auth"] == {}
    batch = envelope(
        "batch",
        1,
        {"events": [{**CASES["success"][0], "auth": {"t": token}}]},
        auth={"token": token},
    )
    answer = senders[transport](dumps(batch).decode())
    assert answer["name"] == "batch:response" and token not in json.dumps(answer)
