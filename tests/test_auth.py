"""The authentication hook, and ``auth`` never leaving the server: not in answers, not in
logs, not in signals — on every path and transport.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading

import pytest
import websocket
from flask import Flask
from flask_socketio import SocketIO

from flask_events import EventsBlueprint, Forbidden, Unauthorized, current_handling
from flask_events.signals import event_started
from flask_events.testing import post_event, record_signals

from .servers import serve_in_thread

TOKEN = "tok-7c1f-never-to-be-seen"


@pytest.fixture
def app():
    events = EventsBlueprint("events", __name__)
    events.add_batch()

    @events.authenticator
    def authenticate(event):
        token = event.auth.get("token")
        if token is None:
            raise Unauthorized("A token is required", code="TOKEN_REQUIRED")
        if token == "reader" and event.name.endswith(":write"):
            raise Forbidden("Readers cannot write", code="READ_ONLY")
        return {"user": event.identity.get("userId"), "token_kind": token[:3]}

    @events.handler("secret:read", 1)
    def read(event):
        """Needs a token."""
        return {"principal": current_handling().principal}

    @events.handler("secret:write", 1)
    def write(event):
        return "written"

    @events.handler("open:hello", 1, public=True)
    def hello(event):
        """Anyone."""
        return {"principal": current_handling().principal}

    @events.handler("secret:crash", 1)
    def crash(event):
        raise RuntimeError("failing")

    @events.handler("secret:careless", 1)
    def careless(event):
        raise RuntimeError(f"failing with {event.auth}")  # puts the token in a message

    @events.handler("secret:typed", 1)
    def typed(event):
        raise Unauthorized("nope")

    app = Flask(__name__)
    app.config["TESTING"] = True
    app.config["EVENTS_PROPAGATE_EXCEPTIONS"] = False  # the tests read <name>:error answers
    app.register_blueprint(events)
    socketio = SocketIO(app, async_mode="threading")
    events.attach_socketio(socketio)
    app.extensions["test_socketio"] = socketio
    return app


def test_the_authenticator_guards_non_public_handlers(client):
    ok = post_event(client, "secret:read", 1, auth={"token": "admin"}, identity={"userId": 3})
    assert ok.is_success and ok.payload == {"principal": {"user": 3, "token_kind": "adm"}}
    missing = post_event(client, "secret:read", 1)
    assert missing.name == "secret:read:unauthorized" and missing.error_code == "TOKEN_REQUIRED"
    reader = post_event(client, "secret:write", 1, auth={"token": "reader"})
    assert reader.name == "secret:write:forbidden" and reader.error_code == "READ_ONLY"
    assert post_event(client, "open:hello", 1).payload == {"principal": None}


def test_batch_sub_events_are_authenticated_one_by_one(client):
    subs = [
        {
            "name": "secret:read",
            "version": 1,
            "id": "a",
            "flowId": "f",
            "payload": {},
            "auth": {"token": "admin"},
        },
        {"name": "secret:read", "version": 1, "id": "b", "flowId": "f", "payload": {}},
        {"name": "open:hello", "version": 1, "id": "c", "flowId": "f", "payload": {}},
    ]
    answer = post_event(client, "batch", 1, {"parallel": True, "events": subs})
    assert [a["name"] for a in answer.payload] == [
        "secret:read:response",
        "secret:read:unauthorized",
        "open:hello:response",
    ]


def test_the_doc_page_shows_which_events_need_auth(client):
    catalogue = {e["name"]: e["auth"] for e in client.get("/doc.json").json}
    assert catalogue == {
        "batch": False,
        "open:hello": False,
        "secret:careless": True,
        "secret:crash": True,
        "secret:read": True,
        "secret:typed": True,
        "secret:write": True,
    }
    html = client.get("/doc").get_data(as_text=True)
    assert html.count('<span class="badge auth"') == 5


def every_path():
    """(name, payload, raw body or None): success, each error, batch, garbage."""
    auth = {"token": TOKEN}
    sub = {
        "name": "secret:read",
        "version": 1,
        "id": "s",
        "flowId": "f",
        "payload": {},
        "auth": auth,
    }
    return [
        ("secret:read", {}, None),
        ("secret:write", {}, None),
        ("secret:typed", {}, None),
        ("secret:crash", {}, None),
        ("no:such", {}, None),
        ("batch", {"parallel": False, "events": [sub, sub]}, None),
        ("batch", {"parallel": True, "events": [sub]}, None),
        (
            None,
            None,
            json.dumps(
                {
                    "name": "x",
                    "version": "1",
                    "id": "i",
                    "flowId": "f",
                    "payload": {},
                    "auth": auth,
                }
            ),
        ),
    ]


@pytest.mark.e2e
def test_the_token_is_never_echoed_logged_or_signalled(app, client, caplog):
    answers = []
    sio = app.extensions["test_socketio"].test_client(app, namespace="/events")
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(serve_in_thread(app))  # WebSocket: a real server
        ws = websocket.create_connection(base.replace("http", "ws") + "/events/ws", timeout=10)
        stack.callback(ws.close)
        recorder = stack.enter_context(record_signals())
        stack.enter_context(caplog.at_level(logging.DEBUG))
        for name, payload, raw in every_path():
            if raw is None:
                envelope = {
                    "name": name,
                    "version": 1,
                    "id": "i",
                    "flowId": "f",
                    "payload": payload,
                    "auth": {"token": TOKEN},
                }
                raw = json.dumps(envelope)
            answers.append(client.post("/events", data=raw).get_data(as_text=True))
            answers.append(json.dumps(sio.emit("event", raw, namespace="/events", callback=True)))
            ws.send(raw)
            answers.append(ws.recv())
    assert len(answers) == 24
    assert {json.loads(answer)["flowId"] for answer in answers} == {"f"}
    assert all(TOKEN not in answer for answer in answers)
    assert TOKEN not in caplog.text
    transports = {call["transport"] for call in recorder.calls["finished"]}
    assert transports == {"http", "socketio", "websocket"}
    assert "failing" in caplog.text  # the crash was logged, by each transport
    signalled = repr(recorder.calls)
    assert TOKEN not in signalled and "[redacted]" in signalled  # the key shows, not the value


def test_a_token_in_an_exception_message_is_scrubbed_from_the_logged_traceback(client, caplog):
    with caplog.at_level(logging.ERROR, logger="flask_events"):
        answer = post_event(client, "secret:careless", 1, auth={"token": TOKEN})
    assert answer.error_code == "UNHANDLED_ERROR" and TOKEN not in answer.to_json().decode()
    assert "Traceback" in caplog.text and "failing with {'token': '[redacted]'}" in caplog.text
    assert TOKEN not in caplog.text


def test_subscribers_see_redacted_events_and_a_slow_one_only_costs_its_own_time(app):
    """A receiver holding one event (until released) holds up that event's answer
    only: another event, sent meanwhile from another thread, is answered at once.
    """
    seen, answers = [], {}
    holding, release = threading.Event(), threading.Event()

    def slow(sender, event, **extra):
        seen.append((event.name, event.auth))
        if event.name == "secret:read":
            holding.set()
            release.wait(30)

    def ask(name, auth=None):
        answers[name] = post_event(app.test_client(), name, 1, auth=auth)

    held = threading.Thread(target=ask, args=("secret:read", {"token": TOKEN}))
    other = threading.Thread(target=ask, args=("open:hello",))
    with event_started.connected_to(slow, sender=app):
        held.start()
        try:
            assert holding.wait(10)
            other.start()
            other.join(10)
            assert not other.is_alive() and answers["open:hello"].is_success
            assert "secret:read" not in answers  # still held by its receiver
        finally:
            release.set()
            held.join(10)
            other.join(10)
    assert not held.is_alive() and answers["secret:read"].is_success
    assert sorted(seen) == [("open:hello", {}), ("secret:read", {"token": "[redacted]"})]
