"""Rule 5 of issue 11: configuration is read when it is used, ``None`` means "no limit"
for every limit key, and registering an events blueprint leaves other extensions'
configuration alone (flask-sock's ``SOCK_SERVER_OPTIONS``).

Every key of ``DEFAULT_CONFIG`` is set *after* ``register_blueprint`` on a fresh app,
and its effect observed through the transport that uses it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, Callable

import pytest
import websocket  # websocket-client
from flask import Flask
from flask_sock import Sock
from flask_socketio import SocketIO
from marshmallow import Schema, fields

from flask_events import Event, EventsBlueprint
from flask_events.blueprint import DEFAULT_CONFIG
from flask_events.codec import dumps
from flask_events.config import APP_WIDE
from flask_events.errors import InvalidOutput
from flask_events.event import random_id
from flask_events.transports.websocket import UNLIMITED_THREADS

from .servers import dripping_redis, serve_in_thread

#: Generous bound for what should happen at once on a loaded machine.
PATIENCE = 10.0
#: A WebSocket message above simple-websocket's cap for the default limit (4 MiB + 1 KiB).
HUGE = 4 * 1024 * 1024 + 64 * 1024


def envelope(name: str, payload: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "version": 1,
        "id": extra.pop("id", random_id()),
        "flowId": random_id(),
        "payload": {} if payload is None else payload,
        **extra,
    }


def batch(events: list[dict[str, Any]], parallel: bool = False) -> dict[str, Any]:
    return envelope("batch", {"parallel": parallel, "events": events})


class Out(Schema):
    id = fields.Integer(required=True)


def make_app(config_prefix: str = "EVENTS_", **config: Any) -> tuple[Flask, SimpleNamespace]:
    """A fresh app (``config`` set before registering) and a probe of its handlers:
    ``release`` lets ``held`` events finish, ``inside`` counts the ``held`` and
    ``counted`` handlers running, ``most`` the most that ran at once.
    """
    probe = SimpleNamespace(
        release=threading.Event(), lock=threading.Lock(), inside=0, most=0, app=None
    )
    events = EventsBlueprint("events", __name__, config_prefix=config_prefix)
    events.add_batch()

    @events.handler("echo", 1)
    def echo(event: Event) -> Any:
        return event.payload

    @events.handler("sleep", 1)
    def sleep(event: Event) -> Any:
        time.sleep(float(event.payload))
        return "slept"

    @events.handler("bad:output", 1, output=Out)
    def bad_output(event: Event) -> Any:
        return {"name": "no id"}

    def counted(wait: bool) -> None:
        with probe.lock:
            probe.inside += 1
            probe.most = max(probe.most, probe.inside)
        try:
            if wait:
                assert probe.release.wait(PATIENCE)
            else:
                time.sleep(0.05)
        finally:
            with probe.lock:
                probe.inside -= 1

    events.add("held", 1, lambda event: counted(wait=True))
    events.add("counted", 1, lambda event: counted(wait=False))
    app = Flask(__name__)
    app.config.update(config)
    app.register_blueprint(events)
    probe.app = app
    return app, probe


def post(app: Flask, body: Any) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else dumps(body)
    response = app.test_client().post("/events", data=data)
    return response.status_code, response.get_json()


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


@contextlib.contextmanager
def websocket_to(app: Flask, path: str = "/events/ws") -> Iterator[Any]:
    """Serve ``app`` in this process; one WebSocket connection to ``path``."""
    with serve_in_thread(app) as base:
        ws = websocket.create_connection(base.replace("http", "ws") + path, timeout=PATIENCE)
        try:
            yield ws
        finally:
            ws.close()
            ws.shutdown()


def ask(ws: Any, env: dict[str, Any]) -> dict[str, Any]:
    ws.send(dumps(env).decode())
    return json.loads(ws.recv())  # type: ignore[no-any-return]


def closed_with(ws: Any) -> int:
    """The close code the server sent (skipping any answer before it)."""
    while True:
        opcode, frame = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(frame[:2], "big")


# -- each key, set after registration ---------------------------------------------------


def max_content_length(app: Flask, probe: SimpleNamespace) -> None:
    app.config["EVENTS_MAX_CONTENT_LENGTH"] = 100
    status, answer = post(app, envelope("echo", "x" * 200))
    assert (status, answer["name"]) == (413, "badProtocol")


def validate_output(app: Flask, probe: SimpleNamespace) -> None:
    assert not (app.debug or app.testing)  # not checked by default
    app.config["EVENTS_VALIDATE_OUTPUT"] = True
    assert post(app, envelope("bad:output"))[1]["name"] == "bad:output:error"


def propagate_exceptions(app: Flask, probe: SimpleNamespace) -> None:
    app.config["EVENTS_VALIDATE_OUTPUT"] = True  # bad:output raises InvalidOutput
    assert post(app, envelope("bad:output"))[1]["name"] == "bad:output:error"
    app.config["EVENTS_PROPAGATE_EXCEPTIONS"] = True  # out of the view: Flask's 500
    assert app.test_client().post("/events", data=dumps(envelope("bad:output"))).status_code == 500
    app.testing = True  # which the test client raises
    with pytest.raises(InvalidOutput):
        post(app, envelope("bad:output"))


def batch_max_events(app: Flask, probe: SimpleNamespace) -> None:
    app.config["EVENTS_BATCH_MAX_EVENTS"] = 1
    answer = post(app, batch([envelope("echo"), envelope("echo")]))[1]
    assert answer["name"] == "batch:badRequest"


def batch_max_workers(app: Flask, probe: SimpleNamespace) -> None:
    app.config["EVENTS_BATCH_MAX_WORKERS"] = 1
    answer = post(app, batch([envelope("counted") for _ in range(4)], parallel=True))[1]
    assert [sub["name"] for sub in answer["payload"]] == ["counted:response"] * 4
    assert probe.most == 1


def batch_timeout(app: Flask, probe: SimpleNamespace) -> None:
    app.config["EVENTS_BATCH_TIMEOUT"] = 0.05
    answer = post(app, batch([envelope("sleep", 0.5), envelope("echo")]))[1]
    late = answer["payload"][1]
    assert (late["name"], late["payload"]["code"]) == ("echo:error", "BATCH_TIMEOUT")


def max_depth(app: Flask, probe: SimpleNamespace) -> None:
    app.config["EVENTS_MAX_DEPTH"] = 3
    assert post(app, envelope("echo", [[[[]]]]))[1]["name"] == "badProtocol"


def websocket_max_message_size(app: Flask, probe: SimpleNamespace) -> None:
    """Raised past simple-websocket's cap for the default: the cap follows."""
    app.config["EVENTS_WEBSOCKET_MAX_MESSAGE_SIZE"] = 2 * HUGE
    with websocket_to(app) as ws:
        assert ask(ws, envelope("echo", "x" * HUGE))["name"] == "echo:response"
    app.config["EVENTS_WEBSOCKET_MAX_MESSAGE_SIZE"] = 100  # and lowered
    with websocket_to(app) as ws:
        assert ask(ws, envelope("echo", "x" * 200))["name"] == "badProtocol"
        assert closed_with(ws) == 1009


def websocket_ping_interval(app: Flask, probe: SimpleNamespace) -> None:
    app.config["EVENTS_WEBSOCKET_PING_INTERVAL"] = 0.2
    with websocket_to(app) as ws:
        opcode, _ = ws.recv_data(control_frame=True)  # answered by websocket-client
        assert opcode == websocket.ABNF.OPCODE_PING


def socket_max_in_flight(app: Flask, probe: SimpleNamespace) -> None:
    app.config["EVENTS_SOCKET_MAX_IN_FLIGHT"] = 2
    with websocket_to(app) as ws:
        for i in range(2):
            ws.send(dumps(envelope("held", id=f"held-{i}")).decode())
        wait_until(lambda: probe.inside == 2)
        refused = ask(ws, envelope("held", id="third"))
        assert (refused["id"], refused["payload"]["code"]) == ("third", "TOO_MANY_IN_FLIGHT")
        probe.release.set()
        answers = {json.loads(ws.recv())["id"] for _ in range(2)}
        assert answers == {"held-0", "held-1"}


def push_timeout(app: Flask, probe: SimpleNamespace) -> None:
    """A Redis taking about 3.5 s to answer: past the default (2 s), within ours."""
    with dripping_redis(interval=0.5, length=8) as redis:
        socketio = SocketIO(app, async_mode="threading", message_queue=redis.url)
        app.blueprints["events"].attach_socketio(socketio)
        app.config["EVENTS_PUSH_TIMEOUT"] = 30
        with app.app_context():
            app.blueprints["events"].push(Event.new("news", 1), to="user:1")


def doc_try_it(app: Flask, probe: SimpleNamespace) -> None:
    client = app.test_client()
    assert '<form class="try"' in client.get("/doc").get_data(as_text=True)
    app.config["EVENTS_DOC_TRY_IT"] = False
    assert '<form class="try"' not in client.get("/doc").get_data(as_text=True)


def doc_inline_max(app: Flask, probe: SimpleNamespace) -> None:
    client = app.test_client()
    assert "data-body-url" not in client.get("/doc").get_data(as_text=True)
    app.config["EVENTS_DOC_INLINE_MAX"] = 0
    assert "data-body-url" in client.get("/doc").get_data(as_text=True)


def services(app: Flask, probe: SimpleNamespace) -> None:
    from flask_events import events_client

    app.config["EVENTS_SERVICES"] = {"self": {"url": "http://self.test/events", "app": app}}
    with app.app_context():
        answer = events_client("self").send("echo", 1, {"n": 1})
    assert answer.name == "echo:response" and answer.payload == {"n": 1}


CASES: dict[str, Callable[[Flask, SimpleNamespace], None]] = {
    "EVENTS_SERVICES": services,
    "EVENTS_DOC_TRY_IT": doc_try_it,
    "EVENTS_DOC_INLINE_MAX": doc_inline_max,
    "EVENTS_MAX_CONTENT_LENGTH": max_content_length,
    "EVENTS_VALIDATE_OUTPUT": validate_output,
    "EVENTS_BATCH_MAX_EVENTS": batch_max_events,
    "EVENTS_BATCH_MAX_WORKERS": batch_max_workers,
    "EVENTS_BATCH_TIMEOUT": batch_timeout,
    "EVENTS_MAX_DEPTH": max_depth,
    "EVENTS_WEBSOCKET_MAX_MESSAGE_SIZE": websocket_max_message_size,
    "EVENTS_WEBSOCKET_PING_INTERVAL": websocket_ping_interval,
    "EVENTS_SOCKET_MAX_IN_FLIGHT": socket_max_in_flight,
    "EVENTS_PUSH_TIMEOUT": push_timeout,
    "EVENTS_PROPAGATE_EXCEPTIONS": propagate_exceptions,
}
#: The cases that start a server (a WebSocket one, or a fake Redis).
SERVED = {
    "EVENTS_WEBSOCKET_MAX_MESSAGE_SIZE",
    "EVENTS_WEBSOCKET_PING_INTERVAL",
    "EVENTS_SOCKET_MAX_IN_FLIGHT",
    "EVENTS_PUSH_TIMEOUT",
}


def keys_of(cases: dict[str, Any]) -> list[Any]:
    """The keys of ``cases`` as parameters; those that start a server marked e2e."""
    return [pytest.param(key, marks=[pytest.mark.e2e] if key in SERVED else []) for key in cases]


def test_every_config_key_has_a_set_after_registration_case():
    assert sorted(CASES) == sorted(DEFAULT_CONFIG)


@pytest.mark.parametrize("key", keys_of(CASES))
def test_config_set_after_registration_takes_effect(key):
    app, probe = make_app()
    assert app.config[key] == DEFAULT_CONFIG[key]  # the default, set at registration
    CASES[key](app, probe)


# -- None: no limit ---------------------------------------------------------------------


def no_max_content_length(app: Flask, probe: SimpleNamespace) -> None:
    status, answer = post(app, envelope("echo", "x" * 2 * 1024 * 1024))
    assert (status, answer["name"]) == (200, "echo:response")


def no_max_depth(app: Flask, probe: SimpleNamespace) -> None:
    deep: list[Any] = []
    for _ in range(300):  # past the default 128, within the interpreter's limit
        deep = [deep]
    assert post(app, envelope("echo", deep))[1]["name"] == "echo:response"


def no_websocket_max_message_size(app: Flask, probe: SimpleNamespace) -> None:
    with websocket_to(app) as ws:
        assert ask(ws, envelope("echo", "x" * HUGE))["name"] == "echo:response"


def no_socket_max_in_flight(app: Flask, probe: SimpleNamespace) -> None:
    """Over a WebSocket: more than the default limit at once; over Socket.IO: answered."""
    over = DEFAULT_CONFIG["EVENTS_SOCKET_MAX_IN_FLIGHT"] + 5
    with websocket_to(app) as ws:
        for i in range(over):
            ws.send(dumps(envelope("held", id=f"held-{i}")).decode())
        # the connection runs 100 at once; the others wait their turn, none is refused
        wait_until(lambda: probe.inside == UNLIMITED_THREADS)
        probe.release.set()
        answers = [json.loads(ws.recv()) for _ in range(over)]
    assert {a["name"] for a in answers} == {"held:response"}
    socketio = SocketIO(app, async_mode="threading")
    app.blueprints["events"].attach_socketio(socketio)
    client = socketio.test_client(app, namespace="/events")
    answer = client.emit("event", envelope("echo", 1), namespace="/events", callback=True)
    assert answer["name"] == "echo:response"
    client.disconnect(namespace="/events")


def no_push_timeout(app: Flask, probe: SimpleNamespace) -> None:
    with dripping_redis(interval=0.2, length=8) as redis:
        socketio = SocketIO(app, async_mode="threading", message_queue=redis.url)
        app.blueprints["events"].attach_socketio(socketio)
        with app.app_context():
            app.blueprints["events"].push(Event.new("news", 1), to="user:1")


def no_batch_max_events(app: Flask, probe: SimpleNamespace) -> None:
    count = DEFAULT_CONFIG["EVENTS_BATCH_MAX_EVENTS"] + 1
    answer = post(app, batch([envelope("echo") for _ in range(count)]))[1]
    assert [sub["name"] for sub in answer["payload"]] == ["echo:response"] * count


def no_batch_max_workers(app: Flask, probe: SimpleNamespace) -> None:
    answer = post(app, batch([envelope("counted") for _ in range(4)], parallel=True))[1]
    assert [sub["name"] for sub in answer["payload"]] == ["counted:response"] * 4


def no_batch_timeout(app: Flask, probe: SimpleNamespace) -> None:
    answer = post(app, batch([envelope("sleep", 0.05), envelope("echo")]))[1]
    assert [sub["name"] for sub in answer["payload"]] == ["sleep:response", "echo:response"]


NO_LIMIT: dict[str, Callable[[Flask, SimpleNamespace], None]] = {
    "EVENTS_MAX_CONTENT_LENGTH": no_max_content_length,
    "EVENTS_MAX_DEPTH": no_max_depth,
    "EVENTS_WEBSOCKET_MAX_MESSAGE_SIZE": no_websocket_max_message_size,
    "EVENTS_SOCKET_MAX_IN_FLIGHT": no_socket_max_in_flight,
    "EVENTS_PUSH_TIMEOUT": no_push_timeout,
    "EVENTS_BATCH_MAX_EVENTS": no_batch_max_events,
    "EVENTS_BATCH_MAX_WORKERS": no_batch_max_workers,
    "EVENTS_BATCH_TIMEOUT": no_batch_timeout,
}


@pytest.mark.parametrize("key", keys_of(NO_LIMIT))
def test_none_means_no_limit(key):
    app, probe = make_app(**{key: None})
    assert app.config[key] is None
    NO_LIMIT[key](app, probe)


# -- other extensions' configuration ----------------------------------------------------


def test_registration_leaves_sock_server_options_alone():
    app = Flask(__name__)
    app.config["SOCK_SERVER_OPTIONS"] = {"max_message_size": 64}
    app.register_blueprint(EventsBlueprint("events", __name__))
    assert app.config["SOCK_SERVER_OPTIONS"] == {"max_message_size": 64}
    app = Flask(__name__)
    app.register_blueprint(EventsBlueprint("events", __name__))
    assert "SOCK_SERVER_OPTIONS" not in app.config


@pytest.mark.e2e
def test_the_apps_own_flask_sock_route_keeps_its_options_and_ours_uses_ours():
    app, _ = make_app(SOCK_SERVER_OPTIONS={"max_message_size": 64})
    sock = Sock(app)

    @sock.route("/own/ws")
    def own(ws: Any) -> None:
        while True:
            ws.send(str(len(ws.receive())))

    with websocket_to(app, "/own/ws") as ws:
        ws.send("x" * 10)
        assert ws.recv() == "10"
        ws.send("x" * 100)  # past its own cap: simple-websocket closes
        assert closed_with(ws) == 1009
    with websocket_to(app) as ws:  # ours: 1 MiB, not the app's 64 bytes
        assert ask(ws, envelope("echo", "x" * 1000))["name"] == "echo:response"


# -- a blueprint's own keys: config_prefix ----------------------------------------------

PREFIX = "PUBLIC_EVENTS_"


class PrefixedConfig:
    """An app's configuration as a case sees it: ``EVENTS_X`` is written as
    ``PUBLIC_EVENTS_X``; reads are the app's own.
    """

    def __init__(self, config: Any) -> None:
        self.config = config

    def __setitem__(self, key: str, value: Any) -> None:
        self.config[PREFIX + key[len("EVENTS_") :]] = value

    def __getitem__(self, key: str) -> Any:
        return self.config[key]


class PrefixedApp:
    """``app`` for a case, but with :class:`PrefixedConfig` as its ``config``."""

    def __init__(self, app: Flask) -> None:
        object.__setattr__(self, "app", app)
        object.__setattr__(self, "config", PrefixedConfig(app.config))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.app, name, value)

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


@pytest.mark.parametrize("key", keys_of({k: v for k, v in CASES.items() if k not in APP_WIDE}))
def test_a_blueprints_prefixed_key_takes_effect_and_leaves_the_events_key_alone(key):
    app, probe = make_app(config_prefix=PREFIX)
    CASES[key](PrefixedApp(app), probe)  # type: ignore[arg-type]
    assert PREFIX + key[len("EVENTS_") :] in app.config  # the case set the blueprint's key
    assert app.config[key] == DEFAULT_CONFIG[key]  # and left the EVENTS_ key as it was


def two_blueprints(**config: Any) -> Flask:
    """``public`` (``config_prefix="PUBLIC_EVENTS_"``) at /public and ``internal`` (the
    ``EVENTS_*`` keys) at /internal, each with an ``echo`` event.
    """
    app = Flask(__name__)
    app.config.update(config)
    for name, prefix in (("public", PREFIX), ("internal", "EVENTS_")):
        events = EventsBlueprint(name, __name__, config_prefix=prefix)
        events.add("echo", 1, lambda event: event.payload)
        app.register_blueprint(events, url_prefix=f"/{name}")
    return app


def test_two_blueprints_on_one_app_have_their_own_limits():
    app = two_blueprints(PUBLIC_EVENTS_MAX_CONTENT_LENGTH=100, PUBLIC_EVENTS_MAX_DEPTH=3)
    client = app.test_client()
    big, deep = dumps(envelope("echo", "x" * 200)), dumps(envelope("echo", [[[[]]]]))
    assert client.post("/public/events", data=big).status_code == 413
    assert client.post("/public/events", data=deep).get_json()["name"] == "badProtocol"
    assert client.post("/internal/events", data=big).get_json()["name"] == "echo:response"
    assert client.post("/internal/events", data=deep).get_json()["name"] == "echo:response"


def test_a_key_the_prefix_does_not_set_is_the_events_key():
    app = two_blueprints(EVENTS_MAX_DEPTH=3)
    deep = dumps(envelope("echo", [[[[]]]]))
    for name in ("public", "internal"):
        answer = app.test_client().post(f"/{name}/events", data=deep).get_json()
        assert answer["name"] == "badProtocol"


def test_a_prefixed_none_means_no_limit_for_that_blueprint_only():
    app = two_blueprints(PUBLIC_EVENTS_MAX_CONTENT_LENGTH=None, EVENTS_MAX_CONTENT_LENGTH=100)
    big = dumps(envelope("echo", "x" * 200))
    assert app.test_client().post("/public/events", data=big).status_code == 200
    assert app.test_client().post("/internal/events", data=big).status_code == 413


@pytest.mark.parametrize("prefix", ["PUBLIC", "", None, 5])
def test_a_config_prefix_not_ending_with_an_underscore_is_refused(prefix):
    with pytest.raises(ValueError, match="config_prefix of events blueprint 'events'"):
        EventsBlueprint("events", __name__, config_prefix=prefix)
