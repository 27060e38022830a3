"""The core's slower paths, in-process: a handler with an input schema, a plain
handler while an ``event_finished`` receiver listens (the fast path is bench (a)),
and what an event's own app context costs (batch sub-events, WebSocket events).

Run from a checkout (``cd DIR && python /path/to/bench/pipeline_paths.py`` measures
the code in DIR): prints the best of 5 loops of 50,000 ``Dispatcher.handle`` calls.
"""

from __future__ import annotations

import inspect
import time

import marshmallow as ma

from flask_events.dispatch import Dispatcher
from flask_events.registry import Registry
from flask_events.signals import event_finished


class Payload(ma.Schema):
    a = ma.fields.Int()


def rate(dispatcher: Dispatcher, envelope: bytes, count: int = 50_000) -> float:
    start = time.perf_counter()
    for _ in range(count):
        dispatcher.handle(envelope, sender=None)
    return count / (time.perf_counter() - start)


def main() -> None:
    registry = Registry()
    registry.add("schema", 1, lambda event, data: data, input=Payload)
    registry.add("plain", 1, lambda event: event.payload)
    dispatcher = Dispatcher(registry)
    envelope = b'{"name":"%s","version":1,"id":"i","flowId":"f","payload":{"a":1}}'
    best = max(rate(dispatcher, envelope % b"schema") for _ in range(5))
    print(f"input schema: {best:,.0f} events/s")

    def receiver(sender: object, **extra: object) -> None:
        pass

    event_finished.connect(receiver)
    best = max(rate(dispatcher, envelope % b"plain") for _ in range(5))
    print(f"plain, with an event_finished receiver: {best:,.0f} events/s")
    event_finished.disconnect(receiver)
    if "isolated" in inspect.signature(Dispatcher.handle).parameters:  # since issue 11
        isolation(envelope % b"plain")


def isolation(envelope: bytes, count: int = 50_000) -> None:
    """What a WebSocket event pays for its own app context: ``handle`` through a
    blueprint, inside a request context as on a connection, isolated or not.
    """
    from flask import Flask

    from flask_events import EventsBlueprint

    events = EventsBlueprint("events", __name__)
    events.add("plain", 1, lambda event: event.payload)
    app = Flask(__name__)
    app.register_blueprint(events)
    with app.test_request_context("/events/ws"):
        for isolated in (False, True):
            best = 0.0
            for _ in range(5):
                start = time.perf_counter()
                for _ in range(count):
                    events.dispatcher.handle(envelope, sender=app, isolated=isolated)
                best = max(best, count / (time.perf_counter() - start))
            print(f"through a blueprint, isolated={isolated}: {1e6 / best:.2f} µs per event")


if __name__ == "__main__":
    main()
