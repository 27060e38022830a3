"""Helpers for testing apps that use Flask-Events; importing this module needs no pytest.

- :func:`post_event`: send an event through an app's test client, get an ``Event``; it
  finds the app's events endpoint itself (:func:`events_url`).
- :class:`SignalRecorder` / :func:`record_signals`: capture the four tracker signals
  for assertions (the job of the Go library's ``MockTracker``).

The pytest fixtures ``send_event`` and ``events_recorder`` live in
:mod:`flask_events.pytest_plugin`, a plugin pytest loads by itself once Flask-Events is
installed (the ``pytest11`` entry point ``flask_events``; ``-p no:flask_events``
disables it).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any, Callable, ClassVar, Optional

from blinker import NamedSignal
from flask import Flask
from flask.testing import FlaskClient

from .codec import dumps
from .errors import BadProtocol, EventsError
from .event import Event, JSONObject, parse_event
from .signals import error_noticed, event_error_noticed, event_finished, event_started
from .state import registrations

__all__ = ["SignalRecorder", "events_url", "post_event", "record_signals"]


def events_url(app: Flask, blueprint: Optional[str] = None) -> str:
    """The URL of the HTTP events endpoint of an events blueprint registered on ``app``
    (its URL prefix included), found in :func:`flask_events.state.registrations`.

    :param blueprint: the full dotted name of the registration (``"api.events"`` for a
        nested one); needed only when the app has more than one.
    :raises EventsError: no events blueprint on the app, ``blueprint`` names none of
        them, or several and ``blueprint`` is not given (the message names them).
    """
    states = registrations(app)
    names = ", ".join(sorted(states)) or "none"
    if blueprint is None:
        if len(states) != 1:
            raise EventsError(
                f"the app has {len(states)} events blueprints ({names}): "
                "say which with blueprint=..."
            )
        (state,) = states.values()
    elif blueprint in states:
        state = states[blueprint]
    else:
        raise EventsError(f"no events blueprint {blueprint!r} on the app (it has: {names})")
    return state.urls[f"{state.name}.events"]


def post_event(
    client: FlaskClient,
    name: str,
    version: int,
    payload: Any = None,
    *,
    url: Optional[str] = None,
    blueprint: Optional[str] = None,
    identity: Optional[JSONObject] = None,
    auth: Optional[JSONObject] = None,
    metadata: Optional[JSONObject] = None,
    id: Optional[str] = None,
    flow_id: Optional[str] = None,
) -> Event:
    """POST one event with a Flask test client; return the answer event.

    :param url: where to POST it; by default the events endpoint of the app's events
        blueprint (:func:`events_url`, which ``blueprint`` is passed to).
    :raises EventsError: as :func:`events_url`, when ``url`` is not given.
    :raises AssertionError: if the answer is not HTTP 200 with a valid event (a 413 or
        a 500 still carry one, and are returned).
    """
    event = Event.new(
        name,
        version,
        payload,
        id=id,
        flow_id=flow_id,
        identity=identity,
        auth=auth,
        metadata=metadata,
    )
    if url is None:
        url = events_url(client.application, blueprint)
    response = client.post(url, data=dumps(event), content_type="application/json")
    assert response.mimetype == "application/json", response.data[:200]
    try:
        return parse_event(response.data)
    except BadProtocol as error:
        reason = error.parameters.get("message", error.message)
        raise AssertionError(
            f"HTTP {response.status_code} from {url}, not an event ({reason}): "
            f"{response.data[:200]!r}"
        ) from None


class SignalRecorder:
    """Records every send of the four tracker signals, with its keyword arguments.

    ``calls["started" | "finished" | "error_noticed" | "event_error_noticed"]`` are
    lists of dicts (``sender`` included); :meth:`count` gives their lengths, as the Go
    ``MockTracker``'s counters did.
    """

    SIGNALS: ClassVar[dict[str, NamedSignal]] = {
        "started": event_started,
        "finished": event_finished,
        "error_noticed": error_noticed,
        "event_error_noticed": event_error_noticed,
    }

    def __init__(self) -> None:
        self.calls: dict[str, list[JSONObject]] = {key: [] for key in self.SIGNALS}

    def count(self, key: str) -> int:
        """How many times a signal was sent: ``count("started")``."""
        return len(self.calls[key])

    def clear(self) -> None:
        """Forget what was recorded."""
        for calls in self.calls.values():
            calls.clear()

    def receiver(self, key: str) -> Callable[..., None]:
        def receive(sender: Any, **kwargs: Any) -> None:
            self.calls[key].append({"sender": sender, **kwargs})

        return receive


@contextlib.contextmanager
def record_signals(sender: Any = None) -> Iterator[SignalRecorder]:
    """Record the tracker signals while the block runs (from ``sender`` only, if given)."""
    recorder = SignalRecorder()
    receivers = {key: recorder.receiver(key) for key in recorder.SIGNALS}
    for key, signal in recorder.SIGNALS.items():
        if sender is None:
            signal.connect(receivers[key], weak=False)
        else:
            signal.connect(receivers[key], sender=sender, weak=False)
    try:
        yield recorder
    finally:
        for key, signal in recorder.SIGNALS.items():
            signal.disconnect(receivers[key])


def __getattr__(name: str) -> Any:
    """The old names, kept importable: ``send_event`` (the function, now
    :func:`post_event`) and the fixtures ``events_recorder`` / ``send_event_fixture``
    (now in :mod:`flask_events.pytest_plugin`); each warns ``DeprecationWarning``.
    """
    if name == "send_event":
        new, found = "flask_events.testing.post_event", post_event
    elif name in ("events_recorder", "send_event_fixture"):
        from . import pytest_plugin

        new, found = f"flask_events.pytest_plugin.{name}", getattr(pytest_plugin, name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"flask_events.testing.{name} is deprecated: use {new} (the pytest fixtures "
        "come with the flask_events plugin, without an import)",
        DeprecationWarning,
        stacklevel=2,
    )
    return found
