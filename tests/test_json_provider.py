"""Rule 4 of "Flask-native": the app's JSON provider is honoured.

A value the fast encoder (msgspec) cannot encode goes to ``app.json.default`` before
the answer gives up with ``UNSERIALIZABLE_RESPONSE``: over HTTP, in a batch slot, and
in a push.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask_socketio import SocketIO

from flask_events import Event, EventsBlueprint
from flask_events.codec import dumps

from .envelopes import envelope


class Money:
    """An amount in cents and a currency: not something msgspec knows."""

    def __init__(self, cents: int, currency: str) -> None:
        self.cents, self.currency = cents, currency


class MoneyJSONProvider(DefaultJSONProvider):
    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, Money):
            return {"amount": f"{o.cents // 100}.{o.cents % 100:02d}", "currency": o.currency}
        return DefaultJSONProvider.default(o)


PRICE = {"amount": "12.50", "currency": "EUR"}


@pytest.fixture
def events() -> EventsBlueprint:
    events = EventsBlueprint("events", __name__)
    events.add_batch()

    @events.handler("price", 1)
    def price(event: Event) -> Any:
        return {"price": Money(1250, "EUR")}

    @events.handler("opaque", 1)
    def opaque(event: Event) -> Any:
        return {"value": object()}  # neither encoder knows it

    return events


@pytest.fixture
def app(events: EventsBlueprint) -> Flask:
    app = Flask(__name__)
    app.json = MoneyJSONProvider(app)
    app.register_blueprint(events)
    return app


def post(app: Flask, body: dict[str, Any]) -> tuple[int, Any]:
    response = app.test_client().post("/events", data=dumps(body))
    return response.status_code, response.json


def test_the_apps_json_provider_encodes_an_answer(app):
    status, answer = post(app, envelope("price"))
    assert (status, answer["name"]) == (200, "price:response")
    assert answer["payload"] == {"price": PRICE}


def test_the_apps_json_provider_encodes_a_batch_slot(app):
    subs = [envelope("price"), envelope("opaque"), envelope("price")]
    for parallel in (False, True):
        status, answer = post(app, envelope("batch", {"parallel": parallel, "events": subs}))
        assert status == 200
        slots = answer["payload"]
        assert [slot["name"] for slot in slots] == [
            "price:response",
            "opaque:error",
            "price:response",
        ]
        assert slots[0]["payload"] == slots[2]["payload"] == {"price": PRICE}
        assert slots[1]["payload"]["code"] == "UNSERIALIZABLE_RESPONSE"


def test_the_apps_json_provider_encodes_a_push(app, events):
    socketio = SocketIO(app, async_mode="threading")
    events.attach_socketio(socketio)
    client = socketio.test_client(app, namespace="/events")
    with app.app_context():
        events.push(Event.new("price:changed", 1, {"price": Money(1250, "EUR")}))
    [received] = client.get_received("/events")
    assert received["args"][0]["payload"] == {"price": PRICE}
    client.disconnect(namespace="/events")


def test_a_value_neither_encoder_knows_is_still_unserializable(app):
    status, answer = post(app, envelope("opaque"))
    assert (status, answer["name"]) == (500, "opaque:error")
    assert answer["payload"]["code"] == "UNSERIALIZABLE_RESPONSE"


def test_without_a_provider_default_the_answer_is_unserializable(events):
    class NoDefault(DefaultJSONProvider):
        default = None  # type: ignore[assignment]

    app = Flask(__name__)
    app.json = NoDefault(app)
    app.register_blueprint(events)
    status, answer = post(app, envelope("price"))
    assert (status, answer["payload"]["code"]) == (500, "UNSERIALIZABLE_RESPONSE")


def test_what_msgspec_encodes_keeps_its_encoding(app):
    """The provider is asked only for what msgspec cannot encode: datetimes stay ISO
    8601 (Flask's provider would write an HTTP date).
    """
    from datetime import datetime, timezone

    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    app.blueprints["events"].add("both", 1, lambda e: {"at": when, "price": Money(5, "EUR")})
    answer = post(app, envelope("both"))[1]
    assert answer["payload"] == {
        "at": "2026-01-02T03:04:05Z",
        "price": {"amount": "0.05", "currency": "EUR"},
    }
