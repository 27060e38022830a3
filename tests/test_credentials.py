"""Credentials of ``auth`` in every form they can take — raw, ``repr``-escaped,
JSON-escaped, numeric, nested — never reach signal subscribers, spans or logs, whatever a
handler does with them (exception messages, notes, chained exceptions, ``KeyError``).
"""

from __future__ import annotations

import json
import logging
import sys
import traceback

import pytest
from flask import Flask
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flask_events import Event, EventNotFound, EventsBlueprint, Unauthorized
from flask_events.contrib.tracing import EventsTracing
from flask_events.redaction import redacted
from flask_events.testing import post_event, record_signals

#: Found nowhere but in ``auth``: if any form of the token leaks, this does.
CORE = "K9x2Qz"
#: A backslash, a newline, both quotes and non-ASCII letters: each escapes differently.
TOKEN = CORE + '\\path\n"q"\'s-\u00fcn\u00ef-\u2603'
PIN = 73_915_264
AUTH = {"token": TOKEN, "pin": PIN, "nested": {"list": [CORE + "-second"]}, "flag": True}
IDENTITY = {"userId": "user-visible-31"}


def forms(secret):
    """The forms a credential is seen in: raw, repr-, ascii- and JSON-escaped."""
    text = secret if isinstance(secret, str) else str(secret)
    return {
        text,
        repr(text)[1:-1],
        ascii(text)[1:-1],
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
    }


def leaked(text):
    """The forms of the credentials of ``AUTH`` found in ``text``."""
    found = {form for secret in (TOKEN, PIN) for form in forms(secret) if form in text}
    return found | ({CORE} if CORE in text else set())


def exposed(value):
    """Everything a subscriber can read from a signal's argument, as text."""
    parts = [repr(value), str(value)]
    if isinstance(value, BaseException):
        parts.append("".join(traceback.format_exception(type(value), value, value.__traceback__)))
        parts.append(repr(vars(value)))
        for linked in (value.__cause__, value.__context__):
            if linked is not None:
                parts.append(exposed(linked))
    return "\n".join(parts)


#: Notes (``add_note``) are printed in tracebacks from Python 3.11 only.
NOTES_PRINTED = sys.version_info >= (3, 11)


def add_note(error, note):
    """``error.add_note(note)``, by hand where ``add_note`` does not exist (< 3.11)."""
    if hasattr(error, "add_note"):
        error.add_note(note)
    else:
        error.__notes__ = [*getattr(error, "__notes__", ()), note]


def careless(event):
    """Puts the credentials into its exception every way a handler might."""
    token = event.auth["token"]
    try:
        raise KeyError(token)  # its str() is the repr: quotes and escapes
    except KeyError as cause:
        error = RuntimeError(f"token={token} pin={event.auth['pin']} auth={event.auth!r}")
        add_note(error, json.dumps(event.auth))
        add_note(error, json.dumps(event.auth, ensure_ascii=False))
        add_note(error, f"flag={event.auth['flag']} identity={event.identity.get('userId')}")
        raise error from cause


@pytest.fixture
def raised():
    """The exceptions the handlers raised, as they raised them."""
    return []


@pytest.fixture
def app(raised):
    events = EventsBlueprint("events", __name__)
    events.add_batch("batch", 1)

    @events.handler("careless", 1)
    def careless_handler(event):
        try:
            careless(event)
        except RuntimeError as error:
            raised.append(error)
            raise

    @events.handler("typed", 1)
    def typed(event):
        raise Unauthorized(f"bad token {event.auth['token']}", parameters={"pin": PIN})

    @events.handler("mirror", 1)
    def mirror(event):
        return event  # its request event, auth and all, as its response

    @events.handler("unserializable", 1)
    def unserializable(event):
        return {"value": object()}

    app = Flask(__name__)
    app.config["TESTING"] = True
    app.config["EVENTS_PROPAGATE_EXCEPTIONS"] = False  # the tests read <name>:error answers
    app.register_blueprint(events)
    return app


def sub(name, **extra):
    return {"name": name, "version": 1, "id": "s", "flowId": "f", "payload": {}, **extra}


def test_subscribers_get_a_scrubbed_exception_and_the_handler_keeps_its_own(
    client, raised, caplog
):
    with record_signals() as recorder, caplog.at_level(logging.ERROR, logger="flask_events"):
        answer = post_event(client, "careless", 1, auth=AUTH, identity=IDENTITY)
        batch = [sub("careless", auth=AUTH, identity=IDENTITY)]
        post_event(client, "batch", 1, {"parallel": False, "events": batch})
    assert answer.error_code == "UNHANDLED_ERROR"
    errors = [call["error"] for call in recorder.calls["finished"] if call["error"] is not None]
    errors += [call["error"] for call in recorder.calls["event_error_noticed"]]
    assert len(errors) == 3  # the event, the sub-event finishing, the sub-event noticed
    for error in errors:
        assert leaked(exposed(error)) == set(), exposed(error)
        assert error.__traceback__ is error.__cause__ is error.__context__ is None
        assert error.type_name == "RuntimeError" and str(error) == error.message
        assert "token=[redacted]" in error.message and "pin=[redacted]" in error.message
        assert "KeyError: '[redacted]'" in error.traceback  # the chain is there, scrubbed
        if NOTES_PRINTED:  # the notes are there, scrubbed: not credentials
            assert "flag=True identity=user-visible-31" in error.traceback
    assert leaked(repr(recorder.calls)) == set()
    # the handler's own exception is untouched: message, notes, chain, traceback
    first = raised[0]
    assert TOKEN in str(first) and first.__cause__.args == (TOKEN,)
    assert first.__traceback__ is not None and len(first.__notes__) == 3


def test_typed_and_not_found_errors_stay_their_class_for_subscribers(client):
    with record_signals() as recorder:
        answer = post_event(client, "typed", 1, auth=AUTH)
        post_event(client, "no:such", 1, auth=AUTH)
    assert answer.error_code == "UNAUTHORIZED"
    (typed,) = [call["error"] for call in recorder.calls["finished"]]
    assert type(typed) is Unauthorized and typed.code == "UNAUTHORIZED"
    assert typed.message == "bad token [redacted]" and typed.parameters == {"pin": "[redacted]"}
    assert leaked(exposed(typed)) == set() and typed.__traceback__ is None
    (missing,) = [call["error"] for call in recorder.calls["event_error_noticed"]]
    assert isinstance(missing, EventNotFound) and missing.parameters["event"] == "no:such"


def test_spans_never_hold_a_credential(app):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    EventsTracing(app, tracer_provider=provider)
    client = app.test_client()
    try:
        post_event(client, "careless", 1, auth=AUTH)
        post_event(client, "typed", 1, auth=AUTH)
        post_event(client, "mirror", 1, auth=AUTH)
        batch = [sub("careless", auth=AUTH), sub("mirror", auth=AUTH)]
        post_event(client, "batch", 1, {"parallel": True, "events": batch})
        spans = exporter.get_finished_spans()
    finally:
        provider.shutdown()
    assert len(spans) == 6
    text = "\n".join(span.to_json() for span in spans)
    assert leaked(text) == set() and "[redacted]" in text
    (careless_span, *_) = [span for span in spans if span.name == "careless"]
    (exception,) = careless_span.events
    assert exception.attributes["exception.type"] == "RuntimeError"
    assert "token=[redacted]" in exception.attributes["exception.message"]
    stacktrace = exception.attributes["exception.stacktrace"]
    assert "Traceback" in stacktrace and "in careless" in stacktrace


def test_a_handler_returning_its_request_gives_subscribers_no_credential(client):
    with record_signals() as recorder:
        answer = post_event(client, "mirror", 1, auth=AUTH)
    assert answer.auth == {}
    (finished,) = recorder.calls["finished"]
    assert finished["response"].auth == dict.fromkeys(AUTH, "[redacted]")
    assert leaked(repr(recorder.calls)) == set()


def test_a_batch_answer_holds_no_credential_of_a_sub_event_returning_its_request(client):
    subs = [sub("mirror", auth=AUTH), sub("mirror", auth={"token": TOKEN})]
    body = json.dumps(sub("batch", payload={"parallel": False, "events": subs}))
    answer = client.post("/events", data=body)
    text = answer.get_data(as_text=True)
    assert [slot["name"] for slot in answer.json["payload"]] == ["mirror", "mirror"]
    assert [slot["auth"] for slot in answer.json["payload"]] == [{}, {}]
    assert leaked(text) == set()


# -- batch sub-envelopes ---------------------------------------------------------------


def test_a_sub_envelope_must_be_an_object(client, raised):
    as_text = json.dumps(sub("careless", auth=AUTH))  # a whole envelope, as a JSON string
    others = [as_text, 12, True, [sub("careless", auth=AUTH)]]
    with record_signals() as recorder:
        answer = post_event(client, "batch", 1, {"events": others}, flow_id="the-batch")
    slots = answer.payload
    assert [slot["name"] for slot in slots] == ["badProtocol"] * 4
    assert {slot["flowId"] for slot in slots} == {"the-batch"}
    assert slots[0]["payload"]["parameters"] == {"message": "expected a JSON object, got a string"}
    assert raised == []  # never parsed, so never run
    assert len(recorder.calls["error_noticed"]) == 4
    assert leaked(repr(recorder.calls)) == set()
    (started,) = recorder.calls["started"]
    assert started["event"].payload["events"] == ["[redacted]"] * 4


@pytest.mark.parametrize("auth", [TOKEN, [TOKEN], PIN, {"token": TOKEN}])
def test_every_sub_envelope_auth_is_redacted_for_subscribers(client, auth):
    """``auth`` that is not an object (answered badProtocol), and one that is."""
    subs = [sub("mirror", auth=auth)]
    with record_signals() as recorder:
        answer = post_event(client, "batch", 1, {"events": subs})
    assert answer.payload[0]["name"] == ("mirror" if isinstance(auth, dict) else "badProtocol")
    assert leaked(repr(recorder.calls)) == set()
    for call in recorder.calls["error_noticed"]:
        error = call["error"]
        assert leaked(exposed(error)) == set() and error.__traceback__ is None


def test_an_unreadable_envelope_reaches_error_noticed_without_its_traceback(client):
    body = json.dumps(sub("mirror", auth=TOKEN))  # auth must be an object
    with record_signals() as recorder:
        answer = client.post("/events", data=body)
    assert answer.json["name"] == "badProtocol"
    (call,) = recorder.calls["error_noticed"]
    error = call["error"]
    assert error.__traceback__ is error.__context__ is error.__cause__ is None
    assert leaked(exposed(error)) == set() and error.parameters == {"propertyName": "auth"}


def test_sub_envelopes_of_a_refused_nested_batch_are_redacted_at_every_depth(client):
    inner = sub("mirror", auth=AUTH)
    for _ in range(3):  # a batch in a batch in a batch in a batch
        inner = sub("batch", auth=AUTH, payload={"events": [inner, json.dumps(inner)]})
    with record_signals() as recorder:
        answer = post_event(client, "batch", 1, {"events": [inner]})
    assert answer.payload[0]["payload"]["code"] == "NESTED_BATCH"
    assert recorder.count("event_error_noticed") == 1
    assert leaked(repr(recorder.calls)) == set()


def test_redaction_is_bounded_and_idempotent():
    inner = sub("mirror", auth={"token": TOKEN})
    for _ in range(100):  # far deeper than EVENTS_MAX_DEPTH lets through
        inner = sub("batch", auth={"token": TOKEN}, payload={"events": [inner]})
    event = Event.new("batch", 1, {"events": [inner, "text"]}, auth={"token": TOKEN})
    shown = redacted(event)
    assert leaked(repr(shown)) == set() and CORE in repr(event)  # the original is untouched
    assert redacted(shown) is shown
    plain = Event.new("echo", 1, {"events": [sub("echo")]})
    assert redacted(plain) is plain


# -- logs ------------------------------------------------------------------------------


def test_the_logged_traceback_has_every_form_of_every_credential_scrubbed(client, caplog):
    with caplog.at_level(logging.ERROR, logger="flask_events"):
        post_event(client, "careless", 1, auth=AUTH, identity=IDENTITY)
    (record,) = caplog.records
    assert "Traceback" in record.exc_text and "KeyError: '[redacted]'" in record.exc_text
    assert leaked(caplog.text) == set()
    # what is not a credential stays: booleans, identity, strings under 4 characters
    assert "flag=True identity=user-visible-31" in caplog.text


@pytest.mark.parametrize(
    ("secret", "kept"),
    [("abc", True), ("abcd", False), (123, True), (1234, False), (1.5, True), (12.5, False)],
)
def test_credentials_of_at_least_four_characters_are_scrubbed(secret, kept):
    from flask_events.redaction import scrub, secret_forms

    text = f"value={secret!r} json={json.dumps(secret)}"
    assert (scrub(text, secret_forms({"k": secret})) == text) is kept


def test_escaped_and_twice_escaped_forms_are_scrubbed():
    from flask_events.redaction import scrub, secret_forms

    once = [
        lambda text: repr(text),
        lambda text: ascii(text),
        lambda text: repr(text + "\"'"),  # both quotes: single-quoted, ' escaped
        lambda text: json.dumps(text),
        lambda text: json.dumps(text, ensure_ascii=False),
    ]
    forms = secret_forms(AUTH)
    for first in once:
        for second in [lambda text: text, *once]:
            text = second(first(TOKEN))
            assert CORE in text and leaked(scrub(text, forms)) == set(), text
    float_forms = secret_forms({"pin": float(PIN)})
    assert (
        scrub(f"{float(PIN)!r} {PIN} {json.dumps(1e22)}", float_forms)
        == "[redacted] [redacted] 1e+22"
    )
    assert scrub(json.dumps(1e22), secret_forms({"big": 1e22})) == "[redacted]"


@pytest.mark.parametrize("count", [98, 99])
def test_an_auth_with_too_many_credentials_gets_whole_texts_replaced(client, caplog, count):
    """Scrubbing costs one search per form: past 100 credentials, none is searched."""
    auth = {"tokens": [f"{CORE}-{index:04d}" for index in range(count)], "token": TOKEN}
    auth.update(pin=PIN, flag=True)  # count + 2 credentials
    with record_signals() as recorder, caplog.at_level(logging.ERROR, logger="flask_events"):
        post_event(client, "careless", 1, auth=auth, identity=IDENTITY)
    (finished,) = recorder.calls["finished"]
    (record,) = caplog.records
    assert leaked(exposed(finished["error"]) + caplog.text) == set()
    if count + 2 > 100:
        assert finished["error"].message == finished["error"].traceback == "[redacted]"
        assert record.exc_text == "[redacted]"
    else:
        assert "token=[redacted]" in finished["error"].message and "Traceback" in record.exc_text


def test_a_logged_failure_is_one_line_whatever_the_ids(client, caplog):
    forged = "x\nERROR flask_events: forged line\r"
    with caplog.at_level(logging.ERROR, logger="flask_events"):
        for name in ("careless", "unserializable"):
            post_event(client, name, 1, auth=AUTH, identity=IDENTITY, id=forged, flow_id=forged)
    assert len(caplog.records) == 2
    for record in caplog.records:
        message = record.getMessage()
        assert "\n" not in message and "\r" not in message, message
        assert repr(forged) in message
    assert "forged line" not in caplog.text.replace(repr(forged), "")


def test_send_scrubs_the_error_by_the_event_s_auth_when_not_told_which():
    """A send that names no ``credentials`` (a transport's, an extension's) still
    scrubs its ``error`` by the ``auth`` of the event it is about.
    """
    from blinker import Namespace

    from flask_events.signals import send

    signal = Namespace().signal("probe")
    seen = []
    signal.connect(lambda sender, **kwargs: seen.append(kwargs), weak=False)
    request = Event.new("x", 1, {}, auth=AUTH)
    send(signal, None, event=request, error=RuntimeError(f"token={TOKEN}"), transport="t")
    assert len(seen) == 1
    assert not leaked(exposed(seen[0]["error"]))
    assert not leaked(repr(seen[0]["event"].auth))
