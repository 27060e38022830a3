"""GET /doc (PROTOCOL §5)."""

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
