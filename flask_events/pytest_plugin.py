"""The pytest plugin of Flask-Events: the fixtures ``send_event`` and ``events_recorder``.

pytest loads it by itself in any project where Flask-Events is installed (the
``pytest11`` entry point ``flask_events``, as pytest-flask's own plugin is loaded);
``-p no:flask_events`` on the command line or in ``addopts`` disables it. The
``send_event`` fixture uses pytest-flask's ``client`` fixture (so the project's ``app``
fixture).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable, Optional

import pytest
from flask.testing import FlaskClient

if TYPE_CHECKING:
    from .event import Event
    from .testing import SignalRecorder

# flask_events.testing is imported by the fixtures, not here: pytest loads this plugin
# before any test runs, so an import error here would stop every pytest run of a
# project that installs us; and a conftest.py still naming the module in
# ``pytest_plugins`` (the old way) would make pytest warn that it cannot rewrite it

__all__ = ["events_recorder", "send_event_fixture"]


@pytest.fixture
def events_recorder() -> Iterator[SignalRecorder]:
    """A :class:`~flask_events.testing.SignalRecorder` recording for the duration of
    the test.
    """
    from . import testing

    with testing.record_signals() as recorder:
        yield recorder


@pytest.fixture(name="send_event")
def send_event_fixture(client: FlaskClient) -> Callable[..., Event]:
    """:func:`~flask_events.testing.post_event` bound to pytest-flask's ``client``:
    ``send_event("user:get", 1, {"id": 1})`` posts to the events endpoint of the app's
    events blueprint, its URL prefix included; ``blueprint="api.events"`` picks one
    when the app has several.
    """

    from . import testing

    def send(
        name: str,
        version: int,
        payload: Any = None,
        *,
        blueprint: Optional[str] = None,
        **fields: Any,
    ) -> Event:
        return testing.post_event(client, name, version, payload, blueprint=blueprint, **fields)

    return send
