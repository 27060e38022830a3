"""Batch events (docs/protocol.rst#batch): many events in one round trip, answered in input order.

A batch's payload is ``{"parallel": bool, "events": [envelope, ...]}``; its response
payload is the list of the sub-events' response events, one per sub-event, failures
included. With ``"parallel": true`` the sub-events really run at once: synchronous
handlers on the batch's own threads, at most ``batch_max_workers`` of them (each
sub-event in a copy of the caller's context, so Flask's request context is there),
``async def`` handlers concurrently on one event loop. The cap is per batch: one
client's big batch never makes another's wait. Every sub-event, parallel or not, runs
isolated (see :meth:`~flask_events.dispatch.Dispatcher.run`): in an app context of its
own. A batch has a time budget (``batch_timeout``): sub-events not started when it runs out
are answered ``BATCH_TIMEOUT`` in their slots without running. A sub-event whose
response cannot be encoded as JSON (even by the app's JSON provider) is answered
``UNSERIALIZABLE_RESPONSE`` in its slot; the other slots keep their answers. A
sub-event's exception that the settings propagate is raised out of the batch: at once
in a sequential batch (the later sub-events do not run), once every sub-event is done
in a parallel one. Transport-free: no Flask import.
"""

from __future__ import annotations

import contextvars
import logging
import time
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, NamedTuple, Optional, Union

import marshmallow as ma

from . import coroutines
from .codec import dumps
from .context import current_handling
from .dispatch import Dispatcher, Settings
from .errors import BadProtocol, BadRequest, BatchTimeout, UnserializableResponse
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

__all__ = ["BatchHandler", "BatchPayload"]

logger = logging.getLogger("flask_events")


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


def _nested_batch() -> BadRequest:
    return BadRequest("A batch event cannot contain a batch event", code="NESTED_BATCH")


#: A prepared slot: its final answer already, or what to run.
Slot = Union[Event, tuple[HandlerSpec, Event]]


class Raised(NamedTuple):
    """A parallel sub-event's exception, propagated (see ``propagate_exceptions``)."""

    error: Exception


class Budget(NamedTuple):
    """A batch's time budget: ``timeout`` seconds from its start; ``None``: no limit."""

    timeout: Optional[float]
    #: ``time.monotonic()`` when it runs out (unused without a timeout).
    deadline: float

    @classmethod
    def starting_now(cls, timeout: Optional[float]) -> Budget:
        """The budget of a batch starting now."""
        return cls(timeout, time.monotonic() + (timeout or 0.0))

    def spent(self) -> bool:
        """Whether it has run out (a sub-event starting now would be too late)."""
        return self.timeout is not None and time.monotonic() >= self.deadline


class BatchHandler:
    """The handler of a batch event; register it with ``EventsBlueprint.add_batch``.

    :param dispatcher: the :class:`~flask_events.dispatch.Dispatcher` that runs the
        sub-events (and whose ``settings`` give the limits).
    """

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.__qualname__ = self.__name__ = "batch"
        self.__module__ = __name__

    def __call__(self, request: Event, data: dict[str, Any]) -> list[Event]:
        handling = current_handling()
        if handling is None:  # called directly (a unit test): no sender, default settings
            sender, transport, settings = None, "direct", Settings()
        else:
            sender, transport = handling.sender, handling.transport
            settings = self.dispatcher.settings(sender)
        budget = Budget.starting_now(settings.batch_timeout)
        raw_events = data["events"]
        most = settings.batch_max_events
        if most is not None and len(raw_events) > most:
            raise BadRequest(
                f"A batch holds at most {most} events",
                code="TOO_MANY_EVENTS",
                parameters={"max": most, "count": len(raw_events)},
            )
        slots = [self._prepare(raw, request, sender, transport) for raw in raw_events]
        if data["parallel"]:
            workers = settings.batch_max_workers
            responses = self._run_parallel(slots, workers, budget, sender, transport)
        else:
            responses = [self._run(slot, budget, sender, transport) for slot in slots]
        responses = [without_auth(response) for response in responses]
        default = settings.json_default
        try:  # the common case: every answer encodes (checked once, for the whole list)
            dumps(responses, default)
        except TypeError:
            responses = self._encodable(responses, slots, request, sender, transport, default)
        return responses

    def _encodable(
        self,
        responses: list[Event],
        slots: list[Slot],
        batch: Event,
        sender: Any,
        transport: str,
        default: Optional[Callable[[Any], Any]],
    ) -> list[Event]:
        """``responses`` with each one that cannot be encoded as JSON (even with the
        app's ``default``) replaced by its sub-event's ``UNSERIALIZABLE_RESPONSE``
        error (logged, and noticed like a failing sub-event); answers built here
        (``slots`` holding an event) are kept.
        """
        encodable = []
        for response, slot in zip(responses, slots):
            if not isinstance(slot, Event):
                try:
                    dumps(response, default)
                except TypeError as error:
                    response = self._unserializable(slot[1], error, batch, sender, transport)
            encodable.append(response)
        return encodable

    @staticmethod
    def _unserializable(
        sub: Event, error: TypeError, batch: Event, sender: Any, transport: str
    ) -> Event:
        """The answer of a sub-event whose response could not be encoded."""
        # %r and no traceback: one line, whatever the values; only the error's class
        # (its message quotes what the payload's objects raised)
        logger.error(
            "response to event %r v%r (id=%r, flowId=%r) in batch %r (id=%r) is not"
            " serializable: %s",
            sub.name,
            sub.version,
            sub.id,
            sub.flow_id,
            batch.name,
            batch.id,
            type(error).__name__,
        )
        send(event_error_noticed, sender, event=sub, error=detached(error), transport=transport)
        return error_response_event(sub, UnserializableResponse())

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
            return self.dispatcher.not_found(sub, sender, transport)
        if spec.is_batch:
            return self.dispatcher.refused(sub, _nested_batch(), sender, transport)
        return spec, sub

    def _run(self, slot: Slot, budget: Budget, sender: Any, transport: str) -> Event:
        if isinstance(slot, Event):
            return slot
        spec, sub = slot
        if budget.spent():
            return self._timed_out(sub, budget, sender, transport)
        response, error = self.dispatcher.run(spec, sub, sender, transport, isolated=True)
        return self._noticed(sub, response, error, sender, transport)

    async def _run_async(
        self, slot: tuple[HandlerSpec, Event], budget: Budget, sender: Any, transport: str
    ) -> Union[Event, Raised]:
        spec, sub = slot
        if budget.spent():  # checked when its turn comes, not when it was queued
            return self._timed_out(sub, budget, sender, transport)
        try:
            response, error = await self.dispatcher.run_async(
                spec, sub, sender, transport, isolated=True
            )
        except Exception as exc:  # propagated: raised once every sub-event is done
            return Raised(exc)
        return self._noticed(sub, response, error, sender, transport)

    def _timed_out(self, sub: Event, budget: Budget, sender: Any, transport: str) -> Event:
        """The answer of a sub-event whose turn came after the budget ran out."""
        assert budget.timeout is not None
        return self.dispatcher.refused(sub, BatchTimeout(budget.timeout), sender, transport)

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
            )
        return response

    def _run_parallel(
        self,
        slots: list[Slot],
        max_workers: Optional[int],
        budget: Budget,
        sender: Any,
        transport: str,
    ) -> list[Event]:
        """Run the sub-events at once: the synchronous ones on at most ``max_workers``
        threads of this batch's own (``None``: one per sub-event; each thread takes
        the next sub-event when it is done with one), the ``async`` ones meanwhile on
        this thread's event loop. The first sub-event (in input order) whose exception
        is propagated has it raised, once they are all done.
        """
        results: list[Any] = list(slots)
        queued: deque[int] = deque()
        waiting: list[tuple[int, tuple[HandlerSpec, Event]]] = []
        for index, slot in enumerate(slots):
            if isinstance(slot, Event):
                continue  # answered already
            if slot[0].is_async:
                waiting.append((index, slot))
            else:
                queued.append(index)
        context = contextvars.copy_context()  # Flask's contexts, for every sub-event

        def take_turns() -> None:
            while True:
                try:
                    index = queued.popleft()
                except IndexError:
                    return
                run = context.copy().run  # each sub-event gets its own copy
                try:
                    results[index] = run(self._run, slots[index], budget, sender, transport)
                except Exception as exc:  # propagated: raised once every one is done
                    results[index] = Raised(exc)

        limit = len(slots) if max_workers is None else max(1, max_workers)
        threads = min(limit, len(queued))
        with ThreadPoolExecutor(max(1, threads), "flask-events-batch") as pool:
            turns = [pool.submit(take_turns) for _ in range(threads)]
            if waiting:
                runs = [self._run_async(slot, budget, sender, transport) for _, slot in waiting]
                done = coroutines.run(coroutines.gather_bounded(runs, limit))
                for (index, _), response in zip(waiting, done):
                    results[index] = response
            for turn in turns:
                turn.result()
        for result in results:
            if isinstance(result, Raised):
                raise result.error
        return results


def __getattr__(name: str) -> Any:
    """``EnvelopeSchema``, which moved to :mod:`flask_events.docs` (its only user),
    still importable from here with a ``DeprecationWarning``.
    """
    if name == "EnvelopeSchema":
        warnings.warn(
            "flask_events.batch.EnvelopeSchema is deprecated: import it from flask_events.docs",
            DeprecationWarning,
            stacklevel=2,
        )
        from .docs import EnvelopeSchema  # not at the top: docs is not part of the core

        return EnvelopeSchema
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
