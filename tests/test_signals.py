"""Tracker signals (docs/protocol.rst#tracker-signals): when each fires, with what,
and isolation.
"""

from __future__ import annotations

import json
import logging
import re

from flask_events import Event
from flask_events.codec import dumps
from flask_events.signals import event_finished, event_started, send
from flask_events.testing import record_signals

from .helpers import envelope


def test_success_fires_started_then_finished(app, client, recorder):
    env = envelope("echo", 1, {"k": 1})
    client.post("/events", data=dumps(env))
    assert recorder.count("started") == 1 and recorder.count("finished") == 1
    assert recorder.count("error_noticed") == 0 and recorder.count("event_error_noticed") == 0
    started = recorder.calls["started"][0]
    finished = recorder.calls["finished"][0]
    assert started["sender"] is app and finished["sender"] is app
    assert started["event"].id == env["id"] and started["transport"] == "http"
    assert finished["event"] is started["event"]
    assert finished["response"].name == "echo:response"
    assert finished["error"] is None
    assert isinstance(finished["duration"], float) and finished["duration"] >= 0


def test_handler_error_is_passed_to_finished(client, recorder):
    client.post("/events", data=dumps(envelope("boom", 1)))
    finished = recorder.calls["finished"][0]
    assert isinstance(finished["error"], RuntimeError)
    assert finished["response"].name == "boom:error"
    assert recorder.count("event_error_noticed") == 0


def test_typed_error_is_passed_to_finished(client, recorder):
    client.post("/events", data=dumps(envelope("lookup", 1)))
    finished = recorder.calls["finished"][0]
    assert finished["error"].type == "notFound"
    assert finished["response"].name == "lookup:notFound"


def test_bad_body_fires_error_noticed_only(client, recorder):
    client.post("/events", data=b"{")
    assert recorder.count("error_noticed") == 1
    assert recorder.calls["error_noticed"][0]["error"].type == "badProtocol"
    assert sum(recorder.count(k) for k in ("started", "finished", "event_error_noticed")) == 0


def test_bad_envelope_fires_error_noticed(client, recorder):
    client.post("/events", data=dumps(envelope("echo", "1")))
    assert recorder.calls["error_noticed"][0]["error"].parameters == {"propertyName": "version"}


def test_not_found_fires_event_error_noticed(client, recorder):
    env = envelope("nope", 3)
    client.post("/events", data=dumps(env))
    call = recorder.calls["event_error_noticed"][0]
    assert call["event"].id == env["id"] and call["error"].code == "NO_EVENT_HANDLER_FOUND"
    assert recorder.count("started") == 0


def test_raising_subscriber_is_logged_and_changes_nothing(app, client, recorder, caplog):
    def broken(sender, **extra):
        raise RuntimeError("metrics backend down")

    event_started.connect(broken)
    event_finished.connect(broken)
    try:
        with caplog.at_level(logging.ERROR, logger="flask_events"):
            response = client.post("/events", data=dumps(envelope("echo", 1, 5)))
    finally:
        event_started.disconnect(broken)
        event_finished.disconnect(broken)
    assert response.status_code == 200 and json.loads(response.data)["payload"] == 5
    assert "metrics backend down" in caplog.text
    # the other subscribers still ran
    assert recorder.count("started") == 1 and recorder.count("finished") == 1


def test_subscriber_for_one_app_only(client, app):
    seen = []

    def only_this_app(sender, **extra):
        seen.append(sender)

    event_started.connect(only_this_app, sender=app)
    try:
        client.post("/events", data=dumps(envelope("echo", 1)))
    finally:
        event_started.disconnect(only_this_app)
    assert seen == [app]


def test_send_without_receivers_builds_nothing(monkeypatch):
    from blinker import Namespace

    from flask_events import signals

    redactions = []
    real_redacted = signals.redacted

    def counting_redacted(event):
        redactions.append(event)
        return real_redacted(event)

    monkeypatch.setattr(signals, "redacted", counting_redacted)
    signal = Namespace().signal("fresh")  # nobody else's receivers, whatever ran before
    event = Event.new("echo", 1, auth={"token": "tok-unseen"})
    send(signal, "sender", event=event, transport="http")
    assert redactions == []
    seen = []
    receiver = lambda sender, **kwargs: seen.append(kwargs)  # noqa: E731
    with signal.connected_to(receiver):
        send(signal, "sender", event=event, transport="http")
    assert redactions == [event]  # the same send, with a receiver, does the work
    assert seen[0]["event"].auth == {"token": "[redacted]"}


def _documented_params(signal):
    return set(re.findall(r":param (\w+):", signal.__doc__ or ""))


def test_each_signal_documents_exactly_the_keyword_arguments_it_is_sent_with(app, client):
    from flask_events import signals

    with record_signals(sender=app) as recorder:
        client.post("/events", data=dumps(envelope("echo", 1)))  # started, finished
        client.post("/events", data=b"{")  # error_noticed
        client.post("/events", data=dumps(envelope("nope", 3)))  # event_error_noticed
    for key, signal in recorder.SIGNALS.items():
        assert getattr(signals, signal.name.replace("-", "_")) is signal
        assert recorder.count(key) == 1, key
        sent = set(recorder.calls[key][0]) - {"sender"}
        assert _documented_params(signal) == sent, signal.name
