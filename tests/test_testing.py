"""flask_events.testing: the helpers and fixtures users get for their own tests."""

from __future__ import annotations

import pytest

from flask_events import Event
from flask_events.testing import post_event, record_signals


def test_post_event_returns_the_answer_event(client):
    answer = post_event(client, "echo", 1, {"a": 1}, flow_id="f", auth={"token": "t"})
    assert isinstance(answer, Event) and answer.name == "echo:response"
    assert answer.payload == {"a": 1} and answer.flow_id == "f" and answer.auth == {}
    assert post_event(client, "lookup", 1).error_code == "NOTHING"


def test_the_send_event_fixture(send_event):
    assert send_event("echo", 1, [1, 2]).payload == [1, 2]


def test_the_events_recorder_fixture_counts_like_the_go_mock_tracker(client, events_recorder):
    post_event(client, "echo", 1)
    post_event(client, "boom", 1)
    post_event(client, "nothing", 1)
    client.post("/events", data=b"{")
    assert events_recorder.count("started") == 2 and events_recorder.count("finished") == 2
    assert events_recorder.count("event_error_noticed") == 1
    assert events_recorder.count("error_noticed") == 1
    events_recorder.clear()
    assert events_recorder.count("started") == 0


def test_record_signals_for_one_sender_only(app, client):
    with record_signals(sender=object()) as elsewhere, record_signals(sender=app) as here:
        post_event(client, "echo", 1)
    assert here.count("started") == 1 and elsewhere.count("started") == 0


def test_the_old_names_stay_importable_and_warn_deprecated():
    import flask_events.pytest_plugin
    import flask_events.testing

    with pytest.deprecated_call(match="use flask_events.testing.post_event"):
        from flask_events.testing import send_event
    assert send_event is post_event
    with pytest.deprecated_call(match="flask_events.pytest_plugin.events_recorder"):
        old = flask_events.testing.events_recorder
    assert old is flask_events.pytest_plugin.events_recorder
    with pytest.deprecated_call(match="flask_events.pytest_plugin.send_event_fixture"):
        old = flask_events.testing.send_event_fixture
    assert old is flask_events.pytest_plugin.send_event_fixture
    with pytest.raises(AttributeError, match="no_such_name"):
        flask_events.testing.no_such_name  # noqa: B018


def test_post_event_to_a_json_answer_that_is_not_an_event_is_an_assertion_error():
    from flask import Flask

    app = Flask(__name__)
    app.add_url_rule("/not-events", "x", lambda: {"a": 1}, methods=["POST"])
    with pytest.raises(AssertionError, match=r"HTTP 200 from /not-events, not an event"):
        post_event(app.test_client(), "x", 1, url="/not-events")
