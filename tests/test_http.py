"""The HTTP binding (docs/protocol.rst#http-binding), including the Go library's
ServeHTTP tests.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from flask import Flask
from flask_smorest import Api

from flask_events import Event, EventsBlueprint
from flask_events.codec import dumps
from flask_events.event import random_id

from .helpers import GO_MOCK_EVENT, WIRE_KEYS, envelope, make_blueprint

GO_FLOW_ID = "d00a5c99-ea0e-4b39-bfdc-bf1028a9c95f"


def go_mock_handler(event: Event) -> Event:
    """handlers_test.go mockHandlerFunc: builds its whole response event."""
    return Event(event.name + ":response", 1, random_id(), event.flow_id, event.payload)


def go_mock_event_error(event: Event) -> Event:
    raise RuntimeError("some error")


def post(client, body, path="/events/", **kwargs):
    response = client.post(path, data=body, **kwargs)
    return response, json.loads(response.data)


# -- ports of handlers_test.go ------------------------------------------------------


def test_serve_http_invalid_request(client, recorder):
    response, body = post(client, b"INVALID [}")
    assert response.status_code == 200
    assert response.data and body["name"] == "badProtocol"
    assert recorder.count("error_noticed") == 1
    assert recorder.count("started") == 0


def test_serve_http_event_not_found(app, client, recorder):
    app.blueprints["events"].add("some event", 1, go_mock_handler)
    response, body = post(client, GO_MOCK_EVENT)  # version 42: not registered
    assert response.status_code == 200
    assert body["name"] == "eventNotFound"
    assert recorder.count("event_error_noticed") == 1
    assert recorder.count("started") == 0 and recorder.count("finished") == 0


def test_serve_http_event_handler_error(app, client):
    app.blueprints["events"].add("some event", 42, go_mock_event_error)
    response, body = post(client, GO_MOCK_EVENT)
    assert response.status_code == 200
    assert body["flowId"] == GO_FLOW_ID
    # The Go library answers "error"; the protocol answers "<name>:error".
    assert body["name"] == "some event:error"


def test_serve_http_success(app, client):
    app.blueprints["events"].add("some event", 42, go_mock_handler)
    response, body = post(client, GO_MOCK_EVENT)
    assert response.status_code == 200
    assert body["flowId"] == GO_FLOW_ID
    assert body["name"] == "some event:response"
    assert body["payload"]["an_int64"] == 65484548474984654


def test_unencodable_response(client, recorder):
    response, body = post(client, dumps(envelope("unserializable", 1)))
    assert response.status_code == 500
    assert response.content_type == "application/json"
    assert body["name"] == "unserializable:error"
    assert recorder.count("event_error_noticed") == 1
    assert recorder.count("started") == 1 and recorder.count("finished") == 1


# -- the binding ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/events", "/events/"])
def test_both_paths_answer_without_redirect(client, path):
    response, body = post(client, dumps(envelope("echo", 1, [1])), path=path)
    assert response.status_code == 200 and body["payload"] == [1]


@pytest.mark.parametrize(
    ("event", "expected_name"),
    [
        ("echo", "echo:response"),
        ("lookup", "lookup:notFound"),
        ("boom", "boom:error"),
        ("nothing", "eventNotFound"),
    ],
)
def test_every_protocol_outcome_is_200_json(client, event, expected_name):
    response, body = post(client, dumps(envelope(event, 1)))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert body["name"] == expected_name
    assert list(body) == WIRE_KEYS


@pytest.mark.parametrize(
    "body", [b"", b"[]", b"[{}]", b"\xff\xfe\x00", b'{"name": "echo"}', b"null", b"1"]
)
def test_bad_bodies_are_200_bad_protocol(client, body):
    response, answer = post(client, body)
    assert response.status_code == 200 and answer["name"] == "badProtocol"


def test_unhandled_error_reveals_nothing(client):
    response, body = post(client, dumps(envelope("boom", 1)))
    assert b"hunter2" not in response.data and b"Traceback" not in response.data
    assert body["payload"]["code"] == "UNHANDLED_ERROR"


def test_charset_and_content_type_of_the_request_do_not_matter(client):
    data = dumps(envelope("echo", 1, "café"))
    for content_type in ["text/plain; charset=latin-1", "application/x-www-form-urlencoded", None]:
        headers = {"Content-Type": content_type} if content_type else {}
        _, body = post(client, data, headers=headers)
        assert body["payload"] == "café"


def test_auth_is_not_echoed(client):
    response, body = post(client, dumps(envelope("echo", 1, auth={"token": "tok-42"})))
    assert body["auth"] == {} and b"tok-42" not in response.data


def test_other_methods_are_405(client):
    for method in ("get", "put", "delete", "patch"):
        assert getattr(client, method)("/events").status_code == 405


def test_body_over_the_limit_is_413_bad_protocol(app, client, recorder):
    app.config["EVENTS_MAX_CONTENT_LENGTH"] = 200
    big = dumps(envelope("echo", 1, "x" * 200))
    response, body = post(client, big)
    assert response.status_code == 413 and response.mimetype == "application/json"
    assert body["name"] == "badProtocol" and "200" in body["payload"]["parameters"]["message"]
    assert recorder.count("error_noticed") == 1
    small = dumps(envelope("echo", 1, "x"))
    assert post(client, small)[0].status_code == 200


def test_default_limit_is_one_mebibyte(app, client):
    assert app.config["EVENTS_MAX_CONTENT_LENGTH"] == 1024 * 1024
    response, _ = post(client, dumps(envelope("echo", 1, "x" * (1024 * 1024))))
    assert response.status_code == 413


def test_chunked_body_over_the_limit_is_413(app, client):
    """A body without Content-Length (chunked) is read only up to the limit."""
    app.config["EVENTS_MAX_CONTENT_LENGTH"] = 200

    def send_chunked(data):
        return client.post(
            "/events",
            input_stream=io.BytesIO(data),
            headers={"Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
        )

    response = send_chunked(dumps(envelope("echo", 1, "x" * 300)))
    assert response.status_code == 413 and response.json["name"] == "badProtocol"
    response = send_chunked(dumps(envelope("echo", 1, 1)))
    assert response.status_code == 200 and response.json["payload"] == 1


def test_app_max_content_length_also_answers_with_an_event(app, client):
    app.config["EVENTS_MAX_CONTENT_LENGTH"] = None
    app.config["MAX_CONTENT_LENGTH"] = 50
    response, body = post(client, dumps(envelope("echo", 1, "x" * 100)))
    assert response.status_code == 413 and body["name"] == "badProtocol"


def test_url_prefix_and_second_registration_under_another_name():
    events = make_blueprint()
    app = Flask(__name__)
    app.register_blueprint(events, url_prefix="/api")
    app.register_blueprint(events, name="events_v2", url_prefix="/v2")
    client = app.test_client()
    for path in ("/api/events", "/api/events/", "/v2/events", "/v2/events/"):
        assert post(client, dumps(envelope("echo", 1, 3)), path=path)[1]["payload"] == 3
    for prefix in ("/api", "/v2"):
        check_doc_routes_under(client, prefix, ["boom", "echo", "lookup", "unserializable"])
    assert set(app.extensions["events"]) == {"events", "events_v2"}


def check_doc_routes_under(client, prefix, names):
    """``prefix``'s /doc lists ``names`` and links only to URLs under ``prefix`` that
    are served; its doc.json and openapi.json describe the events under ``prefix``.
    """
    page = client.get(f"{prefix}/doc")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    listed = re.findall(r'<section class="event" id="([^"]+)"', html)
    assert listed == [f"{name}/v1" for name in names]
    assert f"<code>POST {prefix}/events</code>" in html
    urls = re.findall(r'(?:href|src|data-events-url)="([^"#][^"]*)"', html)
    assert set(urls) >= {f"{prefix}/events", f"{prefix}/doc.json", f"{prefix}/openapi.json"}
    for url in urls:
        assert url.startswith(prefix + "/"), url
        if url == f"{prefix}/events":  # where the page's "Send" buttons post
            assert post(client, dumps(envelope("echo", 1, 4)), path=url)[1]["payload"] == 4
        else:
            with client.get(url) as response:  # static files: close them
                assert response.status_code == 200, url
    catalogue = client.get(f"{prefix}/doc.json").get_json()
    assert [(item["name"], item["version"]) for item in catalogue] == [(n, 1) for n in names]
    openapi = client.get(f"{prefix}/openapi.json").get_json()
    assert list(openapi["paths"]) == [f"{prefix}/events"]


def test_one_blueprint_serves_several_apps_with_their_own_config():
    events = make_blueprint()
    apps = [Flask("a"), Flask("b")]
    for app in apps:
        app.register_blueprint(events)
    apps[1].config["EVENTS_MAX_CONTENT_LENGTH"] = 10
    body = dumps(envelope("echo", 1))
    assert apps[0].test_client().post("/events", data=body).status_code == 200
    assert apps[1].test_client().post("/events", data=body).status_code == 413


def test_config_set_before_registration_is_kept():
    app = Flask(__name__)
    app.config["EVENTS_MAX_CONTENT_LENGTH"] = 5
    app.register_blueprint(make_blueprint())
    assert app.config["EVENTS_MAX_CONTENT_LENGTH"] == 5


def test_registers_on_a_flask_smorest_api():
    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    api.register_blueprint(make_blueprint(), url_prefix="/svc")
    client = app.test_client()
    assert post(client, dumps(envelope("echo", 1, 1)), path="/svc/events")[1]["payload"] == 1
    paths = api.spec.to_dict()["paths"]
    assert "/svc/events" in paths and "post" in paths["/svc/events"]
    assert "/svc/doc" not in paths and "/svc/events/" not in paths


def test_handler_runs_inside_the_request_context(app, client):
    from flask import request

    seen = {}

    @app.blueprints["events"].handler("ctx", 1)
    def ctx(event):
        seen["path"] = request.path
        return None

    post(client, dumps(envelope("ctx", 1)))
    assert seen == {"path": "/events/"}


def test_chunked_body_under_our_limit_passes_with_a_larger_app_limit(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 10_000
    app.config["EVENTS_MAX_CONTENT_LENGTH"] = 1_000
    response = client.post(
        "/events",
        input_stream=io.BytesIO(dumps(envelope("echo", 1, "small"))),
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
    )
    assert response.status_code == 200 and response.json["payload"] == "small"


def test_no_limit_of_our_own(app, client):
    app.config["EVENTS_MAX_CONTENT_LENGTH"] = None
    response, body = post(client, dumps(envelope("echo", 1, "x" * (2 * 1024 * 1024))))
    assert response.status_code == 200 and len(body["payload"]) == 2 * 1024 * 1024


@pytest.mark.parametrize("declared", ["abc", "-5", "", "1e3", "²"])
def test_odd_content_length_headers_get_an_event_answer(client, declared):
    response = client.post(
        "/events",
        data=dumps(envelope("echo", 1, 1)),
        environ_overrides={"CONTENT_LENGTH": declared},
    )
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.json["name"] == "badProtocol"  # werkzeug reads no body for these


@pytest.mark.parametrize(
    ("events_url", "paths"),
    [("/ev", ["/ev", "/ev/"]), ("/ev/", ["/ev", "/ev/"]), ("/", ["/"])],
)
def test_custom_events_url(events_url, paths):
    events = EventsBlueprint("events", __name__, events_url=events_url)
    events.add("echo", 1, lambda event: event.payload)
    app = Flask(__name__)
    app.register_blueprint(events, url_prefix="/api")
    client = app.test_client()
    for path in paths:
        response, body = post(client, dumps(envelope("echo", 1, 7)), path="/api" + path)
        assert response.status_code == 200 and body["payload"] == 7


def test_nesting_deeper_than_events_max_depth_is_bad_protocol(app, client):
    assert app.config["EVENTS_MAX_DEPTH"] == 128
    deep = [1]
    for _ in range(126):  # with the envelope and the payload's own level: 128
        deep = [deep]
    response, body = post(client, dumps(envelope("echo", 1, deep)))
    assert response.status_code == 200 and body["name"] == "echo:response"
    response, body = post(client, dumps(envelope("echo", 1, [deep])))
    assert response.status_code == 200 and body["name"] == "badProtocol"
    assert body["payload"]["parameters"]["message"] == "JSON is nested more than 128 levels deep"
    app.config["EVENTS_MAX_DEPTH"] = None  # only the interpreter's limit
    assert post(client, dumps(envelope("echo", 1, [deep])))[1]["name"] == "echo:response"
