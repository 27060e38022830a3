"""The /doc page's "try it" panels: fresh ids on every send, EVENTS_DOC_TRY_IT, a
batch example that sends a real event, and /doc protected or turned off as
docs/docpage.rst shows.
"""

from __future__ import annotations

import pytest
from flask import Flask

from example_app import create_app
from flask_events import EventsBlueprint
from flask_events.signals import event_started

from .browser import doc_page_of, try_it
from .doc_snippets import page_snippets
from .envelopes import envelope


@pytest.mark.e2e
def test_try_it_sends_a_fresh_id_and_flow_id_every_time():
    app = create_app()
    received: list[tuple[str, str, str]] = []

    def record(sender, event, **extra):
        received.append((event.name, event.id, event.flow_id))

    event_started.connect(record, sender=app)
    try:
        with doc_page_of(app) as page:
            for _ in range(2):
                try_it(page, "rates:get/v1")
    finally:
        event_started.disconnect(record, sender=app)
    sent = [r for r in received if r[0] == "rates:get"]
    assert len(sent) == 2
    (_, id1, flow1), (_, id2, flow2) = sent
    assert id1 != id2 and flow1 != flow2
    assert not {id1, id2, flow1, flow2} & {
        "00000000-0000-4000-8000-000000000001",
        "00000000-0000-4000-8000-000000000002",
    }


def test_doc_try_it_false_hides_the_panels_and_keeps_the_documentation():
    app = create_app({"TESTING": True})
    client = app.test_client()
    assert 'class="try"' in client.get("/doc").get_data(as_text=True)
    app.config["EVENTS_DOC_TRY_IT"] = False  # read when the page is rendered
    html = client.get("/doc").get_data(as_text=True)
    assert 'class="try"' not in html and "Try it" not in html
    assert 'id="account:open/v2"' in html and "Input example" in html


def test_batch_example_sends_a_real_event_that_answers():
    app = create_app({"TESTING": True})
    client = app.test_client()
    (batch,) = [e for e in client.get("/doc.json").json if e["name"] == "batch"]
    for payload in (batch["request"]["payload"], batch["example"]["input"]):
        answer = client.post("/events", json=envelope("batch", payload)).json
        assert answer["name"] == "batch:response"
        assert payload["events"] and len(answer["payload"]) == len(payload["events"])
        for sub, slot in zip(payload["events"], answer["payload"]):
            assert slot["name"] == sub["name"] + ":response"


def _documented(heading: str) -> str:
    """The Python snippet of docs/docpage.rst that follows ``heading``."""
    (code,) = [s.code for s in page_snippets("docpage.rst") if s.section == heading]
    return code


def test_documented_before_request_protects_the_doc_routes_only():
    namespace = {"__name__": __name__}
    exec(compile(_documented("Protecting the page"), "docpage.rst", "exec"), namespace)
    events = namespace["events"]
    events.add("echo", 1, lambda event: event.payload)
    app = Flask(__name__)
    app.config["DOC_TOKEN"] = "s3cret"
    app.register_blueprint(events, url_prefix="/api")
    client = app.test_client()
    urls = ("/doc", "/doc.json", "/openapi.json", "/asyncapi.json", "/events-static/doc.js")
    for url in ("/api" + url for url in urls):
        with client.get(url) as response:
            assert response.status_code == 403, url
        with client.get(url, headers={"X-Doc-Token": "s3cret"}) as response:
            assert response.status_code == 200, url
    answer = client.post("/api/events", json=envelope("echo", {"a": 1}))
    assert answer.status_code == 200 and answer.json["name"] == "echo:response"


def test_doc_url_none_leaves_no_doc_nor_static_route():
    app = Flask(__name__)
    events = EventsBlueprint("events", __name__, doc_url=None)
    app.register_blueprint(events)
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert not {e for e in endpoints if e.startswith("events.") and "event" not in e[7:]}
    assert "events.static" not in endpoints
    client = app.test_client()
    for url in ("/doc", "/doc.json", "/openapi.json", "/asyncapi.json", "/events-static/doc.js"):
        with client.get(url) as response:
            assert response.status_code == 404, url
