"""Rule 9 of issue 11: the specs show only what is HTTP. The WebSocket route is served,
but it is not in the blueprint's ``/openapi.json`` nor in a flask-smorest ``Api``'s
spec.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from flask_events import EventsBlueprint

SMOREST = {"API_TITLE": "accounts", "API_VERSION": "1", "OPENAPI_VERSION": "3.0.3"}


def make_events() -> EventsBlueprint:
    events = EventsBlueprint("accounts", __name__)
    events.add("account:get", 1, lambda event: {})
    return events


def websocket_rules(app: Flask) -> list[str]:
    return [rule.rule for rule in app.url_map.iter_rules() if rule.websocket]


def test_the_websocket_route_is_not_in_an_api_spec():
    app = Flask(__name__)
    app.config.update(SMOREST)
    api = Api(app)
    api.register_blueprint(make_events(), url_prefix="/accounts")
    assert websocket_rules(app) == ["/accounts/events/ws"]  # served
    assert list(api.spec.to_dict()["paths"]) == ["/accounts/events"]


def test_the_websocket_route_is_not_in_the_blueprints_openapi_json():
    app = Flask(__name__)
    app.register_blueprint(make_events(), url_prefix="/accounts")
    assert websocket_rules(app) == ["/accounts/events/ws"]
    document = app.test_client().get("/accounts/openapi.json").get_json()
    assert list(document["paths"]) == ["/accounts/events"]
