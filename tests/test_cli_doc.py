"""``flask events doc`` covers every events blueprint of the app: one self-contained
HTML page (styles and script inline, nothing loaded from or sent to the server), one
JSON catalogue keyed by blueprint, one OpenAPI document.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask, abort, request
from marshmallow import Schema, fields

import flask_events
from flask_events import EventsBlueprint

from .cli_app import create_app
from .servers import flask_command

STATIC = Path(flask_events.__file__).parent / "static"
SERVED = ["plain", "secured", "v1.shared", "v2.shared"]  # "hidden" has no doc routes


@pytest.fixture
def app():
    return create_app({"TESTING": True})


class Tags(HTMLParser):
    """Every start tag of a page, as ``(tag, {attribute: value})``."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def export(runner, tmp_path, *args):
    target = tmp_path / "out"
    result = runner.invoke(args=["events", "doc", "-o", str(target), *args])
    assert result.exit_code == 0, result.output
    return target.read_text(encoding="utf-8"), result.output


def check_self_contained(page):
    tags = Tags(page).tags
    for tag, attrs in tags:
        assert tag not in ("link", "form", "iframe"), (tag, attrs)
        assert "src" not in attrs, (tag, attrs)  # scripts inline, nothing fetched
        assert not attrs.get("href", "#").startswith(("/", "http")), (tag, attrs)
        assert "data-events-url" not in attrs and "action" not in attrs
    assert STATIC.joinpath("doc.css").read_text(encoding="utf-8").strip() in page
    assert STATIC.joinpath("doc.js").read_text(encoding="utf-8").strip() in page
    assert "/events-static" not in page
    ids = Counter(attrs["id"] for _, attrs in tags if "id" in attrs)
    assert [key for key, count in ids.items() if count > 1] == []
    return tags


def test_doc_html_is_one_self_contained_page_of_every_blueprint(runner, tmp_path):
    page, output = export(runner, tmp_path)
    assert "left out events blueprint 'hidden': it has no doc routes" in output
    tags = check_self_contained(page)
    sections = [attrs["id"] for tag, attrs in tags if attrs.get("class") == "event"]
    assert sections == [
        "plain/hello/v1",
        "plain/hello/v2",
        "plain/hello:old/v1",
        "secured/echo/v1",
        "secured/ping/v1",
        "v1.shared/twice/v1",
        "v2.shared/twice/v1",
    ]
    links = {attrs["href"] for tag, attrs in tags if tag == "a"}
    assert {f"#{section}" for section in sections} <= links
    for name, path in zip(SERVED, ["/plain", "/secured", "/v1/s", "/v2/s"]):
        assert f"Blueprint {name}: <code>POST {path}/events</code>" in page
    assert "Try it" not in page and "flask events doc" in page


def test_doc_html_of_one_blueprint_is_self_contained(runner, tmp_path):
    page, _ = export(runner, tmp_path, "--blueprint", "secured")
    tags = check_self_contained(page)
    sections = [attrs["id"] for tag, attrs in tags if attrs.get("class") == "event"]
    assert sections == ["echo/v1", "ping/v1"]


def test_doc_json_is_keyed_by_blueprint(runner, tmp_path):
    text, _ = export(runner, tmp_path, "--format", "json")
    catalogues = json.loads(text)
    assert list(catalogues) == SERVED
    assert [entry["name"] for entry in catalogues["secured"]] == ["echo", "ping"]
    assert catalogues["secured"][0]["auth"] is True


def test_doc_openapi_is_one_document_of_every_blueprint(runner, tmp_path):
    text, _ = export(runner, tmp_path, "--format", "openapi")
    document = json.loads(text)
    assert document["info"]["title"] == "tests.cli_app events"
    assert sorted(document["paths"]) == [
        "/plain/events",
        "/secured/events",
        "/v1/s/events",
        "/v2/s/events",
    ]


def test_doc_asyncapi_is_one_document_of_every_blueprint_keyed_by_its_name(runner, tmp_path):
    text, _ = export(runner, tmp_path, "--format", "asyncapi")
    document = json.loads(text)
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] == "tests.cli_app events"
    assert {key: channel["address"] for key, channel in document["channels"].items()} == {
        "plain.websocket": "/plain/events/ws",
        "secured.websocket": "/secured/events/ws",
        "v1.shared.websocket": "/v1/s/events/ws",
        "v2.shared.websocket": "/v2/s/events/ws",
    }
    assert "secured.websocket.echo.v1" in document["operations"]
    assert "v2.shared.twice.v1.request" in document["components"]["messages"]
    refs = re.findall(r'"\$ref": "#/([^"]+)"', text)
    for ref in refs:  # every reference resolves in the merged document
        node = document
        for part in ref.split("/"):
            node = node[part]
    channel = document["channels"]["secured.websocket"]
    assert channel["messages"]["echo.v1.request"] == {
        "$ref": "#/components/messages/secured.echo.v1.request"
    }


def test_doc_asyncapi_of_one_blueprint_is_its_served_document(runner, app, tmp_path):
    text, _ = export(runner, tmp_path, "--format", "asyncapi", "--blueprint", "plain")
    assert json.loads(text) == app.test_client().get("/plain/asyncapi.json").json


@pytest.mark.e2e
def test_doc_html_as_a_real_subprocess(tmp_path):
    target = tmp_path / "events.html"
    result = flask_command("tests.cli_app", "events", "doc", "-o", target)
    assert result.returncode == 0, result.stderr
    assert "'hidden'" in result.stderr and result.stdout == ""
    check_self_contained(target.read_text(encoding="utf-8"))


@pytest.mark.parametrize("fmt, kind", [("openapi", "OpenAPI"), ("asyncapi", "AsyncAPI")])
def test_doc_refuses_one_schema_name_defined_two_ways(fmt, kind):
    app = Flask(__name__)
    for prefix, field in (("a", fields.Int()), ("b", fields.Str())):
        schema = type("ThingSchema", (Schema,), {"value": field})
        events = EventsBlueprint(f"events_{prefix}", __name__)
        events.add("thing", 1, lambda event, thing: thing, input=schema)
        app.register_blueprint(events, url_prefix=f"/{prefix}")
    result = app.test_cli_runner().invoke(args=["events", "doc", "--format", fmt])
    assert result.exit_code == 1
    assert f"events blueprint 'events_b' defines {kind} schema 'Thing'" in result.output
    single = ["events", "doc", "--format", fmt, "--blueprint", "events_b"]
    assert app.test_cli_runner().invoke(args=single).exit_code == 0


def guarded_app() -> Flask:
    """An app whose /doc routes are refused over HTTP, by docs/docpage.rst's guard."""
    events = EventsBlueprint("events", __name__)
    events.add("hello", 1, lambda event: "hi", doc="Says hi.")

    @events.before_request
    def protect_doc():
        endpoint = (request.endpoint or "").rsplit(".", 1)[-1]
        if endpoint in {"doc", "doc_json", "openapi", "asyncapi", "static"}:
            abort(403)

    app = Flask(__name__)
    app.register_blueprint(events)
    return app


@pytest.mark.parametrize("fmt", ["html", "json", "openapi", "asyncapi"])
def test_doc_exports_a_blueprint_whose_doc_routes_a_before_request_guards(tmp_path, fmt):
    app = guarded_app()
    assert app.test_client().get("/doc").status_code == 403
    assert app.test_client().get("/asyncapi.json").status_code == 403
    page, _ = export(app.test_cli_runner(), tmp_path, "--format", fmt)
    if fmt == "openapi":
        assert "/events" in json.loads(page)["paths"]
    elif fmt == "asyncapi":
        assert "hello.v1.request" in json.loads(page)["components"]["messages"]
    else:
        assert "hello" in page and "Says hi." in page
    if fmt == "html":
        check_self_contained(page)


def test_doc_of_a_route_that_fails_names_its_status(tmp_path):
    app = guarded_app()
    app.view_functions["events.doc_json"] = lambda: abort(404)
    result = app.test_cli_runner().invoke(args=["events", "doc", "--format", "json"])
    assert result.exit_code == 1
    assert "/doc.json answered HTTP 404" in result.output
