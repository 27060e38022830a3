"""GET /doc (docs/protocol.rst#doc-page)."""

from __future__ import annotations

import re

from flask import Flask

from flask_events import EventsBlueprint


def test_lists_every_event_sorted_by_name_then_version():
    events = EventsBlueprint("events", __name__)
    for name, version in [("ZTestEvent", 1), ("TestEvent", 42), ("TestEvent", 3)]:
        events.add(name, version, lambda e: None, doc=f"Doc of {name} v{version}")
    app = Flask(__name__)
    app.register_blueprint(events)
    html = app.test_client().get("/doc").get_data(as_text=True)
    sections = re.findall(r'<section class="event" id="([^"]+)"', html)
    assert sections == ["TestEvent/v3", "TestEvent/v42", "ZTestEvent/v1"]
    assert "Doc of TestEvent v42" in html and "version 42" in html


def test_docstring_is_the_default_doc(client):
    html = client.get("/doc").get_data(as_text=True)
    assert "Answers the payload it got." in html
    assert 'href="#echo/v1"' in html


def test_everything_is_escaped():
    events = EventsBlueprint("events", __name__)
    events.add(
        '<img src=x onerror="alert(1)">', 1, lambda e: None, doc="<script>window.pwned=1</script>"
    )
    app = Flask(__name__)
    app.register_blueprint(events)
    html = app.test_client().get("/doc").get_data(as_text=True)
    assert "<script>window.pwned" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html


def test_names_with_spaces_get_valid_unique_anchors():
    events = EventsBlueprint("events", __name__)
    events.add("some event", 1, lambda e: None)
    events.add("some event", 2, lambda e: None)
    app = Flask(__name__)
    app.register_blueprint(events)
    html = app.test_client().get("/doc").get_data(as_text=True)
    assert 'id="some%20event/v1"' in html and 'id="some%20event/v2"' in html


def test_empty_registry_and_disabled_page():
    app = Flask(__name__)
    app.register_blueprint(EventsBlueprint("events", __name__))
    app.register_blueprint(EventsBlueprint("nodoc", __name__, doc_url=None), url_prefix="/x")
    client = app.test_client()
    assert "No events are registered" in client.get("/doc").get_data(as_text=True)
    assert client.get("/x/doc").status_code == 404


def test_go_serve_doc_shows_schemas_and_examples():
    """Ports Test_ServeDoc: input/output schemas and their fields are on the page."""
    from marshmallow import Schema, fields

    class MockEventStructInput(Schema):
        f1 = fields.String()
        someNumber = fields.Integer()

    class MockEventStructOutput(Schema):
        field3 = fields.String()
        f4 = fields.Float()

    events = EventsBlueprint("events", __name__)
    for name, version in [("TestEvent", 42), ("ZTestEvent", 1)]:
        events.add(
            name,
            version,
            lambda e, data: {},
            input=MockEventStructInput,
            output=MockEventStructOutput,
            doc="Mock documentation",
            example=(
                {"f1": "some string", "someNumber": 42},
                {"field3": "another string", "f4": 10.42},
            ),
        )
    app = Flask(__name__)
    app.register_blueprint(events)
    html = app.test_client().get("/doc").get_data(as_text=True)
    for text in (
        "TestEvent",
        "f1",
        "MockEventStructInput",
        "f4",
        "Mock documentation",
        "another string",
        "10.42",
    ):
        assert text in html


def test_page_assets_are_served_by_the_blueprint(client):
    html = client.get("/doc").get_data(as_text=True)
    for asset in re.findall(r'(?:src|href)="(/events-static/[^"]+)"', html):
        with client.get(asset) as response:
            assert response.status_code == 200 and response.data
    assert 'src="/events-static/doc.js"' in html and "/events-static/doc.css" in html
    # nothing from elsewhere (the snippets' text names this server's absolute URLs)
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', html)
    assert 'id="filter"' in html and 'data-events-url="/events"' in html


def test_literals_become_code_and_nothing_else_is_markup():
    events = EventsBlueprint("events", __name__)
    events.add("e", 1, print, doc="Use ``amount`` or `x`; <b>bold</b> ``<i>no</i>``")
    app = Flask(__name__)
    app.register_blueprint(events)
    html = app.test_client().get("/doc").get_data(as_text=True)
    assert "<code>amount</code> or <code>x</code>" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<code>&lt;i&gt;no&lt;/i&gt;</code>" in html
