"""Variants of the second hardening round's findings, probed again: text Python's json
lets through and msgspec cannot write (lone surrogates), errors quoting what a
payload's objects raised, events nested in answers, log-record fields that could
forge lines, and push failures kept apart from answered events in the metrics.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from datetime import datetime, timedelta, tzinfo
from typing import Any, Optional

import msgspec
import pytest
from flask import Flask
from flask_socketio import SocketIO

from flask_events import Event, EventLogFilter, EventsBlueprint, PushFailed, current_handling
from flask_events.contrib.metrics import EventsMetrics
from flask_events.redaction import scrub, secret_forms
from flask_events.signals import (
    error_noticed,
    event_error_noticed,
    event_finished,
    event_started,
    send,
)
from flask_events.testing import record_signals

TOKEN = "Zq7-credential-\u00fc"
AUTH = {"token": TOKEN}


def envelope(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "version": 1, "id": "i-1", "flowId": "f-1", "payload": None, **extra}


class Unwritable(tzinfo):
    """A time zone whose offset raises with a credential in its message: what the
    encoder reports when it meets such an object in a payload.
    """

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def utcoffset(self, dt: Optional[datetime]) -> timedelta:
        raise LookupError(f"cannot resolve {self.secret}\nforged line")


@dataclasses.dataclass
class Box:
    inside: Event


class Holder(msgspec.Struct):
    inside: Event


@pytest.fixture
def app() -> Flask:
    events = EventsBlueprint("events", __name__)
    events.add_batch("batch", 1)

    @events.handler("careless", 1)
    def careless(event: Event) -> Any:
        raise RuntimeError(f"token={event.auth['token']}")

    @events.handler("when", 1)
    def when(event: Event) -> Any:
        return {"at": datetime(2026, 1, 1, tzinfo=Unwritable(event.auth["token"]))}

    @events.handler("receipt", 1)
    def receipt(event: Event) -> Any:
        return {"received": [event], "pair": (1, {"again": event})}

    @events.handler("boxed", 1)
    def boxed(event: Event) -> Any:
        return {"box": Box(event), "struct": Holder(event)}

    @events.handler("cause", 1)
    def cause(event: Event) -> Any:
        return Event.new("caused", 1, {}, metadata={"cause": event})

    @events.handler("deep", 1)
    def deep(event: Event) -> Any:
        value: list[Any] = []
        for _ in range(600):
            value = [value]
        return value

    @events.handler("plain:auth:key", 1)
    def plain(event: Event) -> Any:
        return {"auth": {"scheme": "basic"}}

    @events.handler("logs", 1)
    def logs(event: Event) -> Any:
        logging.getLogger("tests.edge").warning("inside")
        return None

    app = Flask(__name__)
    app.config["TESTING"] = True
    app.register_blueprint(events)
    socketio = SocketIO(app, async_mode="threading")
    events.attach_socketio(socketio, namespace="/ev")
    app.extensions["test_socketio"] = socketio
    return app


def test_socketio_lone_surrogates_are_bad_protocol_and_never_logged(app, caplog):
    """Python's json module (python-socketio's) decodes ``"\\ud800"``; msgspec cannot
    write it. Anywhere in an envelope it is answered ``badProtocol`` at once — it used
    to get no answer at all, and inside a batch to log a credential unscrubbed.
    """
    sio = app.extensions["test_socketio"].test_client(app, namespace="/ev")
    cases = [
        envelope("careless", auth={"token": TOKEN + "\ud800"}),
        envelope("nosuch", id="i\ud800"),
        envelope("batch", payload={"events": [envelope("careless", auth={"token": TOKEN})]})
        | {"metadata": {"note": "\udfff"}},
        envelope("batch", payload={"events": [envelope("x", auth={"t": TOKEN + "\ud800"})]}),
    ]
    with record_signals() as recorder, caplog.at_level(logging.DEBUG):
        answers = [sio.emit("event", case, namespace="/ev", callback=True) for case in cases]
    assert [answer["name"] for answer in answers] == ["badProtocol"] * len(cases)
    messages = [answer["payload"]["parameters"]["message"] for answer in answers]
    assert all("lone surrogate" in message for message in messages)
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(recorder.calls)


def test_the_not_serializable_log_line_is_one_scrubbed_line(client, caplog):
    with caplog.at_level(logging.ERROR, logger="flask_events"), record_signals() as recorder:
        response = client.post("/events", json=envelope("when", auth=AUTH))
    assert recorder.calls["finished"][0]["response"].payload == "[redacted]"
    assert response.status_code == 500
    assert response.json["payload"]["code"] == "UNSERIALIZABLE_RESPONSE"
    (record,) = [r for r in caplog.records if "not serializable" in r.getMessage()]
    assert "\n" not in record.getMessage()
    assert record.exc_info is None and record.exc_text is None
    assert TOKEN not in caplog.text and "[redacted]" in record.getMessage()


@pytest.mark.parametrize("name", ["receipt", "boxed", "cause"])
def test_events_inside_an_answer_are_answered_without_their_auth(client, name):
    """In a dict, list or tuple, in a dataclass or a Struct, in metadata: every event
    inside an answer is answered, and shown to subscribers, with ``"auth": {}``.
    """
    with record_signals() as recorder:
        body = client.post("/events", json=envelope(name, auth=AUTH)).get_data(as_text=True)
    assert TOKEN not in body and json.dumps(TOKEN)[1:-1] not in body
    assert body.count('"auth":{}') >= 2  # the answer's own, and the nested event's
    (finished,) = recorder.calls["finished"]
    shown = json.dumps(finished["response"].to_dict(), default=repr)
    assert TOKEN not in shown and json.dumps(TOKEN)[1:-1] not in shown


def test_a_deep_answer_with_a_subscriber_is_answered_as_without(client):
    with record_signals() as recorder:
        response = client.post("/events", json=envelope("deep", payload=None))
    assert response.status_code == 200 and response.json["name"] == "deep:response"
    assert len(recorder.calls["finished"]) == 1


def test_a_payload_key_named_auth_is_kept(client):
    answer = client.post("/events", json=envelope("plain:auth:key")).json
    assert answer["payload"] == {"auth": {"scheme": "basic"}}


def test_the_log_filter_escapes_what_could_forge_a_line(client):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(EventLogFilter())
    handler.setFormatter(logging.Formatter("%(flow_id)s %(event_id)s %(event_name)s %(message)s"))
    logger = logging.getLogger("tests.edge")
    logger.addHandler(handler)
    try:
        client.post("/events", json=envelope("logs", id="a\nforged", flowId="f\x1b[2J\r"))
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == "f\\x1b[2J\\r a\\nforged logs inside\n"


def test_scrubbing_survives_text_msgspec_cannot_write():
    forms = secret_forms({"token": "abc\ud800def"})
    assert forms is not None
    assert scrub("x abc\ud800def y", forms) == "x [redacted] y"


def test_a_bug_while_scrubbing_hands_over_a_stand_in_not_the_original(monkeypatch, caplog):
    import flask_events.signals as signals

    def broken(error: BaseException, auth: Any) -> BaseException:
        raise ValueError(f"broken while scrubbing {auth}")

    monkeypatch.setattr(signals, "scrubbed_error", broken)
    seen: list[Any] = []
    with event_error_noticed.connected_to(lambda sender, **kw: seen.append(kw["error"])):
        send(
            event_error_noticed,
            None,
            event=Event.new("x", 1, auth=AUTH),
            error=RuntimeError(TOKEN),
            transport="t",
        )
    (error,) = seen
    assert TOKEN not in repr(error) and TOKEN not in str(error)
    assert TOKEN not in caplog.text and "could not scrub" in caplog.text


def test_errors_built_by_the_dispatcher_are_not_scrubbed(client, monkeypatch):
    """An unknown event or a nested batch costs no scrubbing of the request's auth,
    however large it is; their errors hold nothing of it.
    """
    import flask_events.redaction as redaction

    def forbidden(auth: Any) -> Any:
        raise AssertionError("scrubbed")

    monkeypatch.setattr(redaction, "secret_forms", forbidden)
    seen: list[Any] = []
    with event_error_noticed.connected_to(lambda sender, **kw: seen.append(kw["error"])):
        client.post("/events", json=envelope("nosuch", auth=AUTH))
        nested = envelope("batch", payload={"events": []}, auth=AUTH)
        client.post("/events", json=envelope("batch", payload={"events": [nested]}))
    assert [type(error).__name__ for error in seen] == ["EventNotFound", "BadRequest"]


def test_metrics_count_push_failures_apart_from_answers(app):
    from prometheus_client import generate_latest

    metrics = EventsMetrics(app, metrics_url=None)
    failure = PushFailed("the queue is down", to="user:7", namespace="/ev")
    send(error_noticed, app, error=failure, transport="socketio")
    text = generate_latest(metrics.registry).decode()
    assert 'events_push_failures_total{namespace="/ev"} 1.0' in text
    assert 'outcome="pushFailed"' not in text


def test_subscribers_of_a_sub_event_cannot_read_the_raw_batch_from_the_context(client):
    """While a sub-event's signals run, ``current_handling()`` holds the redacted event
    the subscriber gets, never the batch request with its raw ``auth`` and
    sub-envelopes.
    """
    seen: list[Any] = []

    def look(sender: Any, event: Event, **kwargs: Any) -> None:
        seen.append((current_handling(), event))

    sub = envelope("plain:auth:key", auth=AUTH)
    with event_started.connected_to(look), event_finished.connected_to(look):
        client.post("/events", json=envelope("batch", payload={"events": [sub]}, auth=AUTH))
    assert len(seen) == 4
    for handling, event in seen:
        assert handling.event is event and TOKEN not in repr(event)
    assert [handling.event.name for handling, _ in seen] == [
        "batch",
        *["plain:auth:key"] * 2,
        "batch",
    ]


def test_encoding_an_object_whose_error_cannot_be_written_is_a_type_error():
    from flask_events.codec import dumps

    with pytest.raises(TypeError, match="UnprintableError"):
        dumps(datetime(2026, 1, 1, tzinfo=UnprintableZone()))


class UnprintableZone(tzinfo):
    def utcoffset(self, dt: Optional[datetime]) -> timedelta:
        raise UnprintableError()


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


def test_a_decoded_envelope_whose_name_cannot_be_written_is_answered(app):
    """``Dispatcher.handle`` never raises for bad input, even a dict (the public API's
    third form) holding text that cannot be encoded.
    """
    dispatcher = app.blueprints["events"].dispatcher
    with app.app_context():
        reply = dispatcher.handle(envelope("a\ud800"), sender=app)
    assert json.loads(reply.body)["name"] in ("error", "eventNotFound")
