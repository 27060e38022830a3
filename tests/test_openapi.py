"""/doc.json and the OpenAPI documents (standalone and through flask-smorest)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_smorest import Api
from marshmallow import Schema, fields
from openapi_spec_validator import validate

from example_app import create_app
from flask_events import EventsBlueprint


class Thing(Schema):
    name = fields.String(required=True)
    tags = fields.List(fields.String())


class Box(Schema):
    thing = fields.Nested(Thing, required=True)


@pytest.fixture
def app():
    return create_app({"TESTING": True})


def test_doc_json_is_the_catalogue(client):
    catalogue = client.get("/doc.json").json
    names = [(e["name"], e["version"]) for e in catalogue]
    assert names == sorted(names)
    assert ("account:open", 1) in names and ("account:open", 2) in names
    opened = next(e for e in catalogue if (e["name"], e["version"]) == ("account:open", 2))
    assert opened["anchor"] == "account:open/v2"
    assert opened["input"]["name"] == "OpenAccountV2Schema"
    assert "nickname" in opened["input"]["jsonSchema"]["properties"]
    assert opened["output"]["jsonSchema"]["required"] == [
        "balance",
        "currency",
        "id",
        "origin",
        "owner",
    ]
    assert opened["example"]["input"]["nickname"] == "travel"
    assert opened["request"]["payload"] == opened["example"]["input"]
    batch = next(e for e in catalogue if e["name"] == "batch")
    assert batch["batch"] and batch["output"]["jsonSchema"]["type"] == "array"
    assert [s["name"] for s in batch["request"]["payload"]["events"]]  # real events
    rates = next(e for e in catalogue if e["name"] == "rates:get")
    assert rates["async"] is True


def test_standalone_openapi_document_validates(client):
    document = client.get("/openapi.json").json
    validate(document)
    operation = document["paths"]["/events"]["post"]
    requests = operation["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    titles = {schema["title"] for schema in requests}
    assert {"account:open v1", "account:open v2", "batch v1"} <= titles
    assert "OpenAccountV2" in document["components"]["schemas"]


def test_registered_on_a_smorest_api_the_spec_describes_every_event():
    events = EventsBlueprint("things", __name__)
    events.add("thing:box", 1, lambda e, data: data, input=Box, output=Box)
    events.add("thing:plain", 1, lambda e: None)
    app = Flask(__name__)
    app.config.update(API_TITLE="Things", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    api.register_blueprint(events, url_prefix="/things")
    spec = api.spec.to_dict()
    validate(spec)
    operation = spec["paths"]["/things/events"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    payloads = [s["properties"]["payload"] for s in schema["oneOf"]]
    assert {"$ref": "#/components/schemas/Box"} in payloads
    assert {"Box", "Thing"} <= set(spec["components"]["schemas"])
    assert "200" in operation["responses"] and "413" in operation["responses"]


def test_pydantic_models_become_components():
    pydantic = pytest.importorskip("pydantic")

    class Inner(pydantic.BaseModel):
        value: int

    class Outer(pydantic.BaseModel):
        inner: Inner

    events = EventsBlueprint("events", __name__)
    events.add("outer", 1, lambda e, data: data, input=Outer)
    app = Flask(__name__)
    app.register_blueprint(events)
    document = app.test_client().get("/openapi.json").json
    validate(document)
    assert "Inner" in document["components"]["schemas"]
    catalogue = app.test_client().get("/doc.json").json
    assert catalogue[0]["input"]["jsonSchema"]["$defs"]["Inner"]["type"] == "object"


def test_no_events_still_gives_a_valid_document():
    app = Flask(__name__)
    app.register_blueprint(EventsBlueprint("events", __name__))
    validate(app.test_client().get("/openapi.json").json)
    assert app.test_client().get("/doc.json").json == []


def test_doc_json_schemas_are_valid_and_the_examples_match_them(client):
    from jsonschema import Draft202012Validator

    for entry in client.get("/doc.json").json:
        for which in ("input", "output"):
            schema = entry[which] and entry[which]["jsonSchema"]
            if not schema:
                continue
            Draft202012Validator.check_schema(schema)
            example = (entry["example"] or {}).get(which)
            if example is not None:
                errors = list(Draft202012Validator(schema).iter_errors(example))
                assert errors == [], (entry["name"], which, errors)
