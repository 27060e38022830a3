"""Review of issue 14: defects found probing declared errors, pushes and the docs."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from flask_events import EventError, EventsBlueprint, NotFound, TooManyInFlight, redirect_event
from flask_events.event import Event, error_response_event, parse_event

from .envelopes import envelope


def _answer_validator(app: Flask) -> Draft202012Validator:
    """A validator of the 200 answer schema of the app's /openapi.json."""
    document = app.test_client().get("/openapi.json").json
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:openapi", resource)
    pointer = "urn:openapi#/paths/~1events/post/responses/200/content/application~1json/schema"
    return Draft202012Validator({"$ref": pointer}, registry=registry)


def _app() -> Flask:
    events = EventsBlueprint("events", __name__)

    @events.handler("go", 1, errors=[NotFound("No such thing", code="THING_NOT_FOUND")])
    def go(event: Event) -> Any:
        return redirect_event(event, "https://example.com/x", {"a": "1"})

    app = Flask(__name__)
    app.register_blueprint(events)
    return app


def test_openapi_answer_schema_matches_a_redirect_exactly_once() -> None:
    app = _app()
    request = envelope("go")
    answer = app.test_client().post("/events", json=request).json
    assert answer["name"] == "go:redirect"
    errors = list(_answer_validator(app).iter_errors(answer))
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize(
    "error",
    [
        NotFound("No such thing", code="THING_NOT_FOUND"),
        EventError("custom", code="MY_CODE"),
        TooManyInFlight(4),
    ],
    ids=["declared", "custom-code-error", "too-many-in-flight"],
)
def test_openapi_answer_schema_matches_error_answers_exactly_once(error: EventError) -> None:
    app = _app()
    request = parse_event(envelope("go"))
    answer = error_response_event(request, error).to_dict()
    errors = list(_answer_validator(app).iter_errors(answer))
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize("input_schema", [False, True], ids=["plain", "with-input-schema"])
def test_a_returned_undeclared_error_event_is_logged_in_testing(
    caplog: pytest.LogCaptureFixture, input_schema: bool
) -> None:
    import logging

    import marshmallow as ma

    events = EventsBlueprint("events", __name__)

    class Payload(ma.Schema):
        pass

    @events.handler("find", 1, input=Payload if input_schema else None)
    def find(event: Event, *loaded: Any) -> Any:
        return error_response_event(event, NotFound("No such thing", code="NOPE"))

    app = Flask(__name__)
    app.testing = True
    app.register_blueprint(events)
    with caplog.at_level(logging.WARNING, logger="flask_events"):
        for _ in range(2):
            answer = app.test_client().post("/events", json=envelope("find")).json
            assert answer["name"] == "find:notFound"
    logged = [r.getMessage() for r in caplog.records if "does not declare" in r.getMessage()]
    assert len(logged) == 1 and "'find:notFound'" in logged[0]


def test_a_redirect_is_not_logged_as_an_undeclared_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    app = _app()
    app.testing = True
    with caplog.at_level(logging.WARNING, logger="flask_events"):
        answer = app.test_client().post("/events", json=envelope("go")).json
    assert answer["name"] == "go:redirect"
    assert [r.getMessage() for r in caplog.records if "does not declare" in r.getMessage()] == []
