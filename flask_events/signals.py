"""Tracker hooks (docs/protocol.rst#tracker-signals) as blinker signals.

Each signal is sent with the Flask application as sender and keyword arguments only;
receivers should accept ``**extra`` so that arguments added later do not break them::

    from flask_events.signals import event_finished

    @event_finished.connect
    def count(app, event, response, error, duration, **extra):
        metrics.observe(event.name, response.kind, duration)

Every signal carries ``transport``, the way the event came: ``"http"`` (the HTTP
endpoint), ``"websocket"`` or ``"socketio"``; the sub-events of a batch carry their
batch's, or ``"direct"`` when a :class:`~flask_events.batch.BatchHandler` is called
outside any transport (a unit test). A receiver that raises is logged
on the ``flask_events`` logger and never changes the response; the other receivers
still run.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

from blinker import NamedSignal, Namespace

from .context import _handling
from .errors import RedactedError
from .event import Event
from .redaction import REDACTED, redacted, redacted_response, scrubbed_error

__all__ = [
    "error_noticed",
    "event_error_noticed",
    "event_finished",
    "event_started",
    "send",
]

logger = logging.getLogger("flask_events")

_signals = Namespace()

event_started = _signals.signal(
    "event-started",
    doc="""A handler was found for ``event``, and is about to run (Go ``Start``).

    :param event: the request :class:`~flask_events.Event`.
    :param transport: the transport it arrived on.
    """,
)

event_finished = _signals.signal(
    "event-finished",
    doc="""The handler returned or raised (Go ``End``).

    :param event: the request event.
    :param response: the response event it produced (an error event if it raised).
    :param error: the exception it raised, or ``None``. When the request's ``auth``
        is not empty, a scrubbed stand-in sharing nothing with it: a copy of an
        :class:`~flask_events.EventError`, or else a
        :class:`~flask_events.errors.RedactedError`.
    :param duration: seconds spent in the handler (a float).
    :param transport: the transport.
    """,
)

error_noticed = _signals.signal(
    "error-noticed",
    doc="""The input could not be read as an event: bad JSON, bad envelope, or a body
    over the size limit (Go ``NoticeError``); or a push through a Redis message queue
    failed (the sender is then ``None`` outside an app context).

    :param error: the :class:`~flask_events.BadProtocol` error (without a traceback),
        or, for a push, the :class:`~flask_events.PushFailed` about to be raised.
    :param transport: the transport.
    """,
)

event_error_noticed = _signals.signal(
    "event-error-noticed",
    doc="""An event was read but failed outside its handler: no handler found, or the
    response could not be serialized (Go ``NoticeEventError``).

    :param event: the request event.
    :param error: the exception describing the failure (scrubbed as for
        ``event_finished`` when the request's ``auth`` is not empty).
    :param transport: the transport.
    """,
)


def send(
    signal: NamedSignal,
    sender: Any,
    *,
    credentials: Optional[dict[str, Any]] = None,
    principal: Any = None,
    **kwargs: Any,
) -> None:
    """Send ``signal``, isolating receivers from each other and from the caller.

    Does nothing (and builds nothing) when no receiver is connected. ``auth`` values
    of the events passed are replaced by ``"[redacted]"``, and events inside a
    response's payload have ``auth`` ``{}``. A receiver that raises is
    logged with its traceback and the others still run; receivers run in the
    handling thread, so a slow one delays the answer by its own time, no more.
    While they run, :data:`~flask_events.current_event` is the redacted event they
    get (the ``event`` argument itself), and :func:`~flask_events.current_handling`
    holds it with the sender, the transport and ``principal``; without an ``event``
    argument, ``current_handling()`` is ``None``. So a batch sub-event's
    subscribers never see the raw batch request, and a log line written through
    :class:`~flask_events.EventLogFilter` names the event.

    :param credentials: the ``auth`` of the request the signal is about (not passed
        on; by default the ``auth`` of the ``event`` passed): when it is not empty,
        the ``error`` passed is replaced by a scrubbed stand-in (see
        :func:`~flask_events.redaction.scrubbed_error`).
    :param principal: what the authenticator returned for the event (not passed
        on), for ``current_handling().principal``.
    """
    if not signal.receivers:
        return
    event = kwargs.get("event")
    if credentials is None and isinstance(event, Event):
        credentials = event.auth
    if event is not None:  # credentials never reach a subscriber
        kwargs["event"] = redacted(event)
    if kwargs.get("response") is not None:
        kwargs["response"] = redacted_response(kwargs["response"])
    error = kwargs.get("error")
    if error is not None and credentials:
        try:
            kwargs["error"] = scrubbed_error(error, credentials)
        except Exception as bug:  # must neither hand over the original nor break the event
            # no traceback: its frames and message may hold what was being scrubbed
            logger.error("could not scrub an error for %r: %s", signal.name, type(bug).__name__)
            kwargs["error"] = RedactedError(type(error), REDACTED, REDACTED)
    # The context names the event redacted, as receivers get it: never the request
    # being handled (in a batch's sub-event, the batch request, raw).
    shown = kwargs.get("event")
    handling = None if shown is None else (shown, sender, kwargs.get("transport"), principal)
    token = _handling.set(handling)
    try:
        for receiver in signal.receivers_for(sender):
            try:
                receiver(sender, **kwargs)
            except Exception:
                logger.exception("receiver %r of signal %r raised; ignored", receiver, signal.name)
    finally:
        _handling.reset(token)
