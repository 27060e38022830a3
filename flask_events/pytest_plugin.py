"""The pytest plugin of Flask-Events: the fixtures ``send_event`` and ``events_recorder``.

pytest loads it by itself in any project where Flask-Events is installed (the
``pytest11`` entry point ``flask_events``, as pytest-flask's own plugin is loaded);
``-p no:flask_events`` on the command line or in ``addopts`` disables it. The
``send_event`` fixture posts through the ``client`` fixture (pytest-flask's, or the
project's own), else through a test client of the project's ``app`` fixture.
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


def _test_client(request: pytest.FixtureRequest) -> FlaskClient:
    """The ``client`` fixture when there is one, else a test client of ``app``."""
    for name in ("client", "app"):
        try:
            value = request.getfixturevalue(name)
        except pytest.FixtureLookupError:
            continue
        client: FlaskClient = value if name == "client" else value.test_client()
        return client
    pytest.fail(
        "the send_event fixture needs an 'app' fixture returning the Flask app under "
        "test (as pytest-flask does), or a 'client' fixture",
        pytrace=False,
    )


@pytest.fixture(name="send_event")
def send_event_fixture(request: pytest.FixtureRequest) -> Callable[..., Event]:
    """:func:`~flask_events.testing.post_event` bound to the ``client`` fixture
    (pytest-flask's), or to a test client of the ``app`` fixture:
    ``send_event("user:get", 1, {"id": 1})`` posts to the events endpoint of the app's
    events blueprint, its URL prefix included; ``blueprint="api.events"`` picks one
    when the app has several.
    """

    from . import testing

    client = _test_client(request)

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
