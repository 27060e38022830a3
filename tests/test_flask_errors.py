"""Rule 3 of "Flask-native": Flask's errors work in handlers.

``abort(status)`` and any werkzeug ``HTTPException`` answer a typed error;
``@events.errorhandler`` answers what this blueprint's handlers raise; unexpected
exceptions propagate when ``EVENTS_PROPAGATE_EXCEPTIONS`` says so (``None``: when
``app.testing``).
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

import marshmallow as ma
import pytest
from flask import Flask, Response, abort, g
from flask_socketio import SocketIO
from werkzeug.exceptions import HTTPException

from flask_events import (
    Event,
    EventError,
    EventsBlueprint,
    EventsError,
    NotFound,
    Unprocessable,
)
from flask_events.codec import dumps
from flask_events.testing import record_signals

from .envelopes import envelope


def make_app(events: EventsBlueprint, **config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    app.register_blueprint(events)
    return app


def ask(app: Flask, body: dict[str, Any]) -> dict[str, Any]:
    response = app.test_client().post("/events", data=dumps(body))
    assert response.status_code == 200
    return response.json  # type: ignore[no-any-return]


def blueprint() -> EventsBlueprint:
    events = EventsBlueprint("events", __name__)
    events.add_batch()

    @events.handler("abort", 1)
    def aborting(event: Event) -> Any:
        abort(event.payload["status"], *event.payload.get("args", []))

    @events.handler("crash", 1)
    def crash(event: Event) -> Any:
        raise RuntimeError("crashed")

    @events.handler("key", 1)
    def key(event: Event) -> Any:
        return {}[event.payload["key"]]

    @events.handler("index", 1)
    def index(event: Event) -> Any:
        return [][0]

    @events.handler("lookup", 1)
    def lookup(event: Event) -> Any:
        raise NotFound("no such thing", code="NO_THING")

    @events.handler("async:crash", 1)
    async def async_crash(event: Event) -> Any:
        raise RuntimeError("crashed async")

    return events


# -- abort() and HTTPException ------------------------------------------------------


@pytest.mark.parametrize(
    "status, kind, code",
    [
        (400, "badRequest", "BAD_REQUEST"),
        (401, "unauthorized", "UNAUTHORIZED"),
        (403, "forbidden", "FORBIDDEN"),
        (404, "notFound", "NOT_FOUND"),
        (410, "gone", "GONE"),
        (422, "unprocessable", "UNPROCESSABLE_ENTITY"),
        (409, "badRequest", "CONFLICT"),  # any other 4xx
        (418, "badRequest", "I_M_A_TEAPOT"),
        (429, "badRequest", "TOO_MANY_REQUESTS"),
        (500, "error", "INTERNAL_SERVER_ERROR"),  # 5xx
        (503, "error", "SERVICE_UNAVAILABLE"),
    ],
)
def test_abort_status_answers_a_typed_error(status, kind, code):
    app = make_app(blueprint(), TESTING=True)  # not unexpected: never propagated
    answer = ask(app, envelope("abort", {"status": status}))
    assert answer["name"] == f"abort:{kind}"
    assert answer["payload"]["code"] == code
    assert answer["payload"]["parameters"] == {"status": status}
    assert answer["payload"]["message"]  # werkzeug's description of the status


def test_abort_with_a_description_answers_it_as_the_message():
    app = make_app(blueprint())
    answer = ask(app, envelope("abort", {"status": 404, "args": ["No such user"]}))
    assert answer["name"] == "abort:notFound"
    assert answer["payload"] == {
        "code": "NOT_FOUND",
        "parameters": {"status": 404},
        "message": "No such user",
    }


def test_abort_with_a_response_answers_error_with_its_status():
    events = EventsBlueprint("events", __name__)
    events.add("teapot", 1, lambda event: abort(Response("short and stout", 418)))
    answer = ask(make_app(events), envelope("teapot"))
    assert answer["name"] == "teapot:error"
    assert answer["payload"]["code"] == "HTTP_ERROR"
    assert answer["payload"]["parameters"] == {"status": 418}


def test_flask_smorest_abort_gives_its_message_and_arguments():
    from flask_smorest import abort as smorest_abort

    events = EventsBlueprint("events", __name__)
    events.add("invalid", 1, lambda e: smorest_abort(422, message="Bad", errors={"a": ["x"]}))
    answer = ask(make_app(events), envelope("invalid"))
    assert answer["name"] == "invalid:unprocessable"
    assert answer["payload"] == {
        "code": "UNPROCESSABLE_ENTITY",
        "parameters": {"status": 422, "errors": {"a": ["x"]}},
        "message": "Bad",
    }


def login_required(func: Callable[..., Any]) -> Callable[..., Any]:
    """A ``@login_required``-style decorator: aborts without a user."""

    @functools.wraps(func)
    def wrapper(event: Event) -> Any:
        if "user" not in event.identity:
            abort(401)
        return func(event)

    return wrapper


def test_a_login_required_decorator_that_aborts_answers_unauthorized():
    events = EventsBlueprint("events", __name__)

    @events.handler("me", 1)
    @login_required
    def me(event: Event) -> Any:
        return {"user": event.identity["user"]}

    app = make_app(events, TESTING=True)
    assert ask(app, envelope("me"))["name"] == "me:unauthorized"
    assert ask(app, envelope("me", identity={"user": "ana"}))["payload"] == {"user": "ana"}


def test_abort_in_the_authenticator_or_an_input_schema_answers_a_typed_error():
    events = EventsBlueprint("events", __name__)

    @events.authenticator
    def authenticate(event: Event) -> Any:
        if event.auth.get("token") != "ok":
            abort(403)
        return "ana"

    class Conflicting(ma.Schema):
        id = ma.fields.Integer()

        @ma.post_load
        def exists(self, data: dict[str, Any], **kwargs: Any) -> Any:
            abort(409, "It exists already")

    events.add("create", 1, lambda event, data: data, input=Conflicting)
    app = make_app(events, TESTING=True)
    assert ask(app, envelope("create", {"id": 1}))["name"] == "create:forbidden"
    answer = ask(app, envelope("create", {"id": 1}, auth={"token": "ok"}))
    assert answer["name"] == "create:badRequest"
    assert answer["payload"]["message"] == "It exists already"


def test_abort_in_a_batch_sub_event_answers_in_its_slot():
    app = make_app(blueprint(), TESTING=True)
    subs = [envelope("abort", {"status": 404}), envelope("abort", {"status": 410})]
    answer = ask(app, envelope("batch", {"parallel": True, "events": subs}))
    assert [sub["name"] for sub in answer["payload"]] == ["abort:notFound", "abort:gone"]


# -- @events.errorhandler -----------------------------------------------------------


def test_errorhandler_returning_or_raising_an_event_error_answers_it():
    events = blueprint()

    @events.errorhandler(KeyError)
    def missing(error: KeyError) -> EventError:
        return NotFound(f"no {error.args[0]}", code="NO_KEY")

    @events.errorhandler(RuntimeError)
    def crashed(error: RuntimeError) -> EventError:
        raise Unprocessable("could not", code="COULD_NOT")

    app = make_app(events, TESTING=True)
    answer = ask(app, envelope("key", {"key": "k"}))
    assert answer["name"] == "key:notFound"
    assert answer["payload"] == {"code": "NO_KEY", "parameters": {}, "message": "no k"}
    assert ask(app, envelope("crash"))["name"] == "crash:unprocessable"
    assert ask(app, envelope("async:crash"))["name"] == "async:crash:unprocessable"


def test_errorhandler_returning_an_event_sends_it_as_is():
    events = blueprint()

    @events.errorhandler(RuntimeError)
    def crashed(error: RuntimeError) -> Event:
        return Event.new("crash:degraded", 1, {"why": str(error)}, flow_id="flow")

    answer = ask(make_app(events), envelope("crash"))
    assert (answer["name"], answer["payload"]) == ("crash:degraded", {"why": "crashed"})
    assert answer["flowId"] == "flow"


def test_errorhandler_the_most_specific_class_wins():
    events = blueprint()
    events.register_error_handler(LookupError, lambda error: NotFound(code="LOOKUP"))
    events.register_error_handler(KeyError, lambda error: NotFound(code="KEY"))
    app = make_app(events)
    assert ask(app, envelope("key", {"key": "k"}))["payload"]["code"] == "KEY"
    assert ask(app, envelope("index"))["payload"]["code"] == "LOOKUP"  # IndexError


def test_errorhandler_for_a_status_matches_abort_with_that_status():
    events = blueprint()
    events.register_error_handler(HTTPException, lambda error: NotFound(code="ANY_HTTP"))

    @events.errorhandler(404)
    def not_here(error: HTTPException) -> EventError:
        return NotFound("not here", code="NOT_HERE")

    app = make_app(events)
    assert ask(app, envelope("abort", {"status": 404}))["payload"]["code"] == "NOT_HERE"
    assert ask(app, envelope("abort", {"status": 410}))["payload"]["code"] == "ANY_HTTP"


def test_errorhandler_gets_event_errors_too():
    events = blueprint()
    events.register_error_handler(NotFound, lambda error: NotFound(code="RENAMED"))
    assert ask(make_app(events), envelope("lookup"))["payload"]["code"] == "RENAMED"


def test_errorhandler_applies_to_batch_sub_events():
    events = blueprint()
    events.register_error_handler(KeyError, lambda error: NotFound(code="NO_KEY"))
    app = make_app(events)
    subs = [envelope("key", {"key": "k"}), envelope("crash")]
    for parallel in (False, True):
        answer = ask(app, envelope("batch", {"parallel": parallel, "events": subs}))
        codes = [sub["payload"]["code"] for sub in answer["payload"]]
        assert codes == ["NO_KEY", "UNHANDLED_ERROR"]


def test_errorhandler_is_for_this_blueprints_events_only():
    events = blueprint()
    events.register_error_handler(RuntimeError, lambda error: NotFound(code="MINE"))
    other = EventsBlueprint("other", __name__, url_prefix="/other", doc_url=None)

    @other.handler("crash", 1)
    def crash(event: Event) -> Any:
        raise RuntimeError("crashed")

    app = make_app(events)
    app.register_blueprint(other)

    @app.route("/view")
    def view() -> str:
        raise RuntimeError("a view's")

    assert ask(app, envelope("crash"))["payload"]["code"] == "MINE"
    answer = app.test_client().post("/other/events", data=dumps(envelope("crash"))).json
    assert answer["payload"]["code"] == "UNHANDLED_ERROR"
    assert app.test_client().get("/view").status_code == 500  # Flask's own handling


def test_errorhandler_declared_twice_for_one_class_raises_naming_both():
    events = blueprint()

    @events.errorhandler(KeyError)
    def first(error: Exception) -> EventError:
        return NotFound()

    with pytest.raises(EventsError, match="KeyError") as info:

        @events.errorhandler(KeyError)
        def second(error: Exception) -> EventError:
            return NotFound()

    assert "first" in str(info.value) and "second" in str(info.value)
    events.errorhandler(LookupError)(first)  # another class is fine


@pytest.mark.parametrize("key", ["KeyError", 999, True, object])
def test_errorhandler_for_something_else_raises(key):
    with pytest.raises(EventsError, match="exception class or an HTTP error status"):
        blueprint().errorhandler(key)(lambda error: NotFound())


def test_an_errorhandler_that_fails_is_logged_and_answered_error(caplog):
    events = blueprint()

    @events.errorhandler(KeyError)
    def broken(error: Exception) -> Any:
        raise ValueError("broken handler")

    @events.errorhandler(IndexError)
    def silent(error: Exception) -> Any:
        return None  # neither an EventError nor an Event

    app = make_app(events)
    with caplog.at_level(logging.ERROR, logger="flask_events"):
        assert ask(app, envelope("key", {"key": "k"}))["payload"]["code"] == "UNHANDLED_ERROR"
        assert ask(app, envelope("index"))["payload"]["code"] == "UNHANDLED_ERROR"
    assert "error handler tests.test_flask_errors" in caplog.text
    assert "ValueError: broken handler" in caplog.text
    assert "returned NoneType" in caplog.text
    with pytest.raises(ValueError, match="broken handler"):  # when propagating
        ask(make_app(events, TESTING=True), envelope("key", {"key": "k"}))


def test_errorhandler_runs_with_the_handlers_context():
    events = blueprint()
    seen = []

    @events.errorhandler(RuntimeError)
    def crashed(error: Exception) -> EventError:
        from flask_events import current_event

        seen.append((current_event.name, g.get("marker")))
        return NotFound()

    @events.before_app_request
    def mark() -> None:
        g.marker = "request"

    ask(make_app(events), envelope("crash"))
    assert seen == [("crash", "request")]


# -- EVENTS_PROPAGATE_EXCEPTIONS ----------------------------------------------------


def test_propagate_exceptions_default_follows_testing():
    app = make_app(blueprint(), TESTING=True)
    assert app.config["EVENTS_PROPAGATE_EXCEPTIONS"] is None
    with pytest.raises(RuntimeError, match="crashed"):  # the real traceback, in a test
        app.test_client().post("/events", data=dumps(envelope("crash")))
    with pytest.raises(RuntimeError, match="crashed async"):
        app.test_client().post("/events", data=dumps(envelope("async:crash")))
    app = make_app(blueprint())
    assert ask(app, envelope("crash"))["payload"]["code"] == "UNHANDLED_ERROR"


def test_debug_mode_keeps_answering_events():
    app = make_app(blueprint())
    app.debug = True  # Flask would propagate a view's exception: a client is talking
    assert ask(app, envelope("crash"))["payload"]["code"] == "UNHANDLED_ERROR"


def test_propagate_exceptions_false_answers_error_in_testing(caplog):
    app = make_app(blueprint(), TESTING=True, EVENTS_PROPAGATE_EXCEPTIONS=False)
    with caplog.at_level(logging.ERROR, logger="flask_events"):
        assert ask(app, envelope("crash"))["name"] == "crash:error"
    assert "RuntimeError: crashed" in caplog.text


def test_propagate_exceptions_true_raises_out_of_the_view():
    app = make_app(blueprint(), EVENTS_PROPAGATE_EXCEPTIONS=True)
    response = app.test_client().post("/events", data=dumps(envelope("crash")))
    assert response.status_code == 500  # Flask's own handling of a view's exception
    app.config["PROPAGATE_EXCEPTIONS"] = True
    with pytest.raises(RuntimeError, match="crashed"):
        app.test_client().post("/events", data=dumps(envelope("crash")))


def test_propagated_exceptions_are_signalled_first_and_not_logged(caplog):
    app = make_app(blueprint(), TESTING=True)
    with record_signals() as recorder, caplog.at_level(logging.ERROR, logger="flask_events"):
        with pytest.raises(RuntimeError):
            app.test_client().post("/events", data=dumps(envelope("crash")))
    [finished] = recorder.calls["finished"]
    assert isinstance(finished["error"], RuntimeError)
    assert finished["response"].name == "crash:error"
    assert "crashed" not in caplog.text


def test_typed_errors_are_answered_even_when_propagating():
    app = make_app(blueprint(), EVENTS_PROPAGATE_EXCEPTIONS=True)
    assert ask(app, envelope("lookup"))["name"] == "lookup:notFound"
    assert ask(app, envelope("abort", {"status": 403}))["name"] == "abort:forbidden"
    assert ask(app, envelope("nope"))["name"] == "eventNotFound"


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("name", ["crash", "async:crash"])
def test_a_batch_sub_events_exception_propagates_out_of_the_batch(parallel, name):
    app = make_app(blueprint(), TESTING=True)
    subs = [envelope("abort", {"status": 404}), envelope(name), envelope("lookup")]
    with pytest.raises(RuntimeError, match="crashed"):
        app.test_client().post(
            "/events", data=dumps(envelope("batch", {"parallel": parallel, "events": subs}))
        )


def test_a_socketio_events_exception_propagates_out_of_the_handler():
    events = blueprint()
    app = make_app(events, TESTING=True)
    socketio = SocketIO(app, async_mode="threading")
    events.attach_socketio(socketio)
    client = socketio.test_client(app, namespace="/events")
    with pytest.raises(RuntimeError, match="crashed"):  # re-raised by the test client
        client.emit("event", envelope("crash"), namespace="/events", callback=True)
    answer = client.emit("event", envelope("lookup"), namespace="/events", callback=True)
    assert answer["name"] == "lookup:notFound"
    client.disconnect(namespace="/events")


def test_abort_without_a_description_answers_the_types_own_message():
    from werkzeug.exceptions import NotFound as WerkzeugNotFound

    from flask_events import NotFound as EventNotFoundError
    from flask_events.failures import http_error

    error = http_error(WerkzeugNotFound())
    assert error.message == EventNotFoundError.message  # not werkzeug's text about URLs
    assert error.code == "NOT_FOUND" and error.parameters == {"status": 404}
    assert http_error(WerkzeugNotFound("No such account")).message == "No such account"
