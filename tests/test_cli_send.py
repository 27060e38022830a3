"""``flask events send`` and ``list`` on an app with several events blueprints: the
auth, metadata and identity options, auth never printed, the blueprint that serves
the event found (nested ones too), and the flags of ``list``.
"""

from __future__ import annotations

import json

import pytest

from .cli_app import TOKEN, create_app
from .servers import flask_command, serve_in_thread

SEND = ["events", "send"]


@pytest.fixture
def app():
    return create_app({"TESTING": True})


def send(runner, *args):
    return runner.invoke(args=[*SEND, *args])


def test_send_passes_auth_metadata_and_identity_and_never_prints_auth(runner):
    result = send(
        runner,
        "echo",
        "1",
        '{"a": 1}',
        "--auth",
        json.dumps({"token": TOKEN}),
        "--identity",
        '{"userId": 7}',
        "--metadata",
        '{"origin": "cli"}',
    )
    assert result.exit_code == 0, result.output  # the authenticator saw the token
    assert TOKEN not in result.output
    answer = json.loads(result.output)
    echoed = answer["payload"]["event"]
    assert echoed["payload"] == {"a": 1} and echoed["identity"] == {"userId": 7}
    assert echoed["metadata"] == {"origin": "cli"}
    assert answer["payload"]["token"] == "[redacted]" and answer["auth"] == {}


def test_send_refused_auth_is_not_printed(runner):
    result = send(runner, "echo", "1", "--auth", '{"token": "wrong-token-99"}')
    assert result.exit_code == 1
    assert json.loads(result.output)["name"] == "echo:unauthorized"
    assert "wrong-token-99" not in result.output


@pytest.mark.parametrize("option", ["--auth", "--metadata", "--identity"])
@pytest.mark.parametrize("value", ['["s3cret-in-a-list"]', '"s3cret-string"', '{"s3cret": '])
def test_send_option_not_a_json_object_is_a_usage_error_naming_it(runner, option, value):
    result = send(runner, "ping", "1", option, value)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.output
    assert "s3cret" not in result.output


@pytest.mark.e2e
def test_send_with_url_never_prints_auth(app, runner):
    with serve_in_thread(app) as base:
        result = send(
            runner,
            "echo",
            "1",
            "--url",
            f"{base}/secured/events",
            "--auth",
            f'{{"token": "{TOKEN}"}}',
        )
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    assert json.loads(result.output)["payload"]["token"] == "[redacted]"


def test_send_finds_the_blueprint_that_serves_the_event(runner):
    # "plain" is registered first; "echo" and "ping" are "secured"'s.
    result = send(runner, "ping", "1")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["payload"] == "pong"


def test_send_served_by_two_blueprints_is_a_usage_error_naming_both(runner):
    result = send(runner, "twice", "1", "7")
    assert result.exit_code == 2
    assert "served by several events blueprints: v1.shared, v2.shared" in result.output


def test_send_blueprint_option_picks_one_nested_blueprint(runner):
    result = send(runner, "twice", "1", "7", "--blueprint", "v2.shared")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["payload"] == 7


def test_send_served_by_no_blueprint_says_so(runner):
    result = send(runner, "nope", "1")
    assert result.exit_code == 2
    assert "no events blueprint of the app serves 'nope' version 1" in result.output
    forced = send(runner, "nope", "1", "--blueprint", "plain")
    assert forced.exit_code == 1
    assert json.loads(forced.output)["name"] == "eventNotFound"


def test_list_marks_auth_required_and_async_handlers(runner):
    result = runner.invoke(args=["events", "list"])
    assert result.exit_code == 0, result.output
    lines = {
        line.split("  ")[0] + line.split("  ")[-2]: line for line in result.output.splitlines()
    }
    assert "[auth]" in lines["echo(secured)"] and "[async]" not in lines["echo(secured)"]
    assert "[async]" in lines["ping(secured)"] and "[auth]" not in lines["ping(secured)"]
    assert "[auth]" not in lines["hello(plain)"]
    assert "[auth]" not in lines["twice(v1.shared)"] and "twice(v2.shared)" in lines


def test_list_marks_deprecated_versions_with_their_message(runner):
    result = runner.invoke(args=["events", "list"])
    assert result.exit_code == 0, result.output
    lines = {tuple(line.split("  ")[:2]): line for line in result.output.splitlines()}
    assert "[deprecated: use v2]" in lines[("hello", "v1")]
    assert "[deprecated]" in lines[("hello:old", "v1")]
    assert "deprecated" not in lines[("hello", "v2")]
    assert "deprecated" not in lines[("echo", "v1")]


@pytest.mark.parametrize("value", ["", None, 1, ["use v2"]])
def test_deprecated_must_be_a_bool_or_a_message(value):
    from flask_events import EventsBlueprint

    events = EventsBlueprint("events", __name__)
    with pytest.raises(TypeError, match="deprecated of 'x' v1"):
        events.add("x", 1, lambda event: None, deprecated=value)
    with pytest.raises(TypeError, match="deprecated of 'x' v1"):
        events.handler("x", 1, deprecated=value)(lambda event: None)


@pytest.mark.e2e
def test_send_with_auth_as_a_real_subprocess():
    result = flask_command(
        "tests.cli_app",
        *SEND,
        "echo",
        "1",
        "--auth",
        json.dumps({"token": TOKEN}),
        "--identity",
        '{"userId": 1}',
    )
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert json.loads(result.stdout)["payload"]["event"]["identity"] == {"userId": 1}
