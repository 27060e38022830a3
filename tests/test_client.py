"""EventsClient and AsyncEventsClient against real server processes."""

from __future__ import annotations

import asyncio
import logging

import pytest

from flask_events import (
    AsyncEventsClient,
    ConnectionFailed,
    Event,
    EventLogFilter,
    EventsClient,
    InvalidResponse,
    RequestTimeout,
    UnexpectedStatus,
    current_event,
)

from .servers import flask_server, free_port

USER = {"userId": 7}


@pytest.fixture(scope="module")
def server():
    with flask_server("tests.doc_app") as base:
        yield base


@pytest.fixture
def client(server):
    with EventsClient(f"{server}/events", timeout=5) as client:
        yield client


@pytest.mark.e2e
def test_success_with_fresh_ids(client):
    answer = client.send("rates:get", 1)
    assert isinstance(answer, Event) and answer.is_success and answer.kind == "response"
    assert answer.payload["USD"] == 0.18 and answer.error_code is None
    again = client.send("rates:get", 1)
    assert again.id != answer.id and again.flow_id != answer.flow_id  # not fixed at import


@pytest.mark.e2e
def test_explicit_ids_and_fields_are_sent(client):
    answer = client.send(
        "account:open",
        1,
        {"currency": "USD"},
        identity=USER,
        metadata={"origin": "client"},
        id="my-id",
        flow_id="my-flow",
        auth={"token": "t"},
    )
    assert (answer.id, answer.flow_id) == ("my-id", "my-flow")
    assert answer.payload["origin"] == "client" and answer.auth == {}


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("name", "payload", "kind", "code"),
    [
        ("account:get", {"accountId": 999}, "notFound", "ACCOUNT_NOT_FOUND"),
        ("account:list", {}, "unauthorized", "IDENTITY_REQUIRED"),
        ("account:get", {"accountId": "x"}, "badRequest", "INVALID_PAYLOAD"),
        ("test:crash", {}, "error", "UNHANDLED_ERROR"),
        ("no:such", {}, "eventNotFound", "NO_EVENT_HANDLER_FOUND"),
    ],
)
def test_error_events_are_classified(client, name, payload, kind, code):
    identity = USER if name != "account:list" else None
    answer = client.send(name, 1, payload, identity=identity)
    assert answer.is_error and not answer.is_success
    assert (answer.kind, answer.error_code) == (kind, code)


@pytest.mark.e2e
def test_forbidden_and_unprocessable(client):
    account = client.send("account:open", 1, {}, identity={"userId": 1}).payload
    forbidden = client.send("account:get", 1, {"accountId": account["id"]}, identity=USER)
    assert forbidden.kind == "forbidden"
    short = client.send(
        "account:withdraw", 1, {"accountId": account["id"], "amount": 5}, identity={"userId": 1}
    )
    assert short.kind == "unprocessable" and short.error_code == "INSUFFICIENT_FUNDS"


@pytest.mark.e2e
def test_redirect(client):
    account = client.send("account:open", 1, {}, identity=USER).payload
    answer = client.send("account:statement", 1, {"accountId": account["id"]}, identity=USER)
    assert answer.is_redirect and answer.payload["url"].startswith("https://")


@pytest.mark.e2e
def test_timeout_in_seconds(client):
    with pytest.raises(RequestTimeout):
        client.send("test:slow", 1, 2, timeout=0.3)
    assert client.send("test:slow", 1, 0.01, timeout=5).payload == "late"


def test_connection_refused():
    with EventsClient(f"http://127.0.0.1:{free_port()}/events", timeout=2) as nowhere:
        with pytest.raises(ConnectionFailed):
            nowhere.send("rates:get", 1)


@pytest.mark.e2e
def test_non_2xx_with_status_and_body(server):
    with EventsClient(f"{server}/doc", timeout=5) as wrong:
        with pytest.raises(UnexpectedStatus) as info:
            wrong.send("rates:get", 1)
    assert info.value.status == 405 and info.value.body and info.value.event is None


@pytest.mark.e2e
def test_413_carries_its_bad_protocol_event(client):
    with pytest.raises(UnexpectedStatus) as info:
        client.send("rates:get", 1, "x" * (1024 * 1024))
    assert info.value.status == 413 and info.value.event.name == "badProtocol"


@pytest.mark.e2e
def test_garbage_body(server):
    with EventsClient(f"{server}/garbage", timeout=5) as garbage:
        with pytest.raises(InvalidResponse):
            garbage.send("rates:get", 1)


@pytest.mark.e2e
def test_async_client(server):
    async def main():
        async with AsyncEventsClient(f"{server}/events", timeout=5) as client:
            answers = await asyncio.gather(*(client.send("rates:get", 1) for _ in range(5)))
            with pytest.raises(RequestTimeout):
                await client.send("test:slow", 1, 2, timeout=0.3)
            return answers

    answers = asyncio.run(main())
    assert all(answer.is_success for answer in answers)


@pytest.mark.e2e
def test_flow_id_follows_a_call_through_two_real_services(server):
    """A's handler calls B with the client; B sees (and answers with) A's flowId."""
    with flask_server("tests.doc_app", {"FLASK_RATES_SERVICE_URL": f"{server}/events"}) as a:
        with EventsClient(f"{a}/events", timeout=10) as to_a:
            answer = to_a.send(
                "rates:convert", 1, {"amount": 1000, "to": "USD"}, flow_id="flow-through"
            )
    assert answer.is_success and answer.payload["amount"] == 180
    assert answer.flow_id == "flow-through"
    assert answer.payload["ratesFlowId"] == "flow-through"


def test_inside_a_handler_the_current_flow_id_is_carried_on(app_with_outgoing_call):
    app, sent = app_with_outgoing_call
    response = app.test_client().post(
        "/events", json={"name": "call", "version": 1, "id": "i", "flowId": "outer", "payload": 1}
    )
    assert response.json["name"] == "call:response"
    assert sent == [("outer", "explicit")]


@pytest.fixture
def app_with_outgoing_call():
    """An app whose handler builds outgoing envelopes (no network needed)."""
    from flask import Flask

    from flask_events import EventsBlueprint

    events = EventsBlueprint("events", __name__)
    sent = []
    client = EventsClient("http://127.0.0.1:1/events")

    @events.handler("call", 1)
    def call(event):
        assert current_event.flow_id == "outer"
        carried = client.envelope("other", 1).flow_id
        explicit = client.envelope("other", 1, flow_id="explicit").flow_id
        sent.append((carried, explicit))
        return None

    app = Flask(__name__)
    app.register_blueprint(events)
    yield app, sent
    client.close()


def test_log_records_carry_the_event(app_with_outgoing_call, caplog):
    app, _ = app_with_outgoing_call
    logger = logging.getLogger("test.events")
    log_filter = EventLogFilter()
    caplog.handler.addFilter(log_filter)
    events = app.blueprints["events"]

    @events.handler("log", 1)
    def log(event):
        logger.warning("inside")
        return None

    try:
        with caplog.at_level(logging.WARNING, logger="test.events"):
            app.test_client().post(
                "/events",
                json={
                    "name": "log",
                    "version": 2 - 1,
                    "id": "log-id",
                    "flowId": "log-flow",
                    "payload": None,
                    "auth": {"token": "never-logged"},
                },
            )
            logger.warning("outside")
    finally:
        caplog.handler.removeFilter(log_filter)
    inside, outside = caplog.records[-2:]
    assert (inside.flow_id, inside.event_id, inside.event_name, inside.event_version) == (
        "log-flow",
        "log-id",
        "log",
        1,
    )
    assert outside.flow_id == "-" and "never-logged" not in caplog.text


def test_log_records_of_batch_sub_events_carry_their_own_event(caplog):
    from flask import Flask

    from flask_events import EventsBlueprint
    from flask_events.testing import post_event

    events = EventsBlueprint("events", __name__)
    events.add_batch()
    logger = logging.getLogger("test.batch")

    @events.handler("say", 1)
    def say(event):
        logger.warning("saying %s", event.payload)

    app = Flask(__name__)
    app.register_blueprint(events)
    log_filter = EventLogFilter()
    caplog.handler.addFilter(log_filter)
    try:
        with caplog.at_level(logging.WARNING, logger="test.batch"):
            subs = [
                {"name": "say", "version": 1, "id": f"s{i}", "flowId": "F", "payload": i}
                for i in range(3)
            ]
            post_event(app.test_client(), "batch", 1, {"parallel": True, "events": subs})
    finally:
        caplog.handler.removeFilter(log_filter)
    records = [r for r in caplog.records if r.name == "test.batch"]
    assert sorted((r.event_id, r.getMessage()) for r in records) == [
        ("s0", "saying 0"),
        ("s1", "saying 1"),
        ("s2", "saying 2"),
    ]
