"""EventsClient(url, app=...) and AsyncEventsClient(url, app=...) send to a Flask app in
this process, with no server; transport= passes any httpx transport through.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from flask import Flask

from flask_events import AsyncEventsClient, EventsBlueprint, EventsClient, UnexpectedStatus


def make_app() -> Flask:
    app = Flask(__name__)
    app.config["TESTING"] = True
    events = EventsBlueprint("events", __name__)

    @events.handler("echo", 1)
    def echo(event):
        return {"echo": event.payload, "flowId": event.flow_id}

    @events.handler("later", 1)
    async def later(event):
        await asyncio.sleep(0.01)
        return event.payload

    @events.handler("boom", 1)
    def boom(event):
        raise ZeroDivisionError("a bug")

    app.register_blueprint(events)
    return app


def test_sync_client_with_app_sends_in_process():
    with EventsClient("http://service.test/events", app=make_app()) as client:
        answer = client.send("echo", 1, "hi", flow_id="F")
    assert answer.name == "echo:response"
    assert answer.payload == {"echo": "hi", "flowId": "F"}


def test_sync_client_with_app_reaches_async_handlers():
    with EventsClient("http://service.test/events", app=make_app()) as client:
        answers = [client.send("later", 1, n) for n in range(3)]
    assert [answer.payload for answer in answers] == [0, 1, 2]


def test_sync_client_with_app_answers_unknown_events_as_events():
    with EventsClient("http://service.test/events", app=make_app()) as client:
        answer = client.send("nope", 1)
    assert answer.kind == "eventNotFound"


def test_sync_client_with_app_types_a_wrong_url_as_a_status():
    with EventsClient("http://service.test/elsewhere", app=make_app()) as client:
        with pytest.raises(UnexpectedStatus) as raised:
            client.send("echo", 1)
    assert raised.value.status == 404


def test_sync_client_with_app_in_testing_propagates_a_handlers_bug():
    with EventsClient("http://service.test/events", app=make_app()) as client:
        with pytest.raises(ZeroDivisionError):
            client.send("boom", 1)


def test_async_client_with_app_sends_in_process():
    async def main():
        async with AsyncEventsClient("http://service.test/events", app=make_app()) as client:
            return await asyncio.gather(*(client.send("later", 1, n) for n in range(4)))

    answers = asyncio.run(main())
    assert [answer.payload for answer in answers] == [0, 1, 2, 3]


def test_async_client_with_app_answers_sync_handlers():
    async def main():
        async with AsyncEventsClient("http://service.test/events", app=make_app()) as client:
            return await client.send("echo", 1, {"a": 1}, flow_id="G")

    answer = asyncio.run(main())
    assert answer.payload == {"echo": {"a": 1}, "flowId": "G"}


def answering_transport(seen: list) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        event = json.loads(request.content)
        seen.append(event)
        return httpx.Response(
            200,
            json={
                "name": f"{event['name']}:response",
                "version": 1,
                "id": "answer",
                "flowId": event["flowId"],
                "payload": {"mocked": True},
                "metadata": {},
                "identity": {},
                "auth": {},
            },
        )

    return httpx.MockTransport(handler)


def test_sync_client_passes_a_transport_through():
    seen: list = []
    with EventsClient("http://mock.test/events", transport=answering_transport(seen)) as client:
        answer = client.send("thing:get", 1, {"x": 1}, flow_id="F")
    assert answer.payload == {"mocked": True} and answer.flow_id == "F"
    assert seen[0]["name"] == "thing:get" and seen[0]["payload"] == {"x": 1}


def test_async_client_passes_a_transport_through():
    seen: list = []

    async def main():
        transport = answering_transport(seen)
        async with AsyncEventsClient("http://mock.test/events", transport=transport) as client:
            return await client.send("thing:get", 1, 2)

    assert asyncio.run(main()).payload == {"mocked": True}
    assert seen[0]["payload"] == 2


def test_app_and_transport_together_are_refused():
    with pytest.raises(TypeError, match="not both"):
        EventsClient("http://x/events", app=make_app(), transport=answering_transport([]))
    with pytest.raises(TypeError, match="not both"):
        AsyncEventsClient("http://x/events", app=make_app(), transport=answering_transport([]))


def test_a_path_is_enough_with_app_as_with_flasks_test_client():
    with EventsClient("/events", app=make_app()) as client:
        assert client.url == "http://localhost/events"
        assert client.send("echo", 1, "hi", flow_id="F").payload == {"echo": "hi", "flowId": "F"}

    async def main():
        async with AsyncEventsClient("/events", app=make_app()) as client:
            return await client.send("echo", 1, "hi", flow_id="G")

    assert asyncio.run(main()).payload == {"echo": "hi", "flowId": "G"}
