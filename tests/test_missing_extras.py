"""Rule 10: a feature whose extra is not installed says what to install.

An extra is made missing as Python sees a package that is not installed:
``sys.modules[name] = None`` makes ``import name`` raise ``ImportError``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
import warnings

import pydantic
import pytest
from flask import Flask

from flask_events import EventPusher, EventsBlueprint, EventsError
from flask_events.schemas import adapt


def hide(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make ``import name`` (and of its submodules) fail, until the test ends."""
    for module in [m for m in sys.modules if m.startswith(f"{name}.")]:
        monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setitem(sys.modules, name, None)


def says_install(extra: str) -> str:
    """The part of the message that says what to install, as a ``match`` pattern."""
    return rf"pip install 'Flask-Events-Protocol\[{extra}\]'"


class Item(pydantic.BaseModel):
    name: str


def test_missing_extras_the_error_is_an_events_error_and_an_import_error(monkeypatch):
    from flask_events import MissingDependency
    from flask_events.extras import require

    hide(monkeypatch, "prometheus_client")
    with pytest.raises(MissingDependency) as caught:
        require("prometheus_client", "EventsMetrics")
    error = caught.value
    assert isinstance(error, EventsError) and isinstance(error, ImportError)
    assert error.name == "prometheus_client" and error.extra == "prometheus"
    assert error.install == "pip install 'Flask-Events-Protocol[prometheus]'"
    assert str(error).startswith("EventsMetrics needs prometheus_client (")
    assert isinstance(error.__cause__, ImportError)


def test_missing_extras_metrics_without_prometheus_client(monkeypatch):
    from flask_events.contrib.metrics import EventsMetrics  # importing needs no extra

    hide(monkeypatch, "prometheus_client")
    app = Flask(__name__)
    with pytest.raises(ImportError, match=says_install("prometheus")):
        EventsMetrics(app)
    assert "events_metrics" not in app.extensions


def test_missing_extras_tracing_without_opentelemetry(monkeypatch):
    from flask_events.contrib.tracing import EventsTracing

    hide(monkeypatch, "opentelemetry")
    with pytest.raises(ImportError, match=says_install("opentelemetry")):
        EventsTracing(Flask(__name__))


def test_missing_extras_event_pusher_without_flask_socketio(monkeypatch):
    hide(monkeypatch, "flask_socketio")
    with pytest.raises(ImportError, match=says_install("socketio")):
        EventPusher("amqp://127.0.0.1:1//")


def test_missing_extras_require_socketio_names_the_socketio_extra(monkeypatch):
    """What ``attach_socketio`` calls first."""
    from flask_events.transports.socketio import require_socketio

    hide(monkeypatch, "flask_socketio")
    with pytest.raises(ImportError, match=f"^attach_socketio needs .*{says_install('socketio')}"):
        require_socketio("attach_socketio")


def test_missing_extras_event_pusher_with_redis_without_redis(monkeypatch):
    hide(monkeypatch, "redis")
    with pytest.raises(ImportError, match=says_install("redis")):
        EventPusher("redis://127.0.0.1:1/0")


def test_missing_extras_socketio_server_with_redis_without_redis(monkeypatch):
    """python-socketio itself would only log, every second, that Redis is unreachable."""
    from flask_socketio import SocketIO

    app = Flask(__name__)
    events = EventsBlueprint("events", __name__)
    app.register_blueprint(events)
    socketio = SocketIO(app, message_queue="redis://127.0.0.1:1/0")  # connects lazily
    hide(monkeypatch, "redis")
    with pytest.raises(ImportError, match=says_install("redis")):
        events.attach_socketio(socketio)


def test_missing_extras_pydantic_schema_without_pydantic(monkeypatch):
    events = EventsBlueprint("events", __name__)
    hide(monkeypatch, "pydantic")

    def handler(event, item):
        return item

    with pytest.raises(ImportError, match=r"^The payload schema Item needs pydantic \("):
        events.handler("item:add", 1, input=Item)(handler)
    with pytest.raises(ImportError, match=says_install("pydantic")):
        events.handler("item:get", 1, output=Item)(handler)


def test_missing_extras_pydantic_schema_with_pydantic_1(monkeypatch):
    legacy = types.ModuleType("pydantic")
    legacy.VERSION = "1.10.13"
    legacy.BaseModel = type("BaseModel", (), {"__module__": "pydantic.main"})
    old_style = type("OldItem", (legacy.BaseModel,), {"__module__": __name__})
    monkeypatch.setitem(sys.modules, "pydantic", legacy)
    with pytest.raises(ImportError, match=r"pydantic 2 is needed, 1\.10\.13 is installed"):
        adapt(old_style)
    with pytest.raises(ImportError, match=says_install("pydantic")):
        adapt(old_style)


def test_missing_extras_a_pydantic_v1_model_is_refused_by_name():
    with warnings.catch_warnings():  # newer Pythons: pydantic.v1 is not supported there
        warnings.simplefilter("ignore")
        from pydantic import v1

    class OldItem(v1.BaseModel):
        name: str

    with pytest.raises(TypeError, match="OldItem is a pydantic v1 model"):
        adapt(OldItem)


IMPORTING = textwrap.dedent(
    """
    import sys

    for name in ("pydantic", "flask_socketio", "socketio", "redis", "prometheus_client",
                 "opentelemetry"):
        sys.modules[name] = None  # as if not installed

    from flask import Flask
    from marshmallow import Schema, fields

    import flask_events
    import flask_events.cli
    import flask_events.contrib.metrics
    import flask_events.contrib.tracing
    import flask_events.testing
    import flask_events.transports.socketio
    from flask_events import EventsBlueprint

    class Item(Schema):
        name = fields.String(required=True)

    events = EventsBlueprint("events", __name__)

    @events.handler("item:get", 1, input=Item, output=Item)
    def get(event, item):
        return item

    app = Flask(__name__)
    app.register_blueprint(events)
    envelope = {"name": "item:get", "version": 1, "id": "a", "flowId": "b",
                "payload": {"name": "x"}}
    print(app.test_client().post("/events", json=envelope).json["name"])
    """
)


@pytest.mark.e2e
def test_missing_extras_importing_flask_events_needs_no_extra():
    done = subprocess.run(
        [sys.executable, "-c", IMPORTING], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "item:get:response"
