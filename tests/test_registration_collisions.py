"""Rule: collisions are loud, at registration, naming both parties."""

from __future__ import annotations

import pytest
from flask import Flask

from flask_events import EventsBlueprint, EventsError


def make_events(name: str = "events", **kwargs) -> EventsBlueprint:
    events = EventsBlueprint(name, __name__, **kwargs)
    events.add("echo", 1, lambda event: event.payload)
    return events


def test_two_events_blueprints_at_one_url_are_refused_naming_both():
    app = Flask(__name__)
    app.register_blueprint(make_events("first"))
    with pytest.raises(EventsError) as caught:
        app.register_blueprint(make_events("second"))
    message = str(caught.value)
    assert "'second'" in message and "first.events" in message and "'/events'" in message


def test_the_same_blueprint_twice_at_one_prefix_is_refused():
    events = make_events()
    app = Flask(__name__)
    app.register_blueprint(events, url_prefix="/a")
    with pytest.raises(EventsError, match="'/a/events'"):
        app.register_blueprint(events, url_prefix="/a", name="again")


def test_a_doc_url_served_already_is_refused():
    app = Flask(__name__)
    app.register_blueprint(make_events("first", events_url="/one"))
    with pytest.raises(EventsError, match=r"'/doc'.*first\.doc"):
        app.register_blueprint(make_events("second", events_url="/two"))


def test_an_app_route_at_the_events_url_is_refused():
    app = Flask(__name__)
    app.add_url_rule("/events", "mine", lambda: "", methods=["POST"])
    with pytest.raises(EventsError, match="'mine' serves already"):
        app.register_blueprint(make_events())


def test_other_methods_at_the_same_url_are_no_collision():
    app = Flask(__name__)
    app.add_url_rule("/events", "listing", lambda: "a listing")  # GET only
    app.register_blueprint(make_events())
    assert app.test_client().get("/events").data == b"a listing"


def test_distinct_prefixes_are_no_collision():
    events = make_events()
    app = Flask(__name__)
    app.register_blueprint(events, url_prefix="/a")
    app.register_blueprint(events, url_prefix="/b", name="b")
    assert set(app.extensions["events"]) == {"events", "b"}


def test_a_second_authenticator_is_refused_naming_both():
    events = make_events()

    @events.authenticator
    def first(event):
        return None

    with pytest.raises(EventsError) as caught:

        @events.authenticator
        def second(event):
            return None

    message = str(caught.value)
    assert "first" in message and "second" in message and "'events'" in message


def test_a_handler_added_after_the_first_event_is_refused_naming_it_and_the_app():
    events = make_events()
    app = Flask("svc")
    app.register_blueprint(events)
    assert events.registry.closed_by is None
    envelope = {"name": "echo", "version": 1, "id": "i", "flowId": "f", "payload": 1}
    assert app.test_client().post("/events", json=envelope).get_json()["payload"] == 1

    def late(event):
        return None

    with pytest.raises(EventsError) as caught:
        events.add("late", 1, late)
    message = str(caught.value)
    assert "'late' v1" in message and "late" in message and "app 'svc'" in message
    assert events.registry.get("late", 1) is None
    with pytest.raises(EventsError, match="declare authenticator"):
        events.authenticator(late)
    with pytest.raises(EventsError, match="declare error handler"):
        events.errorhandler(KeyError)(late)
    with pytest.raises(EventsError, match="has already handled its first event"):
        events.add_batch()


def test_declarations_before_any_event_are_fine_on_any_number_of_apps():
    events = make_events()
    first, second = Flask("one"), Flask("two")
    first.register_blueprint(events)
    events.add("more", 1, lambda event: "more")  # registered, not serving yet
    second.register_blueprint(events)
    envelope = {"name": "more", "version": 1, "id": "i", "flowId": "f", "payload": None}
    for app in (first, second):
        assert app.test_client().post("/events", json=envelope).get_json()["payload"] == "more"


def test_the_dispatcher_used_directly_keeps_taking_handlers():
    from flask_events.dispatch import Dispatcher
    from flask_events.registry import Registry

    registry = Registry()
    registry.add("a", 1, lambda event: 1)
    dispatcher = Dispatcher(registry)
    envelope = {"name": "a", "version": 1, "id": "i", "flowId": "f", "payload": None}
    assert dispatcher.handle(envelope, sender=None).event.payload == 1
    registry.add("b", 1, lambda event: 2)  # no app: nothing to keep consistent
