"""Prometheus metrics from the tracker signals.

Needs the ``prometheus`` extra: ``pip install 'Flask-Events-Protocol[prometheus]'``.

::

    from flask_events.contrib.metrics import EventsMetrics

    metrics = EventsMetrics(app)          # and GET /metrics

``events_total{name, version, outcome, transport}`` counts answers by outcome (the
text after the last ``:``: ``response``, ``redirect``, ``notFound``, ``error``...;
``eventNotFound`` and ``badProtocol`` with empty ``name``/``version``, so that
unknown names cannot grow the label set); ``events_duration_seconds{name, version,
transport}`` is the handlers' duration histogram; ``events_push_failures_total{namespace}``
counts pushes that raised :class:`~flask_events.PushFailed`.
"""

from __future__ import annotations

from typing import Any, Optional

from flask import Flask, Response

from ..errors import BadProtocol, EventNotFound, PushFailed
from ..extras import require
from ..signals import error_noticed, event_error_noticed, event_finished

__all__ = ["EventsMetrics"]


class EventsMetrics:
    """Counts events and times handlers, per app.

    :param app: the app (or call :meth:`init_app` later).
    :param registry: a ``prometheus_client.CollectorRegistry``; a new one by default
        (pass ``prometheus_client.REGISTRY`` to share the global one).
    :param metrics_url: where to serve the metrics, or ``None`` for no route.
    :param prefix: the metrics' name prefix.
    :raises ~flask_events.MissingDependency: prometheus-client is not installed.
    """

    def __init__(
        self,
        app: Optional[Flask] = None,
        *,
        registry: Any = None,
        metrics_url: Optional[str] = "/metrics",
        prefix: str = "events",
    ) -> None:
        prometheus = require("prometheus_client", "EventsMetrics")
        self.registry = registry if registry is not None else prometheus.CollectorRegistry()
        self.metrics_url = metrics_url
        self.events = prometheus.Counter(
            f"{prefix}_total",
            "Events answered, by outcome",
            ["name", "version", "outcome", "transport"],
            registry=self.registry,
        )
        self.duration = prometheus.Histogram(
            f"{prefix}_duration_seconds",
            "Time spent in event handlers",
            ["name", "version", "transport"],
            registry=self.registry,
        )
        self.push_failures = prometheus.Counter(
            f"{prefix}_push_failures",
            "Pushes the message queue did not take",
            ["namespace"],
            registry=self.registry,
        )
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Subscribe to ``app``'s signals, and serve ``metrics_url``."""
        event_finished.connect(self._finished, sender=app, weak=False)
        event_error_noticed.connect(self._not_found, sender=app, weak=False)
        error_noticed.connect(self._bad_protocol, sender=app, weak=False)
        if self.metrics_url is not None:
            app.add_url_rule(self.metrics_url, "events_metrics", self._view)
        app.extensions["events_metrics"] = self

    def _finished(
        self, sender: Any, event: Any, response: Any, duration: float, transport: str, **extra: Any
    ) -> None:
        version = str(event.version)
        self.events.labels(event.name, version, response.kind, transport).inc()
        self.duration.labels(event.name, version, transport).observe(duration)

    def _not_found(self, sender: Any, error: Any, transport: str, **extra: Any) -> None:
        if isinstance(error, EventNotFound):  # the others were counted when they finished
            self.events.labels("", "", error.type, transport).inc()

    def _bad_protocol(self, sender: Any, error: Any, transport: str, **extra: Any) -> None:
        if isinstance(error, BadProtocol):  # input that was not an event
            self.events.labels("", "", error.type, transport).inc()
        elif isinstance(error, PushFailed):  # not an answer: an outgoing push
            self.push_failures.labels(error.parameters.get("namespace", "")).inc()

    def _view(self) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(self.registry), content_type=CONTENT_TYPE_LATEST)
