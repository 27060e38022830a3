"""Count the occurrences of credentials reaching subscribers, spans, logs and answers.

A token with a backslash, a newline, quotes and non-ASCII letters, a numeric PIN and a
nested credential, put into exceptions every way a handler might (message, note,
chained KeyError, dict argument, attribute), a handler returning its request, typed
errors, and batch sub-envelopes in every form (JSON text, non-object auth, a batch
nested three deep); ids with a newline. Run from the checkout to measure
(``python bench/probe_credentials.py``; ``-v`` names what still carries one)::

    subscribers=N spans=N logs=N answers=N forged_log_lines=N

What remains by design: a protocol error whose message the handler built from the
token is the handler's answer (sent to the caller and shown in ``response``).
"""

import io
import json
import logging
import sys
import traceback

sys.path.insert(0, ".")  # the checkout run from, not the installed one

from flask import Flask
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

import flask_events
from flask_events import EventsBlueprint, Unauthorized
from flask_events.contrib.tracing import EventsTracing
from flask_events.testing import record_signals

CORE = "K9x2Qz"
TOKEN = CORE + '\\path\n"q"\'s-\u00fcn\u00ef-\u2603'
PIN = 73915264
AUTH = {"token": TOKEN, "pin": PIN, "nested": {"list": [CORE + "-2"]}}


class Holder(Exception):
    def __init__(self, token):
        super().__init__("opaque")
        self.token = token


events = EventsBlueprint("events", __name__)
events.add_batch("batch", 1)


@events.handler("careless", 1)
def careless(event):
    try:
        raise KeyError(event.auth["token"])
    except KeyError as cause:
        error = RuntimeError(f"token={event.auth['token']} pin={event.auth['pin']} {event.auth!r}")
        error.add_note(json.dumps(event.auth))
        raise error from cause


@events.handler("typed", 1)
def typed(event):
    raise Unauthorized(f"bad {event.auth['token']}", parameters={"pin": event.auth["pin"]})


@events.handler("keyerror", 1)
def keyerror(event):
    raise KeyError(event.auth["token"])


@events.handler("dictarg", 1)
def dictarg(event):
    raise ValueError(event.auth)


@events.handler("attr", 1)
def attr(event):
    raise Holder(event.auth["token"])


@events.handler("mirror", 1)
def mirror(event):
    return event


app = Flask(__name__)
app.register_blueprint(events)
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
EventsTracing(app, tracer_provider=provider)
stream = io.StringIO()
handler = logging.StreamHandler(stream)
handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
log = logging.getLogger("flask_events")
log.addHandler(handler)
log.setLevel(logging.DEBUG)


def env(name, **extra):
    return {"name": name, "version": 1, "id": "i", "flowId": "f", "payload": {}, **extra}


forged = "x\nFORGED fake record"
bodies = [
    env(n, auth=AUTH) for n in ("careless", "typed", "keyerror", "dictarg", "attr", "mirror")
]
bodies.append(env("careless", auth=AUTH, id=forged, flowId=forged))
inner = env("mirror", auth=AUTH)
nested = inner
for _ in range(3):
    nested = env("batch", auth=AUTH, payload={"events": [nested]})
subs = [
    json.dumps(env("careless", auth=AUTH)),
    env("mirror", auth=TOKEN),
    env("mirror", auth=[TOKEN]),
    env("mirror", auth=PIN),
    nested,
    env("careless", auth=AUTH),
    env("mirror", auth=AUTH),
]
bodies.append(env("batch", payload={"parallel": False, "events": subs}))


def exposed(value, seen=None):
    parts = [repr(value)]
    if isinstance(value, BaseException):
        parts += [str(value), "".join(traceback.format_exception(value)), repr(vars(value))]
        for linked in (value.__cause__, value.__context__):
            if linked is not None:
                parts.append(exposed(linked))
        tb = value.__traceback__
        while tb is not None:  # what a locals-capturing integration (Sentry...) reads
            for local in tb.tb_frame.f_locals.values():
                auth = getattr(local, "auth", None)
                if auth:
                    parts.append(repr(auth))
            tb = tb.tb_next
    elif isinstance(value, dict):
        parts += [exposed(v) for v in value.values()]
    return "\n".join(parts)


client = app.test_client()
answers = []
with record_signals() as recorder:
    for body in bodies:
        answers.append(client.post("/events", data=json.dumps(body)).get_data(as_text=True))
provider.shutdown()
subscribers = "\n".join(exposed(call) for calls in recorder.calls.values() for call in calls)
spans = "\n".join(s.to_json() for s in exporter.get_finished_spans())
logs = stream.getvalue()


def count(text):
    return text.count(CORE) + text.count(str(PIN))


print(f"{flask_events.__file__}")
forged_lines = sum(line.startswith("FORGED") for line in logs.splitlines())
print(
    f"subscribers={count(subscribers)} spans={count(spans)} logs={count(logs)}"
    f" answers={count(''.join(answers))} forged_log_lines={forged_lines}"
)
if "-v" in sys.argv:
    for key, calls in recorder.calls.items():
        for call in calls:
            t = exposed(call)
            if count(t):
                print(key, {k: v for k, v in call.items() if k in ("event", "response", "error")})
    for a in answers:
        if count(a):
            print("ANSWER", a)
