"""Variants of issue 12's rules that the other tests leave out."""

from __future__ import annotations

import pytest
from flask import Flask, abort

from flask_events import EventsBlueprint, EventsClient
from flask_events.client_errors import ConnectionFailed
from flask_events.signals import event_started

from .browser import doc_page_of, try_it
from .servers import free_port


def test_many_retries_with_a_float_backoff_of_zero_raise_the_typed_failure():
    url = f"http://127.0.0.1:{free_port()}/events"  # nothing listens there
    with EventsClient(url, retries=1100, backoff=0.0, timeout=None) as client:
        with pytest.raises(ConnectionFailed) as raised:
            client.send("echo", 1)
    assert raised.value.attempts == 1101


@pytest.mark.e2e
def test_try_it_sends_large_integers_of_the_payload_as_typed():
    app = Flask(__name__)
    events = EventsBlueprint("events", __name__)
    events.add("echo", 1, lambda event: event.payload)
    app.register_blueprint(events)
    received: list[bytes] = []

    def record(sender, event, **extra):
        received.append(event.payload)

    event_started.connect(record, sender=app)
    typed = (
        '{"name": "echo", "version": 1, "id": "a", "flowId": "b",'
        ' "payload": {"accountId": 9007199254740993, "cents": 12345678901234567891},'
        ' "identity": {}, "auth": {}, "metadata": {}}'
    )
    try:
        with doc_page_of(app) as page:
            try_it(page, "echo/v1", typed)
    finally:
        event_started.disconnect(record, sender=app)
    assert received == [{"accountId": 9007199254740993, "cents": 12345678901234567891}]


def test_cli_send_in_process_to_a_blueprint_that_refuses_exits_2_naming_the_status():
    app = Flask(__name__)
    events = EventsBlueprint("events", __name__)
    events.add("echo", 1, lambda event: event.payload)

    @events.before_request
    def refuse():
        abort(403)

    app.register_blueprint(events)
    result = app.test_cli_runner().invoke(
        args=["events", "send", "echo", "1", "--auth", '{"token": "sup3rsecret"}']
    )
    assert result.exit_code == 2, result.exception
    assert "HTTP 403" in result.output and "sup3rsecret" not in result.output


def test_events_services_entry_given_as_a_bare_url_is_a_service_config_error():
    from flask_events import ServiceConfigError, events_client

    app = Flask(__name__)
    app.config["EVENTS_SERVICES"] = {"rates": "http://127.0.0.1:1/events"}
    with pytest.raises(ServiceConfigError, match=r"EVENTS_SERVICES\['rates'\].*not str"):
        events_client("rates", app)


@pytest.mark.e2e
def test_a_conftest_still_naming_the_old_plugin_module_runs_under_filterwarnings_error(
    tmp_path,
):
    import subprocess
    import sys

    (tmp_path / "conftest.py").write_text('pytest_plugins = ["flask_events.testing"]\n')
    (tmp_path / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    (tmp_path / "test_old.py").write_text(
        "def test_recorder(events_recorder):\n    assert events_recorder is not None\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_old.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
