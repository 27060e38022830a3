"""A Flask user's first tests: an app factory with a module-level blueprint, pytest-flask's
``app`` and ``client`` fixtures (a new app per test), and handlers that fail loudly
in tests (``EVENTS_PROPAGATE_EXCEPTIONS`` follows ``app.testing``).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, abort, g

from flask_events import EventsBlueprint
from flask_events.testing import post_event

events = EventsBlueprint("events", __name__)


@events.handler("counter:bump", 1)
def bump(event: Any) -> Any:
    g.bumped = getattr(g, "bumped", 0) + 1
    return {"bumped": g.bumped, "app": events_app_name()}


events.add_batch()


@events.handler("account:get", 1)
def get_account(event: Any) -> Any:
    if event.payload.get("id") != 1:
        abort(404, "no such account")
    return {"id": 1}


@events.handler("crash", 1)
def crash(event: Any) -> Any:
    raise RuntimeError("a bug in the handler")


def events_app_name() -> str:
    from flask import current_app

    return current_app.name


def create_app(name: str, **config: Any) -> Flask:
    app = Flask(name)
    app.config.update(TESTING=True, **config)
    app.register_blueprint(events)
    return app


_made: list[Flask] = []


@pytest.fixture
def app() -> Flask:
    made = create_app(f"test-app-{len(_made)}")
    _made.append(made)
    return made


@pytest.mark.parametrize("round_", [1, 2])
def test_each_test_gets_a_fresh_app_served_by_the_module_level_blueprint(client, round_):
    answer = post_event(client, "counter:bump", 1)
    assert answer.name == "counter:bump:response"
    assert answer.payload["bumped"] == 1
    assert answer.payload["app"] == _made[-1].name
    assert len(_made[-1].extensions["events"]) == 1


def test_abort_in_a_handler_answers_not_found(client):
    answer = post_event(client, "account:get", 1, {"id": 2})
    assert answer.name == "account:get:notFound"
    assert answer.payload["code"] == "NOT_FOUND"


def test_a_handlers_bug_raises_in_the_test(client):
    with pytest.raises(RuntimeError, match="a bug in the handler"):
        post_event(client, "crash", 1)


def test_the_error_answer_is_tested_with_propagation_off(app, client):
    app.config["EVENTS_PROPAGATE_EXCEPTIONS"] = False
    answer = post_event(client, "crash", 1)
    assert answer.name == "crash:error"
    assert answer.payload["code"] == "UNHANDLED_ERROR"


def test_under_pytest_flask_requests_share_the_tests_g_but_sub_events_do_not(client):
    from flask import g

    g.bumped = 10  # pytest-flask pushed a request context: Flask reuses its app context
    assert post_event(client, "counter:bump", 1).payload["bumped"] == 11
    bump = {"name": "counter:bump", "version": 1, "id": "i", "flowId": "f", "payload": None}
    answer = post_event(client, "batch", 1, {"parallel": True, "events": [bump, bump]})
    assert [sub["payload"]["bumped"] for sub in answer.payload] == [1, 1]
