"""OpenTelemetry traces from the tracker signals.

Needs the ``opentelemetry`` extra:
``pip install 'Flask-Events-Protocol[opentelemetry]'``.

::

    from flask_events.contrib.tracing import EventsTracing

    EventsTracing(app)   # the global tracer provider, or tracer_provider=...

One span per event, named after the event, with the attributes ``events.flow_id``,
``events.id``, ``events.version``, ``events.transport`` and ``events.outcome``. The
trace context travels in ``metadata.trace`` (W3C ``traceparent``), as the JVM
implementation does: a request carrying one continues that trace, and
:class:`~flask_events.EventsClient` puts the current one on the events it sends, so a
span in service B is a child of the span in service A that called it.

A failing handler's exception is recorded on its span as subscribers get it: scrubbed
of the request's credentials (see :class:`~flask_events.errors.RedactedError`); no
span attribute holds ``auth``.
"""

from __future__ import annotations

import threading
from typing import Any, Optional

from flask import Flask

from ..errors import RedactedError
from ..extras import require
from ..signals import event_finished, event_started

__all__ = ["EventsTracing"]


class EventsTracing:
    """Traces every handled event of an app.

    :param app: the app (or call :meth:`init_app` later).
    :param tracer_provider: an OpenTelemetry ``TracerProvider``; the global one by
        default.
    :raises ~flask_events.MissingDependency: the OpenTelemetry API is not installed.
    """

    def __init__(self, app: Optional[Flask] = None, *, tracer_provider: Any = None) -> None:
        trace = require("opentelemetry.trace", "EventsTracing")
        self.tracer = trace.get_tracer("flask_events", tracer_provider=tracer_provider)
        self._open: dict[int, tuple[Any, Any]] = {}  # id(event) -> (span, context token)
        self._lock = threading.Lock()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Subscribe to ``app``'s signals."""
        event_started.connect(self._started, sender=app, weak=False)
        event_finished.connect(self._finished, sender=app, weak=False)

    def _started(self, sender: Any, event: Any, transport: str, **extra: Any) -> None:
        from opentelemetry import context, propagate, trace

        carrier = event.metadata.get("trace")
        parent = propagate.extract(carrier) if isinstance(carrier, dict) else None
        span = self.tracer.start_span(
            event.name,
            context=parent,
            kind=trace.SpanKind.SERVER,
            attributes={
                "events.flow_id": event.flow_id,
                "events.id": event.id,
                "events.version": event.version,
                "events.transport": transport,
            },
        )
        token = context.attach(trace.set_span_in_context(span))
        with self._lock:
            self._open[id(event)] = (span, token)

    def _finished(self, sender: Any, event: Any, response: Any, error: Any, **extra: Any) -> None:
        from opentelemetry import context, trace

        with self._lock:
            span, token = self._open.pop(id(event), (None, None))
        if span is None:
            return
        span.set_attribute("events.outcome", response.kind)
        if isinstance(error, RedactedError):  # the original's type and scrubbed traceback
            attributes = {
                "exception.type": error.type_name,
                "exception.stacktrace": error.traceback,
            }
            span.record_exception(error, attributes=attributes)
        elif error is not None:
            span.record_exception(error)
        if response.is_error:
            span.set_status(trace.Status(trace.StatusCode.ERROR, response.kind))
        span.end()
        context.detach(token)
