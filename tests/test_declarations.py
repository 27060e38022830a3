"""What handlers declare beside their schemas: the typed errors they answer
(``errors=``), the events the server pushes (``pushes()``), deprecated versions — in
doc.json and OpenAPI, and the warnings of debug and testing.
"""

from __future__ import annotations

import logging

import pytest
from flask import Flask, abort
from marshmallow import Schema, fields
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from example_app import create_app
from flask_events import (
    DuplicateHandlerError,
    Event,
    EventError,
    EventNotFound,
    EventsBlueprint,
    EventsError,
    ExampleError,
    Forbidden,
    NotFound,
    Unauthorized,
    Unprocessable,
)

from .envelopes import envelope


class Amount(Schema):
    amount = fields.Integer(required=True, strict=True)


class Overdrawn(Unprocessable):
    """An app's own case: its own code."""

    code = "OVERDRAWN"
    message = "The account would be overdrawn"


def make_app(testing: bool = True, authenticated: bool = False) -> tuple[Flask, EventsBlueprint]:
    app = Flask(__name__)
    app.testing = testing
    bp = EventsBlueprint("events", __name__)
    if authenticated:
        bp.authenticator(lambda event: "someone")

    @bp.handler(
        "pay",
        1,
        input=Amount,
        errors=[NotFound, NotFound("No such payee", code="PAYEE_NOT_FOUND"), Overdrawn],
    )
    def pay(event, data):
        """Pay someone."""
        if data["amount"] == 1:
            raise NotFound("No such payee", code="PAYEE_NOT_FOUND")
        if data["amount"] == 2:
            raise Forbidden()  # not declared
        if data["amount"] == 3:
            abort(410)  # not declared: gone
        if data["amount"] == 4:
            raise Overdrawn()
        if data["amount"] == 5:
            raise EventError("plain", code="PLAIN")
        return {"paid": data["amount"]}

    @bp.handler("old", 1, deprecated="use old v2")
    def old(event):
        return {}

    @bp.handler("old", 2)
    def old_v2(event):
        return {}

    bp.pushes("paid", 1, schema=Amount, doc="A payment arrived.", example={"amount": 3})
    app.register_blueprint(bp)
    return app, bp


def outcomes_of(app: Flask, name: str, version: int = 1) -> list[tuple[str, str, object]]:
    catalogue = app.test_client().get("/doc.json").json
    (entry,) = [e for e in catalogue if (e["name"], e["version"]) == (name, version)]
    return [(o["kind"], o["name"], o["code"]) for o in entry["outcomes"]]


def warnings_of(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_declared_errors_are_outcomes_in_doc_json_in_order():
    app, _ = make_app()
    assert outcomes_of(app, "pay") == [
        ("response", "pay:response", None),
        ("error", "pay:notFound", None),
        ("error", "pay:notFound", "PAYEE_NOT_FOUND"),
        ("error", "pay:unprocessable", "OVERDRAWN"),
        ("protocol", "eventNotFound", "NO_EVENT_HANDLER_FOUND"),
        ("protocol", "badProtocol", "INVALID_COMMUNICATION_PROTOCOL"),
        ("protocol", "pay:badRequest", "INVALID_PAYLOAD"),
        ("protocol", "pay:error", "UNHANDLED_ERROR"),
    ]
    entry = next(e for e in app.test_client().get("/doc.json").json if e["name"] == "pay")
    whens = [o["when"] for o in entry["outcomes"] if o["kind"] == "error"]
    assert whens == ["Not found", "No such payee", "The account would be overdrawn"]
    assert entry["outcomes"][0]["payload"] is None  # no output schema


def test_an_event_without_input_schema_has_no_bad_request_outcome():
    app, _ = make_app()
    assert ("protocol", "old:badRequest", "INVALID_PAYLOAD") not in outcomes_of(app, "old")


def test_an_authenticated_event_can_answer_unauthorized_and_forbidden():
    app, _ = make_app(authenticated=True)
    found = outcomes_of(app, "pay")
    assert ("protocol", "pay:unauthorized", "UNAUTHORIZED") in found
    assert ("protocol", "pay:forbidden", "FORBIDDEN") in found


@pytest.mark.parametrize(
    "errors, message",
    [
        ([ValueError], "must be EventError classes or instances"),
        (["NotFound"], "must be EventError classes or instances"),
        ("NotFound", "must be a list"),
        ([EventError], "an outcome of every event already"),
        ([EventNotFound], "an outcome of every event already"),
    ],
)
def test_errors_that_are_not_typed_errors_fail_at_registration(errors, message):
    bp = EventsBlueprint("events", __name__)
    with pytest.raises(TypeError, match=message) as raised:
        bp.add("pay", 1, lambda e: None, errors=errors)
    assert "'pay' v1" in str(raised.value)


def test_an_error_of_eventerror_with_its_own_code_can_be_declared():
    bp = EventsBlueprint("events", __name__)
    spec = bp.add("pay", 1, lambda e: None, errors=[EventError("Down", code="DOWN")])
    assert [(d.type, d.code) for d in spec.errors] == [("error", "DOWN")]


def test_an_error_declared_twice_is_listed_once():
    bp = EventsBlueprint("events", __name__)
    spec = bp.add("pay", 1, lambda e: None, errors=[Overdrawn, NotFound, Overdrawn, NotFound])
    assert [(d.type, d.code) for d in spec.errors] == [
        ("unprocessable", "OVERDRAWN"),
        ("notFound", None),
    ]


def test_add_batch_declares_errors_too():
    bp = EventsBlueprint("events", __name__)
    spec = bp.add_batch(errors=[Unauthorized])
    assert [(d.type, d.code) for d in spec.errors] == [("unauthorized", None)]


@pytest.mark.parametrize(
    "amount, answered",
    [(2, "pay:forbidden"), (3, "pay:gone")],
)
def test_an_undeclared_typed_error_is_logged_once_in_testing(caplog, amount, answered):
    app, _ = make_app()
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="flask_events"):
        for _ in range(3):
            assert (
                client.post("/events", json=envelope("pay", {"amount": amount})).json["name"]
                == answered
            )
    logged = [m for m in warnings_of(caplog) if "does not declare" in m]
    assert len(logged) == 1
    assert repr(answered) in logged[0] and "'pay' v1" in logged[0]


@pytest.mark.parametrize("amount", [1, 4, 5, 10, "x"])
def test_declared_and_protocol_outcomes_are_not_logged(caplog, amount):
    app, _ = make_app()
    with caplog.at_level(logging.WARNING, logger="flask_events"):
        app.test_client().post("/events", json=envelope("pay", {"amount": amount}))
    assert not [m for m in warnings_of(caplog) if "does not declare" in m]


def test_an_undeclared_typed_error_is_not_logged_in_production(caplog):
    app, _ = make_app(testing=False)
    with caplog.at_level(logging.WARNING, logger="flask_events"):
        answer = app.test_client().post("/events", json=envelope("pay", {"amount": 2}))
    assert answer.json["name"] == "pay:forbidden"
    assert not [m for m in warnings_of(caplog) if "does not declare" in m]


def test_an_undeclared_error_of_a_class_declared_with_another_code_is_logged(caplog):
    bp = EventsBlueprint("events", __name__)

    @bp.handler("find", 1, errors=[NotFound("gone", code="ONE")])
    def find(event):
        raise NotFound("other", code="TWO")

    app = Flask(__name__)
    app.testing = True
    app.register_blueprint(bp)
    with caplog.at_level(logging.WARNING, logger="flask_events"):
        app.test_client().post("/events", json=envelope("find"))
    assert [m for m in warnings_of(caplog) if "does not declare" in m]


def test_a_deprecated_version_is_logged_once_per_process_when_called(caplog):
    app, _ = make_app(testing=False)
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="flask_events"):
        for _ in range(3):
            assert client.post("/events", json=envelope("old")).json["name"] == "old:response"
        client.post("/events", json=envelope("old", version=2))
    logged = [m for m in warnings_of(caplog) if "deprecated" in m]
    assert logged == ["event 'old' version 1 is deprecated: use old v2"]


def test_deprecated_shows_in_doc_json_and_openapi():
    app, _ = make_app()
    client = app.test_client()
    deprecated = {(e["name"], e["version"]): e["deprecated"] for e in client.get("/doc.json").json}
    assert deprecated[("old", 1)] == "use old v2" and deprecated[("old", 2)] is False
    document = client.get("/openapi.json").json
    requests = document["paths"]["/events"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]["oneOf"]
    marked = {r["title"]: r.get("deprecated", False) for r in requests}
    assert marked == {"old v1": True, "old v2": False, "pay v1": False}


def answer_schema(document: dict) -> dict:
    schema = document["paths"]["/events"]["post"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    return {**schema, "components": document.get("components", {})}


def test_openapi_answer_is_one_of_every_outcome_and_validates():
    app, _ = make_app(authenticated=True)
    document = app.test_client().get("/openapi.json").json
    validate(document)
    titles = [s["title"] for s in answer_schema(document)["oneOf"]]
    assert titles == [
        "old:response v1",
        "eventNotFound v1",
        "badProtocol v1",
        "old:unauthorized v1",
        "old:forbidden v1",
        "old:error v1",
        "old:response v2",
        "old:unauthorized v2",
        "old:forbidden v2",
        "old:error v2",
        "pay:response v1",
        "pay:notFound v1",
        "pay:unprocessable v1",
        "pay:badRequest v1",
        "pay:unauthorized v1",
        "pay:forbidden v1",
        "pay:error v1",
        "redirect event",  # any <name>:redirect
    ]
    names = [
        (s["properties"]["name"]["enum"][0], s["properties"]["version"]["enum"][0])
        for s in answer_schema(document)["oneOf"]
        if "enum" in s["properties"]["name"]
    ]
    assert len(names) == len(set(names))  # one envelope per name and version
    overdrawn = next(
        s for s in answer_schema(document)["oneOf"] if s["title"] == "pay:unprocessable v1"
    )
    assert overdrawn["properties"]["payload"]["properties"]["code"]["enum"] == ["OVERDRAWN"]


@pytest.mark.parametrize(
    "sent, answered",
    [
        (envelope("account:open", {"currency": "BRL"}, identity={"userId": "7"}), "response"),
        (envelope("account:get", {"accountId": 999}, identity={"userId": "7"}), "notFound"),
        (envelope("account:get", {"accountId": "x"}), "badRequest"),
        (envelope("account:list"), "unauthorized"),
        (envelope("nothing:here"), "eventNotFound"),
        ({"name": "account:get"}, "badProtocol"),
        (envelope("rates:get"), "response"),
    ],
)
def test_every_answer_of_the_example_app_matches_exactly_one_openapi_outcome(sent, answered):
    app = create_app({"TESTING": True})
    client = app.test_client()
    document = client.get("/openapi.json").json
    answer = client.post("/events", json=sent).json
    assert answer["name"].endswith(answered)
    OAS31Validator(answer_schema(document)).validate(answer)  # oneOf: exactly one


def test_pushes_are_declared_once_with_a_checked_example():
    bp = EventsBlueprint("events", __name__)
    push = bp.pushes("paid", 1, schema=Amount, doc="Paid.\n\nMore.", example={"amount": 1})
    assert (push.name, push.version, push.summary) == ("paid", 1, "Paid.")
    with pytest.raises(DuplicateHandlerError, match="'paid' version 1"):
        bp.pushes("paid", 1)
    with pytest.raises(ExampleError, match="'paid' version 2"):
        bp.pushes("paid", 2, schema=Amount, example={"amount": "x"})
    with pytest.raises(TypeError, match="version"):
        bp.pushes("paid", 0)
    assert bp.pushes("paid", 3, doc=None).doc == ""  # as handler(doc=None): none
    with pytest.raises(TypeError, match="doc of the push 'paid' v4"):
        bp.pushes("paid", 4, doc=b"bytes")
    assert [p.version for p in bp.registry.pushes()] == [1, 3]


def test_pushes_cannot_be_declared_once_serving():
    app, bp = make_app()
    app.test_client().post("/events", json=envelope("old", version=2))
    with pytest.raises(EventsError, match="declare the push 'late' v1"):
        bp.pushes("late", 1)


def test_the_example_app_declares_its_pushes_and_a_deprecated_version():
    app = create_app({"TESTING": True})
    from example_app.accounts import events

    pushed = [(p["name"], p["version"], p["example"]) for p in push_catalogue(events)]
    assert [(n, v) for n, v, _ in pushed] == [
        ("account:balance:changed", 1),
        ("notifications:pong", 1),
    ]
    deprecated = {
        (e["name"], e["version"]): e["deprecated"] for e in app.test_client().get("/doc.json").json
    }
    assert deprecated[("account:open", 1)] == "use version 2"


def push_catalogue(bp: EventsBlueprint) -> list[dict]:
    from flask_events.docs import push_catalogue

    return push_catalogue(bp.registry)


def test_a_push_of_an_undeclared_event_is_logged_once_in_testing(caplog):
    pytest.importorskip("flask_socketio")
    from flask_socketio import SocketIO

    app, bp = make_app()
    socketio = SocketIO(app)
    bp.attach_socketio(socketio, app=app)
    with caplog.at_level(logging.WARNING, logger="flask_events"), app.app_context():
        for _ in range(2):
            bp.push(Event.new("unknown", 1, {}))
            bp.push(Event.new("paid", 1, {"amount": 1}))
    logged = [m for m in warnings_of(caplog) if "does not declare" in m]
    assert len(logged) == 1 and "'unknown' v1" in logged[0]
