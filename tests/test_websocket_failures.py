"""Rule: unexpected exceptions propagate out of the request when the app propagates
them (EVENTS_PROPAGATE_EXCEPTIONS, or app.testing by default) — over a WebSocket too:
the connection is closed (1011) and the handler's exception leaves the view, where
Flask's ``got_request_exception`` sees it. Otherwise the event answers
``<name>:error`` and the connection goes on.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import websocket
from flask import Flask, got_request_exception

from flask_events import EventsBlueprint

from .servers import serve_in_thread

pytestmark = pytest.mark.e2e


class Crash(RuntimeError):
    pass


def make_app(**config: Any) -> Flask:
    events = EventsBlueprint("events", __name__)

    @events.handler("crash", 1)
    def crash(event: Any) -> Any:
        raise Crash("crashed")

    events.add("echo", 1, lambda event: event.payload)
    app = Flask(__name__)
    app.config.update(config)
    app.register_blueprint(events)
    return app


def envelope(name: str, payload: Any = None) -> str:
    return json.dumps({"name": name, "version": 1, "id": "i", "flowId": "f", "payload": payload})


@pytest.mark.parametrize("in_flight", [1, 100], ids=["in-order", "at-once"])
def test_a_websocket_handlers_exception_propagates_out_of_the_view(in_flight: int) -> None:
    app = make_app(TESTING=True, EVENTS_SOCKET_MAX_IN_FLIGHT=in_flight)
    raised: list[BaseException] = []
    seen = threading.Event()

    def record(sender: Any, exception: BaseException, **extra: Any) -> None:
        raised.append(exception)
        seen.set()

    got_request_exception.connect(record, app)
    try:
        with serve_in_thread(app) as url:
            ws = websocket.create_connection(url.replace("http", "ws") + "/events/ws", timeout=10)
            try:
                ws.send(envelope("crash"))
                opcode, frame = ws.recv_data_frame(control_frame=True)
                assert opcode == websocket.ABNF.OPCODE_CLOSE  # closed, not answered
                assert frame.data[:2] == (1011).to_bytes(2, "big")
            finally:
                ws.shutdown()
            assert seen.wait(10)
    finally:
        got_request_exception.disconnect(record, app)
    assert isinstance(raised[0], Crash)


def test_without_propagation_a_websocket_event_answers_error_and_goes_on() -> None:
    app = make_app(TESTING=True, EVENTS_PROPAGATE_EXCEPTIONS=False)
    with serve_in_thread(app) as url:
        ws = websocket.create_connection(url.replace("http", "ws") + "/events/ws", timeout=10)
        ws.send(envelope("crash"))
        assert json.loads(ws.recv())["name"] == "crash:error"
        ws.send(envelope("echo", 3))
        assert json.loads(ws.recv())["payload"] == 3
        ws.close()
