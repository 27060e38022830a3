"""Rule: an EventsBlueprint nested in a Flask Blueprint works everywhere: its routes,
the links of its /doc page, and the ``flask events`` commands.
"""

from __future__ import annotations

import json

import pytest
from flask import Blueprint, Flask

from flask_events import EventsBlueprint


@pytest.fixture
def app():
    events = EventsBlueprint("e", __name__)
    events.add("echo", 1, lambda event: event.payload)
    events.add_batch()
    v1 = Blueprint("v1", __name__, url_prefix="/v1")
    v1.register_blueprint(events, url_prefix="/e")
    app = Flask(__name__)
    app.register_blueprint(v1)
    return app


def envelope(payload):
    return {"name": "echo", "version": 1, "id": "i", "flowId": "f", "payload": payload}


def test_nested_routes_serve_events(client):
    answer = client.post("/v1/e/events", json=envelope(7)).get_json()
    assert answer["name"] == "echo:response" and answer["payload"] == 7
    assert client.post("/v1/e/events/", json=envelope(8)).get_json()["payload"] == 8


def test_nested_doc_page_links_to_its_own_endpoint(client):
    page = client.get("/v1/e/doc").get_data(as_text=True)
    assert 'data-events-url="/v1/e/events"' in page
    assert client.get("/v1/e/doc.json").status_code == 200
    spec = client.get("/v1/e/openapi.json").get_json()
    assert "/v1/e/events" in spec["paths"]


def test_cli_send_list_and_doc_work_on_a_nested_blueprint(app, tmp_path):
    runner = app.test_cli_runner()
    sent = runner.invoke(args=["events", "send", "echo", "1", '{"a": 1}'])
    assert sent.exit_code == 0, sent.output
    assert json.loads(sent.output)["payload"] == {"a": 1}
    listed = runner.invoke(args=["events", "list"])
    assert "(v1.e)" in listed.output
    target = tmp_path / "openapi.json"
    written = runner.invoke(args=["events", "doc", "--format", "openapi", "-o", str(target)])
    assert written.exit_code == 0, written.output
    assert "/v1/e/events" in json.loads(target.read_text())["paths"]
    picked = runner.invoke(args=["events", "send", "echo", "1", "--blueprint", "v1.e"])
    assert picked.exit_code == 0, picked.output
