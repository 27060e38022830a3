"""``EVENTS_SERVICES`` and ``events_client(name)`` / ``async_events_client(name)``: one
pooled client per app and service, made from the app's config, closed at exit.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest
from flask import Flask

from flask_events import (
    AsyncEventsClient,
    ConnectionFailed,
    EventsBlueprint,
    EventsClient,
    ServiceConfigError,
    UnknownService,
    async_events_client,
    events_client,
)

from .servers import free_port


def rates_app() -> Flask:
    app = Flask(__name__)
    app.config["TESTING"] = True
    events = EventsBlueprint("events", __name__)

    @events.handler("rates:get", 1)
    def rates(event):
        return {"USD": 0.18}

    app.register_blueprint(events)
    return app


def caller_app(**services) -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, EVENTS_SERVICES=services)
    events = EventsBlueprint("events", __name__)

    @events.handler("convert", 1)
    def convert(event):
        return events_client("rates").send("rates:get", 1).payload["USD"] * event.payload

    @events.handler("convert_async", 1)
    async def convert_async(event):
        answer = await async_events_client("rates").send("rates:get", 1)
        return answer.payload["USD"] * event.payload

    app.register_blueprint(events)
    return app


def call(app: Flask, name: str, payload):
    body = {"name": name, "version": 1, "id": "i", "flowId": "f", "payload": payload}
    return app.test_client().post("/events", json=body).json


def test_a_handler_sends_to_a_configured_service():
    app = caller_app(rates={"url": "http://rates.test/events", "app": rates_app()})
    assert call(app, "convert", 100)["payload"] == 18


def test_an_async_handler_sends_to_a_configured_service():
    app = caller_app(rates={"url": "http://rates.test/events", "app": rates_app()})
    assert call(app, "convert_async", 100)["payload"] == 18


def test_one_pooled_client_per_app_and_service():
    services = {"url": "http://rates.test/events", "app": rates_app()}
    app, other = caller_app(rates=services, fx=services), caller_app(rates=services)
    with app.app_context():
        client = events_client("rates")
        assert isinstance(client, EventsClient) and events_client("rates") is client
        assert events_client("fx") is not client
        assert app.extensions["events.clients"]["rates"] is client
    assert events_client("rates", app=other) is not client
    assert events_client("rates", app=app) is client


def test_the_entry_gives_the_clients_arguments():
    url = f"http://127.0.0.1:{free_port()}/events"  # nothing listens there
    app = caller_app(rates={"url": url, "timeout": 3, "retries": 2, "backoff": 0.01})
    client = events_client("rates", app=app)
    assert (client.url, client.timeout, client.retries) == (url, 3, 2)
    with pytest.raises(ConnectionFailed) as raised:
        client.send("rates:get", 1)
    assert raised.value.attempts == 3


def test_a_closed_client_is_replaced():
    app = caller_app(rates={"url": "http://rates.test/events", "app": rates_app()})
    first = events_client("rates", app=app)
    first.close()
    second = events_client("rates", app=app)
    assert second is not first and second.send("rates:get", 1).is_success


def test_an_unknown_service_is_an_error_naming_the_known_ones():
    app = caller_app(rates={"url": "http://r/events"}, fx={"url": "http://f/events"})
    with pytest.raises(UnknownService, match=r"'ratez'.*known: fx, rates"):
        events_client("ratez", app=app)
    bare = Flask(__name__)
    with pytest.raises(UnknownService, match="known: none"), bare.app_context():
        events_client("rates")


def test_an_entry_without_url_or_with_an_unknown_key_is_an_error():
    app = caller_app(nourl={"timeout": 1}, typo={"url": "http://r/events", "retry": 3})
    with pytest.raises(ServiceConfigError, match="needs a 'url'"):
        events_client("nourl", app=app)
    with pytest.raises(ServiceConfigError, match=r"\(not retry\)"):
        events_client("typo", app=app)


def test_async_twin_pools_one_client_per_event_loop():
    app = caller_app(rates={"url": "http://rates.test/events", "app": rates_app()})

    async def main():
        client = async_events_client("rates", app=app)
        assert async_events_client("rates", app=app) is client
        answer = await client.send("rates:get", 1)
        await client.aclose()
        return client, answer

    first, answer = asyncio.run(main())
    second, _ = asyncio.run(main())
    assert isinstance(first, AsyncEventsClient) and answer.is_success
    assert second is not first


def test_async_twin_needs_a_running_loop():
    app = caller_app(rates={"url": "http://rates.test/events"})
    with pytest.raises(RuntimeError, match="running event loop"):
        async_events_client("rates", app=app)


@pytest.mark.e2e
def test_pooled_clients_are_closed_at_interpreter_exit():
    script = textwrap.dedent(
        """
        import atexit
        from flask import Flask
        from flask_events import events_client

        app = Flask("x")
        app.config["EVENTS_SERVICES"] = {"rates": {"url": "http://rates.test/events"}}
        client = events_client("rates", app=app)
        print(client._http.is_closed)
        atexit._run_exitfuncs()  # what the interpreter runs at exit
        print(client._http.is_closed)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "True"]
