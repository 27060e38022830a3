"""Whatever arrives, the answer is a protocol event (or 413), never a 500 or a traceback,
and the next valid event still succeeds: HTTP and Socket.IO in-process, WebSocket over a
real server. Bounded numbers of examples; a longer run: ``--hypothesis-seed`` and
``HYPOTHESIS_MAX_EXAMPLES``.
"""

from __future__ import annotations

import json
import os

import pytest
import websocket
from flask import Flask
from flask_socketio import SocketIO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_events import EventsBlueprint, parse_event
from flask_events.codec import dumps

from .helpers import WIRE_KEYS, make_blueprint
from .servers import flask_server

EXAMPLES = int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
VALID = {"name": "echo", "version": 1, "id": "i", "flowId": "f", "payload": {"a": 1}}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def mutated_envelopes(draw):
    """A valid envelope with one field removed or replaced by anything."""
    envelope = dict(VALID, metadata={}, identity={}, auth={})
    field = draw(st.sampled_from(sorted(envelope)))
    if draw(st.booleans()):
        del envelope[field]
    else:
        envelope[field] = draw(json_values)
    return dumps(envelope)


def special_bodies():
    return st.sampled_from(
        [
            b"[" * 100_000 + b"]" * 100_000,
            b'{"payload": ' + b"[" * 5000 + b"]" * 5000 + b"}",
            b'{"name":"echo","version":1,"id":"i","flowId":"f","payload":' + b"9" * 5000 + b"}",
            b'{"name":"echo","version":1,"id":"i","flowId":"f","payload":1e999999}',
            b'{"name":"echo","version":1,"id":"i","flowId":"f","payload":"'
            + b"x" * 500_000
            + b'"}',
            b'{"name":"\xff\xfe","version":1,"id":"i","flowId":"f","payload":1}',
            b'{"name":"echo","name":"echo","version":1,"version":2,"id":"i","flowId":"f",'
            b'"payload":1}',
            b"\x00\x01\x02",
            b"",
            b"null",
            b"{}",
            b'"\\ud800"',
        ]
    )


bodies = st.binary(max_size=300) | json_values.map(dumps) | mutated_envelopes() | special_bodies()


def assert_protocol_answer(status, text):
    assert status in (200, 413), (status, text[:300])
    assert "Traceback" not in text and "hunter2" not in text
    answer = json.loads(text)
    assert list(answer) == WIRE_KEYS
    parse_event(text)  # a valid event


@pytest.fixture(scope="module")
def app():
    app = Flask(__name__)
    app.register_blueprint(make_blueprint())
    socketio = SocketIO(app, async_mode="threading")
    app.blueprints["events"].attach_socketio(socketio)
    app.extensions["test_socketio"] = socketio
    return app


@FUZZ
@given(body=bodies)
def test_http(app, body):
    client = app.test_client()
    response = client.post("/events", data=body)
    assert_protocol_answer(response.status_code, response.get_data(as_text=True))
    after = client.post("/events", data=dumps(VALID))
    assert after.json["name"] == "echo:response"


@FUZZ
@given(body=bodies)
def test_socketio(app, body):
    sio = app.extensions["test_socketio"].test_client(app, namespace="/events")
    text = body.decode("utf-8", "replace")
    answer = sio.emit("event", text, namespace="/events", callback=True)
    assert_protocol_answer(200, json.dumps(answer))
    after = sio.emit("event", VALID, namespace="/events", callback=True)
    assert after["name"] == "echo:response"
    sio.disconnect(namespace="/events")


@pytest.fixture(scope="module")
def ws_url():
    with flask_server("example_app") as base:
        yield base.replace("http://", "ws://") + "/events/ws"


@pytest.mark.e2e
@settings(
    max_examples=max(10, EXAMPLES // 3),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies)
def test_websocket(ws_url, body):
    ws = websocket.create_connection(ws_url, timeout=20)
    try:
        text = body.decode("utf-8", "replace")
        ws.send(text)
        reply = ws.recv()
        assert_protocol_answer(200, reply)
        if len(text.encode()) <= 1024 * 1024:  # under the limit the connection stays open
            ws.send(dumps({**VALID, "name": "rates:get"}).decode())
            assert json.loads(ws.recv())["name"] == "rates:get:response"
    finally:
        ws.close()
        ws.shutdown()


def test_json_bombs_and_huge_values_on_every_side_are_bounded():
    """100,000 levels of nesting never reach the recursion limit unguarded."""
    events = EventsBlueprint("events", __name__)
    events.add("echo", 1, lambda e: e.payload)
    app = Flask(__name__)
    app.register_blueprint(events)
    bomb = b"[" * 100_000 + b"]" * 100_000
    response = app.test_client().post("/events", data=bomb)
    assert response.status_code == 200 and response.json["name"] == "badProtocol"
    message = response.json["payload"]["parameters"]["message"]
    assert message == "JSON is nested more than 128 levels deep"  # EVENTS_MAX_DEPTH
    # without our limit, the decoder's guard against the recursion limit answers
    app.config["EVENTS_MAX_DEPTH"] = None
    response = app.test_client().post("/events", data=bomb)
    assert response.status_code == 200 and response.json["name"] == "badProtocol"
    assert response.json["payload"]["parameters"]["message"] == "JSON is nested too deeply"
