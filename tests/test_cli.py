"""``flask events ...``: with Flask's CLI runner, and once as a real subprocess."""

from __future__ import annotations

import json

import pytest

from example_app import create_app

from .servers import flask_command, flask_server


@pytest.fixture
def app():
    return create_app({"TESTING": True})


def test_list(runner):
    result = runner.invoke(args=["events", "list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert any(
        line.startswith(
            "account:open  v2  example_app.accounts.open_account_v2  "
            "OpenAccountV2Schema -> AccountSchema"
        )
        for line in lines
    )
    assert any("batch  v1" in line and "[batch]" in line for line in lines)
    assert any("rates:get  v1" in line and "[async]" in line for line in lines)
    assert any("Open an account for the caller" in line for line in lines)


def test_send_in_process(runner):
    result = runner.invoke(args=["events", "send", "rates:get", "1", "{}", "--flow-id", "F"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["name"] == "rates:get:response" and answer["flowId"] == "F"


def test_send_with_identity_and_an_error_exits_1(runner):
    ok = runner.invoke(
        args=["events", "send", "account:list", "1", "{}", "--identity", '{"userId": 3}']
    )
    assert ok.exit_code == 0 and json.loads(ok.output)["payload"] == []
    failed = runner.invoke(args=["events", "send", "account:list", "1"])
    assert failed.exit_code == 1
    assert json.loads(failed.output)["name"] == "account:list:unauthorized"
    bad = runner.invoke(args=["events", "send", "rates:get", "1", "{not json"])
    assert bad.exit_code == 2 and "Invalid value" in bad.output


@pytest.mark.e2e
def test_send_to_a_remote_endpoint(runner):
    with flask_server("example_app") as base:
        result = runner.invoke(
            args=["events", "send", "rates:get", "1", "--url", f"{base}/events"]
        )
    assert result.exit_code == 0 and json.loads(result.output)["name"] == "rates:get:response"
    unreachable = runner.invoke(
        args=[
            "events",
            "send",
            "rates:get",
            "1",
            "--url",
            "http://127.0.0.1:9/events",
            "--timeout",
            "2",
        ]
    )
    assert unreachable.exit_code == 2 and unreachable.output.startswith("error: cannot ")


@pytest.mark.parametrize(
    ("fmt", "check"),
    [
        ("html", lambda text: '<section class="event"' in text),
        ("json", lambda text: json.loads(text)[0]["name"] == "account:deposit"),
        ("openapi", lambda text: json.loads(text)["openapi"] == "3.1.0"),
        ("asyncapi", lambda text: set(json.loads(text)["channels"]) == {"socketio", "websocket"}),
    ],
)
def test_doc_to_a_file(runner, tmp_path, fmt, check):
    target = tmp_path / f"doc.{fmt}"
    result = runner.invoke(args=["events", "doc", "--format", fmt, "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert check(target.read_text(encoding="utf-8"))


def test_unknown_blueprint(runner):
    result = runner.invoke(args=["events", "list", "--blueprint", "nope"])
    assert result.exit_code == 2 and "no events blueprint named 'nope'" in result.output


@pytest.mark.e2e
def test_as_a_real_subprocess():
    result = flask_command("example_app", "events", "send", "rates:get", "1", "{}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "rates:get:response"
