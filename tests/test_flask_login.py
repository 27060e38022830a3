"""Rule: Flask's errors work in handlers — Flask-Login's ``login_required`` on an event
handler answers ``<name>:unauthorized`` (it aborts 401), including when the app has a
login view, once the events blueprint has none (``blueprint_login_views``). Error
handlers may be ``async def``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_login import LoginManager, UserMixin, login_required

from flask_events import EventsBlueprint, NotFound
from flask_events.testing import post_event


class User(UserMixin):
    def __init__(self, id: str) -> None:
        self.id = id


def make_app(login_view: Any = None) -> Flask:
    events = EventsBlueprint("events", __name__)

    @events.handler("me", 1)
    @login_required
    def me(event: Any) -> Any:
        return {"me": True}

    @events.handler("lookup", 1)
    def lookup(event: Any) -> Any:
        return {}["missing"]

    @events.errorhandler(KeyError)
    async def missing(error: KeyError) -> NotFound:
        return NotFound(f"No {error.args[0]}", code="MISSING")

    app = Flask(__name__)
    app.config.update(TESTING=True, SECRET_KEY="test")
    app.register_blueprint(events)
    manager = LoginManager(app)
    manager.user_loader(User)
    if login_view is not None:
        app.add_url_rule("/login", "login", lambda: "log in")
        manager.login_view = login_view
        manager.blueprint_login_views["events"] = None
    return app


def test_login_required_answers_unauthorized():
    answer = post_event(make_app().test_client(), "me", 1)
    assert answer.name == "me:unauthorized"
    assert answer.payload["code"] == "UNAUTHORIZED"


def test_with_a_login_view_the_events_blueprint_still_answers_unauthorized():
    app = make_app(login_view="login")
    answer = post_event(app.test_client(), "me", 1)
    assert answer.name == "me:unauthorized"


def test_an_async_error_handler_answers():
    answer = post_event(make_app().test_client(), "lookup", 1)
    assert answer.name == "lookup:notFound"
    assert answer.payload["code"] == "MISSING"
