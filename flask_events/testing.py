"""Helpers for testing apps that use Flask-Events.

- :func:`send_event`: send an event through an app's test client, get an ``Event``.
- :class:`SignalRecorder` / :func:`record_signals`: capture the four tracker signals
  for assertions (the job of the Go library's ``MockTracker``).
- pytest fixtures ``events_recorder`` and ``send_event``: load this module as a pytest
  plugin, with ``-p flask_events.testing`` in ``addopts`` or ``pytest_plugins =
  ["flask_events.testing"]`` in your top-level ``conftest.py`` (the ``send_event``
  fixture uses pytest-flask's ``client`` fixture).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Callable, ClassVar, Optional

import pytest
from blinker import NamedSignal
from flask.testing import FlaskClient

from .codec import dumps
from .event import Event, parse_event
from .signals import error_noticed, event_error_noticed, event_finished, event_started

__all__ = ["SignalRecorder", "record_signals", "send_event"]

JSONObject = dict[str, Any]


def send_event(
    client: FlaskClient,
    name: str,
    version: int,
    payload: Any = None,
    *,
    url: str = "/events",
    identity: Optional[JSONObject] = None,
    auth: Optional[JSONObject] = None,
    metadata: Optional[JSONObject] = None,
    id: Optional[str] = None,
    flow_id: Optional[str] = None,
) -> Event:
    """POST one event to ``url`` with a Flask test client; return the answer event.

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
    response = client.post(url, data=dumps(event), content_type="application/json")
    assert response.mimetype == "application/json", response.data[:200]
    return parse_event(response.data)


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


@pytest.fixture
def events_recorder() -> Iterator[SignalRecorder]:
    """A :class:`SignalRecorder` recording for the duration of the test."""
    with record_signals() as recorder:
        yield recorder


@pytest.fixture(name="send_event")
def send_event_fixture(client: FlaskClient) -> Callable[..., Event]:
    """:func:`send_event` bound to pytest-flask's ``client``:
    ``send_event("user:get", 1, {"id": 1})``.
    """

    def send(name: str, version: int, payload: Any = None, **fields: Any) -> Event:
        return send_event(client, name, version, payload, **fields)

    return send
