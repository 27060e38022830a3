"""flask_events.snippets: the snippets of /doc, as the page gets them from the request
(absolute URLs, wss:// under https), and their text: valid in its language, the
example's values exact whatever they hold.
"""

from __future__ import annotations

import ast
import json
import shlex

from flask import Flask
from flask_socketio import SocketIO

from example_app import create_app
from flask_events import EventsBlueprint
from flask_events.snippets import Endpoints, snippets

HOSTILE = {
    "text": 'it\'s "quoted" </script><script>x()</script> $(touch pwned) `x` \\ ação',
    "n": 9007199254740993,
    "list": [True, None, 1.5],
}
REQUEST = {
    "name": "test:echo",
    "version": 2,
    "id": "i",
    "flowId": "f",
    "payload": HOSTILE,
    "identity": {"userId": 7},
    "auth": {},
    "metadata": {"origin": "doc"},
}


def by_key(found):
    return {snippet.key: snippet for snippet in found}


def test_curl_sends_the_envelope_exactly_shell_quoted():
    found = by_key(snippets(REQUEST, Endpoints("https://h.test/events")))
    words = shlex.split(found["curl"].code.replace("\\\n", " "))
    assert words[:4] == ["curl", "-sS", "-X", "POST"] and words[4] == "https://h.test/events"
    assert json.loads(words[words.index("--data-binary") + 1]) == REQUEST


def test_python_snippet_sends_the_envelope_with_events_client():
    code = by_key(snippets(REQUEST, Endpoints("http://h.test/events")))["python"].code
    tree = ast.parse(code)
    (call,) = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "send"
    ]
    arguments = [ast.literal_eval(argument) for argument in call.args]
    keywords = {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
    assert arguments == ["test:echo", 2, HOSTILE]
    assert keywords == {
        "identity": {"userId": 7},
        "auth": {},
        "metadata": {"origin": "doc"},
        "id": "i",
        "flow_id": "f",
    }
    assert "EventsClient('http://h.test/events')" in code


def test_javascript_snippets_only_for_the_sockets_served():
    assert list(by_key(snippets(REQUEST, Endpoints("http://h/events")))) == ["curl", "python"]
    both = Endpoints("http://h/events", "ws://h/events/ws", "http://h/ns")
    assert list(by_key(snippets(REQUEST, both))) == ["curl", "python", "websocket", "socketio"]


def test_socketio_snippet_passes_a_path_other_than_the_default():
    default = Endpoints("http://h/events", None, "http://h/ns", "/socket.io")
    custom = Endpoints("http://h/events", None, "http://h/ns", "/rt")
    assert 'io("http://h/ns");' in by_key(snippets(REQUEST, default))["socketio"].code
    assert (
        'io("http://h/ns", {path: "/rt"});' in by_key(snippets(REQUEST, custom))["socketio"].code
    )


def test_page_snippets_are_absolute_and_secure_under_https():
    app = create_app({"TESTING": True})
    html = app.test_client().get("/doc", base_url="https://docs.test:8443").get_data(as_text=True)
    assert "curl -sS -X POST https://docs.test:8443/events" in html
    assert "new WebSocket(&#34;wss://docs.test:8443/events/ws&#34;)" in html
    assert 'data-websocket-url="wss://docs.test:8443/events/ws"' in html
    assert "io(&#34;https://docs.test:8443/events&#34;)" in html


def test_page_passes_the_socketio_path_and_namespace_of_this_app():
    events = EventsBlueprint("pathed", __name__)
    events.add("echo", 1, lambda event: event.payload)
    app = Flask(__name__)
    app.register_blueprint(events, url_prefix="/api")
    socketio = SocketIO(app, async_mode="threading", path="realtime")
    events.attach_socketio(socketio, namespace="/ns")
    html = app.test_client().get("/api/doc").get_data(as_text=True)
    assert "io(&#34;http://localhost/ns&#34;, {path: &#34;/realtime&#34;})" in html
    assert "curl -sS -X POST http://localhost/api/events" in html
