"""Batch events (PROTOCOL §3): many events in one round trip, answered in input order.

A batch's payload is ``{"parallel": bool, "events": [envelope, ...]}``; its response
payload is the list of the sub-events' response events, one per sub-event, failures
included. With ``"parallel": true`` the sub-events really run at once: synchronous
handlers on a bounded thread pool (each in a copy of the caller's context, so Flask's
app and request contexts are there), ``async def`` handlers concurrently on one event
loop. Transport-free: no Flask import.
"""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional, Union

import marshmallow as ma

from . import coroutines
from .context import current_handling
from .dispatch import Dispatcher, Settings
from .errors import BadProtocol, BadRequest
from .event import (
    Event,
    bad_protocol_event,
    error_response_event,
    not_an_object,
    parse_event,
    without_auth,
)
from .redaction import detached
from .registry import HandlerSpec
from .signals import error_noticed, event_error_noticed, send

__all__ = ["BatchHandler", "BatchPayload", "EnvelopeSchema"]


class BatchPayload(ma.Schema):
    """The payload of a batch event."""

    parallel = ma.fields.Boolean(
        load_default=False, metadata={"description": "run the sub-events at once"}
    )
    events = ma.fields.List(
        ma.fields.Raw(),
        required=True,
        metadata={"description": "the sub-events: full event envelopes"},
    )


class EnvelopeSchema(ma.Schema):
    """An event envelope (PROTOCOL §1), for documentation."""

    name = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1))
    id = ma.fields.String(required=True)
    flowId = ma.fields.String(required=True)
    payload = ma.fields.Raw(required=True, allow_none=True)
    identity = ma.fields.Dict()
    auth = ma.fields.Dict()
    metadata = ma.fields.Dict()


def _nested_batch() -> BadRequest:
    return BadRequest("A batch event cannot contain a batch event", code="NESTED_BATCH")


#: A prepared slot: its final answer already, or what to run.
Slot = Union[Event, tuple[HandlerSpec, Event]]


class BatchHandler:
    """The handler of a batch event; register it with ``EventsBlueprint.add_batch``.

    :param dispatcher: the :class:`~flask_events.Dispatcher` that runs the sub-events
        (and whose ``settings`` give the limits).
    """

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._pools: dict[int, ThreadPoolExecutor] = {}
        self._lock = threading.Lock()
        self.__qualname__ = self.__name__ = "batch"
        self.__module__ = __name__

    def __call__(self, request: Event, data: dict[str, Any]) -> list[Event]:
        handling = current_handling()
        if handling is None:  # called directly (a unit test): no sender, default settings
            sender, transport, settings = None, "direct", Settings()
        else:
            sender, transport = handling.sender, handling.transport
            settings = self.dispatcher.settings(sender)
        raw_events = data["events"]
        if len(raw_events) > settings.batch_max_events:
            raise BadRequest(
                f"A batch holds at most {settings.batch_max_events} events",
                code="TOO_MANY_EVENTS",
                parameters={"max": settings.batch_max_events, "count": len(raw_events)},
            )
        slots = [self._prepare(raw, request, sender, transport) for raw in raw_events]
        if data["parallel"]:
            responses = self._run_parallel(slots, settings.batch_max_workers, sender, transport)
        else:
            responses = [self._run(slot, sender, transport) for slot in slots]
        return [without_auth(response) for response in responses]

    def _prepare(self, raw: Any, batch: Event, sender: Any, transport: str) -> Slot:
        """A sub-envelope's slot. Only a JSON object is an envelope: anything else (a
        string holding an envelope's JSON text included) is ``badProtocol``, unread.
        """
        try:
            if not isinstance(raw, dict):
                raise not_an_object(raw)
            sub = parse_event(raw)
        except BadProtocol as error:
            error.flow_id = error.flow_id or batch.flow_id  # it belongs to the batch's flow
            send(error_noticed, sender, error=detached(error), transport=transport)
            return bad_protocol_event(error)
        spec = self.dispatcher.registry.get(sub.name, sub.version)
        if spec is None:
            return self.dispatcher._not_found(sub, sender, transport)
        if spec.is_batch:
            nested = _nested_batch()
            send(
                event_error_noticed,
                sender,
                event=sub,
                error=nested,
                transport=transport,
                credentials=sub.auth,
            )
            return error_response_event(sub, nested)
        return spec, sub

    def _run(self, slot: Slot, sender: Any, transport: str) -> Event:
        if isinstance(slot, Event):
            return slot
        spec, sub = slot
        response, error = self.dispatcher._execute(spec, sub, sender, transport)
        return self._noticed(sub, response, error, sender, transport)

    async def _run_async(
        self, slot: tuple[HandlerSpec, Event], sender: Any, transport: str
    ) -> Event:
        spec, sub = slot
        response, error = await self.dispatcher._execute_async(spec, sub, sender, transport)
        return self._noticed(sub, response, error, sender, transport)

    @staticmethod
    def _noticed(
        sub: Event, response: Event, error: Optional[Exception], sender: Any, transport: str
    ) -> Event:
        """A failing sub-event fires ``event_error_noticed`` (as in the Go library)."""
        if error is not None:
            send(
                event_error_noticed,
                sender,
                event=sub,
                error=error,
                transport=transport,
                credentials=sub.auth,
            )
        return response

    def _run_parallel(
        self, slots: list[Slot], max_workers: int, sender: Any, transport: str
    ) -> list[Event]:
        results: list[Any] = list(slots)
        pool = self._pool(max_workers)
        futures = {}
        waiting = []
        for index, slot in enumerate(slots):
            if isinstance(slot, Event):
                continue
            if slot[0].is_async:
                waiting.append((index, slot))
            else:  # each task needs its own copy of the context
                run = contextvars.copy_context().run
                futures[index] = pool.submit(run, self._run, slot, sender, transport)
        if waiting:
            awaitables = [self._run_async(slot, sender, transport) for _, slot in waiting]
            done = coroutines.run(coroutines.gather_bounded(awaitables, max_workers))
            for (index, _), response in zip(waiting, done):
                results[index] = response
        for index, future in futures.items():
            results[index] = future.result()
        return results

    def _pool(self, max_workers: int) -> ThreadPoolExecutor:
        """A thread pool of ``max_workers`` threads, created on first use."""
        with self._lock:
            pool = self._pools.get(max_workers)
            if pool is None:
                pool = self._pools[max_workers] = ThreadPoolExecutor(
                    max_workers, thread_name_prefix="flask-events-batch"
                )
            return pool
