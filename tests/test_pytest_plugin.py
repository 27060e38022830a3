"""The flask_events pytest plugin (its fixtures in any project, without an import), the
send_event fixture's endpoint discovery, and flask_events.testing without pytest.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, Flask

import flask_events
from flask_events import Event, EventsBlueprint, EventsError

pytest_plugins = ["pytester"]

#: A user's project: an app fixture (pytest-flask's ``client`` builds on it) whose
#: events blueprint has a URL prefix, and a test using the plugin's fixtures unimported.
PROJECT_CONFTEST = """
    import pytest
    from flask import Flask

    from flask_events import EventsBlueprint


    @pytest.fixture
    def app():
        events = EventsBlueprint("events", __name__)

        @events.handler("echo", 1)
        def echo(event):
            return event.payload

        app = Flask(__name__)
        app.config["TESTING"] = True
        app.register_blueprint(events, url_prefix="/svc")
        return app
"""

PROJECT_TEST = """
    def test_echo(send_event, events_recorder):
        answer = send_event("echo", 1, {"a": 1}, flow_id="F")
        assert answer.name == "echo:response" and answer.payload == {"a": 1}
        assert answer.flow_id == "F"
        assert events_recorder.count("started") == 1
"""


def make_project(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(PROJECT_CONFTEST)
    pytester.makepyfile(test_project=PROJECT_TEST)


def test_the_plugin_gives_any_project_its_fixtures_without_an_import(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_dash_p_no_flask_events_disables_the_plugin(pytester: pytest.Pytester) -> None:
    make_project(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:flask_events")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'send_event' not found*"])


def test_send_event_works_without_pytest_flask_from_the_app_fixture(
    pytester: pytest.Pytester,
) -> None:
    make_project(pytester)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:flask")
    result.assert_outcomes(passed=1)


def test_send_event_without_an_app_fixture_says_what_it_needs(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_project=PROJECT_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "no:flask")
    result.assert_outcomes(errors=1)  # an error at the test's setup
    result.stdout.fnmatch_lines(["*the send_event fixture needs an 'app' fixture*"])
    result.stdout.no_fnmatch_line("*fixture 'client' not found*")


@pytest.mark.e2e
def test_flask_events_testing_imports_without_pytest() -> None:
    code = textwrap.dedent(
        """
        import sys

        sys.modules["pytest"] = None  # as if not installed
        sys.modules["_pytest"] = None

        from flask import Flask

        from flask_events import EventsBlueprint
        from flask_events.testing import post_event, record_signals

        events = EventsBlueprint("events", __name__)

        @events.handler("echo", 1)
        def echo(event):
            return event.payload

        app = Flask(__name__)
        app.register_blueprint(events, url_prefix="/svc")
        with record_signals(sender=app) as recorder:
            answer = post_event(app.test_client(), "echo", 1, {"a": 1})
        print(answer.payload, recorder.count("started"))
        """
    )
    # the flask_events under test (its checkout first on sys.path), not another install
    checkout = Path(flask_events.__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=checkout, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["{'a':", "1}", "1"]


def who_blueprint(name: str) -> EventsBlueprint:
    events = EventsBlueprint(name, __name__)

    @events.handler("who", 1)
    def who(event: Event) -> Any:
        return name

    return events


class TestUrlPrefix:
    @pytest.fixture
    def app(self) -> Flask:
        api = Blueprint("api", __name__, url_prefix="/api")
        api.register_blueprint(who_blueprint("events"), url_prefix="/v1")
        app = Flask(__name__)
        app.config["TESTING"] = True
        app.register_blueprint(api)
        return app

    def test_the_send_event_fixture_posts_to_the_blueprints_url_prefix(
        self, send_event: Any
    ) -> None:
        answer = send_event("who", 1)
        assert answer.name == "who:response" and answer.payload == "events"


class TestTwoBlueprints:
    @pytest.fixture
    def app(self) -> Flask:
        app = Flask(__name__)
        app.config["TESTING"] = True
        app.register_blueprint(who_blueprint("left"), url_prefix="/left")
        app.register_blueprint(who_blueprint("right"), url_prefix="/right")
        return app

    def test_the_blueprint_argument_picks_one_of_several(self, send_event: Any) -> None:
        assert send_event("who", 1, blueprint="right").payload == "right"
        assert send_event("who", 1, blueprint="left").payload == "left"

    def test_several_and_none_picked_is_an_error_naming_them(self, send_event: Any) -> None:
        with pytest.raises(EventsError, match=r"2 events blueprints \(left, right\)"):
            send_event("who", 1)
        with pytest.raises(EventsError, match=r"no events blueprint 'middle'.*left, right"):
            send_event("who", 1, blueprint="middle")
