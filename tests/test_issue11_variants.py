"""Variants of the rules of "Flask-native" (issue 11) found by probing as a new user."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from flask_events import EventError, EventsBlueprint, EventsError


def envelope(name: str, payload: object = None) -> dict[str, object]:
    return {"name": name, "version": 1, "id": "i", "flowId": "f", "payload": payload}


def first_authenticator(event):
    return None


def second_authenticator(event):
    return None


def first_error_handler(error):
    return EventError("first")


def second_error_handler(error):
    return EventError("second")


def test_rule2_collision_messages_name_functions_as_module_dot_name():
    events = EventsBlueprint("events", __name__)
    events.authenticator(first_authenticator)
    with pytest.raises(EventsError) as caught:
        events.authenticator(second_authenticator)
    message = str(caught.value)
    assert f"{__name__}.first_authenticator;" in message
    assert message.endswith(f"{__name__}.second_authenticator")

    events.register_error_handler(KeyError, first_error_handler)
    with pytest.raises(EventsError) as caught:
        events.register_error_handler(KeyError, second_error_handler)
    message = str(caught.value)
    assert f"{__name__}.first_error_handler;" in message
    assert message.endswith(f"{__name__}.second_error_handler")


def failing_error_handler(error):
    raise RuntimeError("the error handler's own bug")


def test_rule3_a_failing_error_handler_is_logged_by_module_dot_name(caplog):
    events = EventsBlueprint("events", __name__)

    @events.handler("boom", 1)
    def boom(event):
        raise KeyError("x")

    events.register_error_handler(KeyError, failing_error_handler)
    app = Flask(__name__)
    app.register_blueprint(events)
    with caplog.at_level(logging.ERROR, "flask_events"):
        answer = app.test_client().post("/events", json=envelope("boom")).get_json()
    assert answer["payload"]["code"] == "UNHANDLED_ERROR"
    [record] = [r for r in caplog.records if r.name == "flask_events"]
    assert record.getMessage().startswith(
        f"error handler {__name__}.failing_error_handler failed for event 'boom'"
    )


def test_rule1_push_with_socketio_given_in_an_app_context_needs_no_attachment():
    # push(socketio=...) works anywhere, an app context included, as documented: the
    # blueprint need not be attached there (a CLI command pushing through its own
    # SocketIO, say); the namespace defaults to "/events"
    from flask_socketio import SocketIO

    from flask_events import Event

    events = EventsBlueprint("events", __name__)
    app = Flask(__name__)
    app.register_blueprint(events)
    socketio = SocketIO(app)
    socketio.on_event("connect", lambda auth=None: None, namespace="/events")
    client = socketio.test_client(app, namespace="/events")
    try:
        with app.app_context():
            events.push(Event.new("news", 1, {"n": 1}), socketio=socketio)
        [message] = client.get_received("/events")
        assert message["args"][0]["payload"] == {"n": 1}
    finally:
        client.disconnect(namespace="/events")


def test_rule1_the_blueprint_keeps_no_reference_to_an_app_that_served_it():
    # the blueprint is shared by every app of a factory: the first app to serve an
    # event must not stay alive through it (nor its extensions, engines, sockets)
    import gc
    import weakref

    events = EventsBlueprint("events", __name__)
    events.add("echo", 1, lambda event: event.payload)

    def serve_once() -> weakref.ref:
        app = Flask(__name__)
        app.register_blueprint(events)
        assert app.test_client().post("/events", json=envelope("echo", 1)).status_code == 200
        return weakref.ref(app)

    gone = serve_once()
    gc.collect()
    assert gone() is None
    with pytest.raises(EventsError, match="has already handled its first event"):
        events.add("late", 1, lambda event: None)


def spawning_events() -> tuple[EventsBlueprint, list[tuple[str, str]]]:
    import asyncio

    events = EventsBlueprint("events", __name__)
    log: list[tuple[str, str]] = []

    @events.handler("spawn", 1)
    async def spawn(event):
        async def left_running() -> None:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                log.append(("cancelled", event.id))
                raise

        asyncio.create_task(left_running())  # noqa: RUF006 - left running on purpose
        await asyncio.sleep(0)
        log.append(("returned", event.id))

    events.add_batch()
    return events, log


@pytest.mark.parametrize(
    ("parallel", "expected"),
    [
        # sequential: after each sub-event (as a single event's)
        (False, [{"returned a"}, {"cancelled a"}, {"returned b"}, {"cancelled b"}]),
        # parallel: once all its async sub-events are answered
        (True, [{"returned a", "returned b"}, {"cancelled a", "cancelled b"}]),
    ],
)
def test_rule8_when_tasks_left_running_by_sub_events_are_cancelled(parallel, expected):
    events, log = spawning_events()
    app = Flask(__name__)
    app.register_blueprint(events)
    sub = [{**envelope("spawn"), "id": "a"}, {**envelope("spawn"), "id": "b"}]
    app.test_client().post(
        "/events", json=envelope("batch", {"parallel": parallel, "events": sub})
    )
    seen = [f"{what} {sub_id}" for what, sub_id in log]
    steps = []
    for step in expected:
        steps.append(set(seen[: len(step)]))
        seen = seen[len(step) :]
    assert steps == expected and not seen
