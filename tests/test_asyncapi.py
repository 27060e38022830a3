"""``GET <prefix>/asyncapi.json``: the AsyncAPI 3.0 document of the WebSocket endpoint
and the Socket.IO namespace (flask_events/asyncapi.py), checked for its shape here and
by the reference parser (npm ``@asyncapi/parser``, under node) in the e2e tests.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

import pydantic
import pytest
from flask import Flask
from flask_socketio import SocketIO
from marshmallow import Schema, fields

from example_app import create_app
from flask_events import EventsBlueprint, Forbidden, NotFound, Unprocessable
from flask_events.asyncapi import asyncapi_document
from flask_events.outcomes import outcomes

from .servers import run_node

KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")


class Tag(pydantic.BaseModel):
    label: str


class Order(pydantic.BaseModel):
    """A pydantic input whose nested model is a ``$defs`` entry."""

    quantity: int = pydantic.Field(ge=1)
    tags: list[Tag] = []


class MoneySchema(Schema):
    amount = fields.Integer(required=True)
    currency = fields.String(required=True)


class ReceiptSchema(Schema):
    total = fields.Nested(MoneySchema, required=True)
    lines = fields.List(fields.String())


def declared_app(*, socketio: bool = True, **blueprint: Any) -> Flask:
    """An app with pydantic and marshmallow schemas, a deprecated version, declared
    errors (a class and a code), pushes, a batch event, and names that are no
    AsyncAPI keys as they are (``:``, ``.``, a space, ``/``, non-ASCII).
    """
    events = EventsBlueprint("shop", __name__, **blueprint)
    errors = [NotFound, Unprocessable("Out of stock", code="OUT_OF_STOCK")]
    example = (
        {"quantity": 2, "tags": [{"label": "gift"}]},
        {"total": {"amount": 4, "currency": "EUR"}},
    )
    schemas = {"input": Order, "output": ReceiptSchema}
    events.add("order:place", 1, lambda e, o: {}, deprecated="use v2", example=example, **schemas)
    doc = "Place an order.\n\nPaid at once."
    events.add("order:place", 2, lambda e, o: {}, errors=errors, doc=doc, **schemas)
    events.add("order.place", 1, lambda e: {}, deprecated=True)
    events.add("ação pedido/x", 1, lambda e: {}, public=True)
    events.add_batch("batch", 1)
    shipped = {"amount": 1, "currency": "EUR"}
    events.pushes("order:shipped", 1, schema=MoneySchema, doc="Sent.", example=shipped)
    events.pushes("ação pedido/x", 1, schema=Tag)

    @events.authenticator
    def authenticate(event):
        if event.auth.get("token") != "t":
            raise Forbidden("no")

    app = Flask(__name__)
    app.config["TESTING"] = True
    app.register_blueprint(events, url_prefix="/v1")
    if socketio:
        events.attach_socketio(SocketIO(app, async_mode="threading"), namespace="/shop")
    return app


@pytest.fixture
def document() -> dict[str, Any]:
    with declared_app().test_client() as client:
        answer = client.get("/v1/asyncapi.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    return answer.json


def refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref":
                yield item
            else:
                yield from refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs(item)


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def message(document: dict[str, Any], ref: dict[str, str]) -> dict[str, Any]:
    """The component message a channel's message reference points at."""
    return resolve(document, resolve(document, ref["$ref"])["$ref"])


def operation(document: dict[str, Any], channel: str, name: str, version: int) -> dict[str, Any]:
    found = [
        op
        for op in document["operations"].values()
        if op["action"] == "receive"
        and op["channel"]["$ref"] == f"#/channels/{channel}"
        and message(document, op["messages"][0])["title"] == f"{name} v{version}"
    ]
    assert len(found) == 1, (channel, name, version)
    return found[0]


def test_asyncapi_json_is_an_asyncapi_3_document_of_both_transports(document):
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "shop events"
    assert {k: c["address"] for k, c in document["channels"].items()} == {
        "websocket": "/v1/events/ws",
        "socketio": "/shop",
    }
    assert "servers" not in document  # the addresses are paths


def test_a_request_message_example_is_the_doc_json_request(document):
    catalogue = declared_app().test_client().get("/v1/doc.json").json
    for entry in catalogue:
        op = operation(document, "websocket", entry["name"], entry["version"])
        request = message(document, op["messages"][0])
        assert request["examples"] == [{"name": "request", "payload": entry["request"]}]


def test_one_receive_operation_per_event_version_on_each_channel(document):
    app = declared_app()
    handled = [(h.name, h.version) for h in app.blueprints["shop"].registry]
    for channel in ("websocket", "socketio"):
        received = [
            op
            for op in document["operations"].values()
            if op["channel"]["$ref"] == f"#/channels/{channel}" and op["action"] == "receive"
        ]
        assert len(received) == len(handled) == 5
        for name, version in handled:
            op = operation(document, channel, name, version)
            (request,) = [message(document, m) for m in op["messages"]]
            assert request["name"] == name
            assert request["payload"]["allOf"][1]["properties"]["version"] == {"const": version}


def test_reply_messages_are_the_response_declared_errors_and_protocol_outcomes(document):
    spec = declared_app().blueprints["shop"].registry.get("order:place", 2)
    op = operation(document, "websocket", "order:place", 2)
    assert op["reply"]["channel"] == {"$ref": "#/channels/websocket"}
    replies = [message(document, m) for m in op["reply"]["messages"]]
    expected = list(dict.fromkeys((o["name"], o["version"]) for o in outcomes(spec, True)))
    assert [(m["name"], int(m["title"].rsplit(" v", 1)[1])) for m in replies] == expected
    assert [m["name"] for m in replies] == [
        "order:place:response",
        "order:place:notFound",
        "order:place:unprocessable",
        "eventNotFound",
        "badProtocol",
        "order:place:badRequest",
        "order:place:unauthorized",
        "order:place:forbidden",
        "order:place:error",
    ]
    response = replies[0]["payload"]["allOf"][1]["properties"]["payload"]
    assert response == {"$ref": "#/components/schemas/Receipt"}
    stock = replies[2]["payload"]["allOf"][1]["properties"]["payload"]
    assert stock["allOf"][0] == {"$ref": "#/components/schemas/ErrorPayload"}
    assert stock["allOf"][1]["properties"]["code"]["enum"] == ["OUT_OF_STOCK"]
    assert "`OUT_OF_STOCK`: Out of stock" in replies[2]["description"]
    any_code = replies[1]["payload"]["allOf"][1]["properties"]["payload"]
    assert any_code == {"$ref": "#/components/schemas/ErrorPayload"}


def test_public_event_has_no_unauthorized_reply(document):
    op = operation(document, "socketio", "ação pedido/x", 1)
    names = [message(document, m)["name"] for m in op["reply"]["messages"]]
    assert names == [
        "ação pedido/x:response",
        "eventNotFound",
        "badProtocol",
        "ação pedido/x:error",
    ]


def test_pushes_are_send_operations_on_the_socketio_channel_only(document):
    sent = [op for op in document["operations"].values() if op["action"] == "send"]
    assert all(op["channel"] == {"$ref": "#/channels/socketio"} for op in sent)
    pushed = [message(document, op["messages"][0]) for op in sent]
    assert [(m["name"], m["title"]) for m in pushed] == [  # by name, as registry.pushes()
        ("ação pedido/x", "ação pedido/x v1"),
        ("order:shipped", "order:shipped v1"),
    ]
    shipped = next(m for m in pushed if m["name"] == "order:shipped")
    assert shipped["payload"]["allOf"][1]["properties"]["payload"] == {
        "$ref": "#/components/schemas/Money"
    }
    assert shipped["examples"][0]["payload"]["payload"] == {"amount": 1, "currency": "EUR"}
    assert shipped["description"] == "Sent."
    assert "correlationId" not in shipped
    websocket = document["channels"]["websocket"]["messages"]
    assert not [key for key in websocket if key.endswith(".push")]


def test_requests_and_answers_correlate_by_the_envelope_id(document):
    assert document["components"]["correlationIds"]["envelopeId"]["location"] == (
        "$message.payload#/id"
    )
    for op in document["operations"].values():
        if op["action"] != "receive":
            continue
        for ref in op["messages"] + op["reply"]["messages"]:
            assert message(document, ref)["correlationId"] == {
                "$ref": "#/components/correlationIds/envelopeId"
            }


def test_every_message_payload_is_the_shared_envelope_component(document):
    envelope = document["components"]["schemas"]["Envelope"]
    assert envelope["required"] == ["name", "version", "id", "flowId", "payload"]
    assert "additionalProperties" not in envelope  # unknown keys are ignored
    for msg in document["components"]["messages"].values():
        assert msg["payload"]["allOf"][0] == {"$ref": "#/components/schemas/Envelope"}
        assert msg["contentType"] == "application/json"


def test_batch_answers_a_list_of_envelopes(document):
    op = operation(document, "websocket", "batch", 1)
    response = message(document, op["reply"]["messages"][0])
    assert response["payload"]["allOf"][1]["properties"]["payload"] == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Envelope"},
    }
    request = message(document, op["messages"][0])
    assert request["payload"]["allOf"][1]["properties"]["payload"] == {
        "$ref": "#/components/schemas/BatchPayload"
    }


def test_deprecated_version_marks_its_request_payload_and_operation(document):
    deprecated = operation(document, "websocket", "order:place", 1)
    assert deprecated["description"].startswith("Deprecated: use v2")
    assert message(document, deprecated["messages"][0])["payload"]["deprecated"] is True
    flagged = operation(document, "websocket", "order.place", 1)
    assert flagged["description"] == "Deprecated."
    current = operation(document, "websocket", "order:place", 2)
    assert "deprecated" not in message(document, current["messages"][0])["payload"]
    assert current["description"] == "Place an order.\n\nPaid at once."
    assert current["summary"] == "Place an order."


def test_payload_schemas_are_components_and_their_refs_resolve(document):
    schemas = document["components"]["schemas"]
    assert schemas["Order"]["properties"]["tags"]["items"] == {"$ref": "#/components/schemas/Tag"}
    assert not [ref for ref in refs(document) if "$defs" in ref]
    assert "$defs" not in schemas["Order"]
    assert schemas["Receipt"]["properties"]["total"] == {"$ref": "#/components/schemas/Money"}
    for ref in set(refs(document)):
        assert resolve(document, ref) is not None, ref
    assert schemas["ErrorPayload"]["required"] == ["code", "parameters", "message"]


def test_names_needing_escaping_get_valid_distinct_keys(document):
    components = document["components"]
    for section in ("schemas", "messages", "correlationIds"):
        assert all(KEY.match(key) for key in components[section]), section
    assert all(KEY.match(key) for key in document["operations"])
    assert all(KEY.match(key) for key in document["channels"])
    messages = components["messages"]
    # "order.place" sorts first and keeps its key; "order:place" maps to it too
    assert messages["order.place.v1.request"]["name"] == "order.place"
    assert messages["order.place_2.v1.request"]["name"] == "order:place"
    assert messages["order.place_2.v2.request"]["name"] == "order:place"
    assert messages["a__o_pedido_x.v1.request"]["name"] == "ação pedido/x"
    assert messages["a__o_pedido_x.v1.push"]["name"] == "ação pedido/x"
    assert "websocket.order.place_2.v2" in document["operations"]


def test_the_document_has_only_the_transports_of_the_registration():
    without_socketio = declared_app(socketio=False).test_client().get("/v1/asyncapi.json").json
    assert list(without_socketio["channels"]) == ["websocket"]
    assert all(op["action"] == "receive" for op in without_socketio["operations"].values())
    http_only = declared_app(socketio=False, websocket_url=None).test_client()
    document = http_only.get("/v1/asyncapi.json").json
    assert document["channels"] == {} and document["operations"] == {}
    assert "order.place_2.v2.request" in document["components"]["messages"]


def test_the_document_of_each_registration_names_its_own_websocket_url():
    events = EventsBlueprint("twice", __name__)
    events.add("echo", 1, lambda event: event.payload)
    app = Flask(__name__)
    app.register_blueprint(events, url_prefix="/a")
    app.register_blueprint(events, url_prefix="/b", name="again")
    client = app.test_client()
    for prefix in ("a", "b"):
        document = client.get(f"/{prefix}/asyncapi.json").json
        assert document["channels"]["websocket"]["address"] == f"/{prefix}/events/ws"


def test_the_function_needs_no_app():
    registry = declared_app().blueprints["shop"].registry
    document = asyncapi_document(registry, title="t", socketio="/s")
    assert list(document["channels"]) == ["socketio"]
    assert "order.place_2.v2.unauthorized" not in document["components"]["messages"]
    assert "order.place_2.v2.forbidden" not in document["components"]["messages"]


# -- the reference parser --------------------------------------------------------------

#: Parse each file named on the command line with @asyncapi/parser; print one JSON
#: line per file: whether it parsed, and every diagnostic.
PARSE = """\
"use strict";
const fs = require("node:fs");
const { Parser } = require("@asyncapi/parser");
(async () => {
  const parser = new Parser();
  for (const file of process.argv.slice(2)) {
    const { document, diagnostics } = await parser.parse(fs.readFileSync(file, "utf8"));
    const found = diagnostics.map((d) => ({
      severity: d.severity, code: d.code, message: d.message, path: d.path.join("/"),
    }));
    const report = { parsed: document !== undefined, diagnostics: found };
    process.stdout.write(JSON.stringify(report) + "\\n");
  }
})().catch((error) => { console.error(error); process.exit(3); });
"""

#: Spectral's severities: 0 is an error.
ERROR = 0


def parse_with_reference_parser(tmp_path, documents: list[Any]) -> list[dict[str, Any]]:
    script = tmp_path / "parse.js"
    script.write_text(PARSE)
    files = []
    for n, document in enumerate(documents):
        files.append(tmp_path / f"asyncapi{n}.json")
        files[-1].write_text(json.dumps(document))
    result = run_node(script, *files, cwd=tmp_path, timeout=180)
    assert result.returncode == 0, (result.stdout, result.stderr)
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(reports) == len(documents)
    for report in reports:
        print(json.dumps(report["diagnostics"], indent=1, ensure_ascii=False))
    return reports


@pytest.mark.e2e
def test_reference_parser_finds_no_error_in_the_example_app_and_a_declaring_app(tmp_path):
    with create_app({"TESTING": True}).test_client() as client:
        example = client.get("/asyncapi.json").json
    assert "account.balance.changed.v1.push" in example["components"]["messages"]
    declaring = declared_app().test_client().get("/v1/asyncapi.json").json
    http_only = declared_app(socketio=False, websocket_url=None).test_client()
    bare = http_only.get("/v1/asyncapi.json").json
    for report in parse_with_reference_parser(tmp_path, [example, declaring, bare]):
        errors = [d for d in report["diagnostics"] if d["severity"] == ERROR]
        assert report["parsed"] and not errors, report["diagnostics"]


@pytest.mark.e2e
def test_reference_parser_reports_a_broken_document(tmp_path):
    """The check above bites: an operation whose reply names a message its channel
    does not carry is an error.
    """
    document = declared_app().test_client().get("/v1/asyncapi.json").json
    op = document["operations"]["websocket.order.place_2.v2"]
    op["reply"]["messages"].append({"$ref": "#/channels/websocket/messages/no.such.message"})
    (report,) = parse_with_reference_parser(tmp_path, [document])
    assert [d for d in report["diagnostics"] if d["severity"] == ERROR]
