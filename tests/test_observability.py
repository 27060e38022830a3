"""Prometheus metrics and OpenTelemetry traces, over the public signals."""

from __future__ import annotations

import pytest
from flask import Flask
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flask_events import EventsBlueprint, EventsClient
from flask_events.contrib.metrics import EventsMetrics
from flask_events.contrib.tracing import EventsTracing
from flask_events.testing import post_event

from .helpers import make_blueprint
from .servers import serve_in_thread

TOKEN = "s3cr3t-token-never-in-a-span"


def sample(text, metric, **labels):
    """The value of one sample in a Prometheus text exposition."""
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    for line in text.splitlines():
        if line.startswith(f"{metric}{{") and all(label in line for label in wanted):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {metric} {wanted} in:\n{text}")


def test_metrics_after_traffic():
    app = Flask(__name__)
    app.register_blueprint(make_blueprint())
    EventsMetrics(app)
    client = app.test_client()
    for _ in range(3):
        post_event(client, "echo", 1)
    post_event(client, "lookup", 1)
    post_event(client, "boom", 1)
    post_event(client, "never:registered", 1)
    client.post("/events", data=b"{")
    text = client.get("/metrics").get_data(as_text=True)
    total = "events_total"
    assert sample(text, total, name="echo", version="1", outcome="response", transport="http") == 3
    assert sample(text, total, name="lookup", outcome="notFound") == 1
    assert sample(text, total, name="boom", outcome="error") == 1
    assert sample(text, total, name="", outcome="eventNotFound") == 1
    assert sample(text, total, name="", outcome="badProtocol") == 1
    assert sample(text, "events_duration_seconds_count", name="echo") == 3
    assert "never:registered" not in text  # unknown names do not become labels


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def test_one_span_per_event(spans):
    provider, exporter = spans
    app = Flask(__name__)
    app.register_blueprint(make_blueprint())
    EventsTracing(app, tracer_provider=provider)
    client = app.test_client()
    post_event(client, "echo", 1, flow_id="F", id="I")
    post_event(client, "boom", 1)
    echo, boom = exporter.get_finished_spans()
    assert echo.name == "echo" and echo.kind == trace.SpanKind.SERVER
    assert echo.attributes["events.flow_id"] == "F" and echo.attributes["events.id"] == "I"
    assert echo.attributes["events.version"] == 1
    assert echo.attributes["events.outcome"] == "response"
    assert boom.attributes["events.outcome"] == "error"
    assert boom.status.status_code == trace.StatusCode.ERROR


@pytest.mark.e2e
def test_the_span_in_service_b_is_a_child_of_the_span_in_a(spans):
    """Two real servers: A's handler calls B with an EventsClient, which carries the
    trace context in ``metadata.trace``; B's span continues A's trace.
    """
    provider, exporter = spans
    service_b = Flask("b")
    events_b = EventsBlueprint("events", __name__)
    events_b.add("b:work", 1, lambda event: {"trace": event.metadata.get("trace")})
    service_b.register_blueprint(events_b)
    tracing_b = EventsTracing(service_b, tracer_provider=provider)

    service_a = Flask("a")
    events_a = EventsBlueprint("events", __name__)
    service_a.register_blueprint(events_a)
    tracing_a = EventsTracing(service_a, tracer_provider=provider)
    with serve_in_thread(service_b) as b_url, serve_in_thread(service_a) as a_url:

        @events_a.handler("a:work", 1)
        def work(event):
            with EventsClient(f"{b_url}/events", timeout=10) as client_to_b:
                return client_to_b.send("b:work", 1).payload  # the flowId goes along

        with EventsClient(f"{a_url}/events", timeout=20) as client:
            answer = client.send("a:work", 1, flow_id="the-flow", auth={"token": TOKEN})
    assert answer.is_success, answer
    b, a = exporter.get_finished_spans()  # B ends first, inside A
    assert (a.name, b.name) == ("a:work", "b:work")
    assert a.parent is None  # the caller outside had no trace: A starts one
    assert b.parent is not None and b.parent.span_id == a.context.span_id
    assert b.context.trace_id == a.context.trace_id
    traceparent = answer.payload["trace"]["traceparent"]  # what B received
    assert traceparent.split("-")[1:3] == [
        format(a.context.trace_id, "032x"),
        format(a.context.span_id, "016x"),
    ]
    assert b.attributes["events.flow_id"] == a.attributes["events.flow_id"] == "the-flow"
    assert a.attributes["events.transport"] == b.attributes["events.transport"] == "http"
    assert TOKEN not in str(a.attributes) + str(b.attributes)
    assert tracing_a._open == {} and tracing_b._open == {}  # every span was ended


def test_spans_end_for_events_that_carry_credentials(spans):
    """Subscribers get the same redacted event at start and finish, so spans close."""
    provider, exporter = spans
    app = Flask(__name__)
    app.register_blueprint(make_blueprint())
    tracing = EventsTracing(app, tracer_provider=provider)
    client = app.test_client()
    for name in ("echo", "boom", "lookup"):
        post_event(client, name, 1, auth={"token": TOKEN})
    assert [span.name for span in exporter.get_finished_spans()] == ["echo", "boom", "lookup"]
    for span in exporter.get_finished_spans():
        assert span.end_time is not None and TOKEN not in str(span.attributes)
    assert tracing._open == {}  # nothing left open (or leaking) in the tracer
    assert trace.get_current_span() is trace.INVALID_SPAN  # each context was detached
