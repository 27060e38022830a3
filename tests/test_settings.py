"""The dispatcher's settings as read from the app's configuration, per request."""

from __future__ import annotations

import uuid

import marshmallow as ma
import pytest
from flask import Flask

from flask_events import EventsBlueprint
from flask_events.codec import dumps


class Out(ma.Schema):
    id = ma.fields.Integer(required=True)


def send(app: Flask) -> str:
    body = {"name": "get", "version": 1, "id": str(uuid.uuid4()), "flowId": "f", "payload": {}}
    response = app.test_client().post("/events", data=dumps(body))
    assert response.status_code == 200
    return response.json["name"]


@pytest.fixture
def app() -> Flask:
    events = EventsBlueprint("events", __name__)
    events.add("get", 1, lambda event: {"no": "id"}, output=Out)  # does not match Out
    app = Flask(__name__)
    app.register_blueprint(events)
    return app


@pytest.mark.parametrize(
    "debug, testing, answer",
    [
        (True, False, "get:error"),  # debug alone turns output validation on
        (False, True, "get:error"),  # so does testing alone
        (False, False, "get:response"),  # neither: off
    ],
)
def test_output_validation_defaults_to_debug_or_testing(app, caplog, debug, testing, answer):
    assert app.config["EVENTS_VALIDATE_OUTPUT"] is None
    app.config["EVENTS_PROPAGATE_EXCEPTIONS"] = False  # answered, not raised in testing
    app.debug, app.testing = debug, testing
    assert send(app) == answer
    assert ("does not match Out" in caplog.text) == (answer == "get:error")


def test_an_explicit_setting_wins_over_debug_mode(app):
    app.debug = True
    app.config["EVENTS_VALIDATE_OUTPUT"] = False
    assert send(app) == "get:response"
    app.debug = False
    app.config["EVENTS_VALIDATE_OUTPUT"] = True
    assert send(app) == "get:error"
