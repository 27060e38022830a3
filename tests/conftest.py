"""Shared fixtures: an app with a few handlers, a signal recorder, a CLI runner.

Helpers that test modules import live in ``tests/helpers.py`` (never import from here).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from flask_events import EventsBlueprint
from flask_events.testing import SignalRecorder, record_signals

from .helpers import make_blueprint

# send_event and events_recorder: the flask_events pytest plugin's, as users get them


@pytest.fixture
def blueprint() -> EventsBlueprint:
    return make_blueprint()


@pytest.fixture
def app(blueprint: EventsBlueprint) -> Flask:
    app = Flask(__name__)
    app.config["TESTING"] = True
    app.config["EVENTS_PROPAGATE_EXCEPTIONS"] = False  # the tests read <name>:error answers
    app.register_blueprint(blueprint)
    return app


@pytest.fixture
def recorder() -> Iterator[SignalRecorder]:
    """The four tracker signals, recorded (flask_events.testing's recorder)."""
    with record_signals() as rec:
        yield rec


@pytest.fixture
def runner(app: Flask) -> Any:
    """Flask's CLI runner of the ``app`` fixture (a test module's own, where it has one)."""
    return app.test_cli_runner()
