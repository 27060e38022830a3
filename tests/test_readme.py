"""README.md's snippets run as written, against real servers, and its links work on
PyPI (where README is the long description): every fenced block is checked here, or
fails the enumeration test below.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import httpx
import pytest
from flask import Flask

from flask_events import EventsBlueprint

from .servers import ROOT, flask_server, free_port, logged_server, run_js_snippet, serve

README = ROOT / "README.md"

#: The README's fenced blocks, in order, by language: each is checked by a test below.
CHECKED_BLOCKS = ["python", "console", "python", "js", "sh", "sh"]

README_PORT = "5000"


def fenced_blocks() -> list[tuple[str, str]]:
    """README's fenced code blocks as (language, text), in order."""
    pattern = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
    return [(lang.strip(), text) for lang, text in pattern.findall(README.read_text())]


def block(lang: str, index: int = 0) -> str:
    """The ``index``-th (from 0) README block in ``lang``."""
    return [text for kind, text in fenced_blocks() if kind == lang][index]


def no_proxy_env() -> dict[str, str]:
    """This environment without proxy settings: traffic stays on 127.0.0.1."""
    return {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}


def test_every_readme_block_is_one_the_tests_check():
    languages = [lang for lang, _ in fenced_blocks()]
    assert languages == CHECKED_BLOCKS, (
        "README's fenced blocks changed: check each new one in tests/test_readme.py"
    )


def test_readme_links_are_all_absolute():
    text = README.read_text()
    targets = re.findall(r"\]\(\s*<?([^)\s>]*)", text)  # [text](target), ![alt](target)
    targets += re.findall(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?\s*$", text, re.M)  # [ref]: target
    targets += re.findall(r"<([a-zA-Z][a-zA-Z0-9+.-]*:[^<>\s]*)>", text)  # <autolink>
    targets += re.findall(r"""(?:href|src)\s*=\s*["']([^"']*)""", text)  # HTML
    relative = [target for target in targets if not re.match(r"https?://", target)]
    assert relative == [], "README is PyPI's long description: relative links break there"


def test_readme_doc_pages_are_the_docs_folder_pages():
    more = README.read_text().partition("## More")[2]
    named = set(re.findall(r"`([a-z_]+\.rst)`", more))
    assert named == {path.name for path in (ROOT / "docs").glob("*.rst")}


def split_console(text: str) -> tuple[str, str]:
    """A ``console`` block's command (from ``$ `` to where its quotes close) and the
    output shown after it.
    """
    lines = text.splitlines()
    assert lines[0].startswith("$ ")
    command = lines[0][2:]
    rest = lines[1:]
    while True:
        try:
            shlex.split(command)
            break
        except ValueError:  # a quote still open: the command goes on
            command += "\n" + rest.pop(0)
    return command, "\n".join(rest)


@pytest.mark.e2e
def test_readme_first_app_answers_the_curl_command_as_shown(tmp_path):
    curl = shutil.which("curl")
    if curl is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install curl (.ci/run)", pytrace=False)
        pytest.skip("curl is not installed")
    (tmp_path / "readme_app.py").write_text(block("python", 0))
    command, shown = split_console(block("console"))
    with logged_server("werkzeug", "readme_app:app", tmp_path / "log", cwd=tmp_path) as port:
        args = shlex.split(command.replace(f"localhost:{README_PORT}", f"127.0.0.1:{port}"))
        assert args[0] == "curl"
        result = subprocess.run(
            [curl, *args[1:]],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=no_proxy_env(),
        )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(shown)


def test_readme_deposit_handler_answers_its_documented_example():
    events = EventsBlueprint("events", __name__)
    exec(compile(block("python", 1), "README.md", "exec"), {"events": events})
    app = Flask(__name__)
    app.register_blueprint(events)
    example = {"accountId": 1, "amount": 1000}
    assert 'example=({"accountId": 1, "amount": 1000}, {"id": 1, "balance": 1000})' in block(
        "python", 1
    )
    envelope = {"name": "account:deposit", "version": 1, "id": "d", "flowId": "f"}
    answer = app.test_client().post("/events", json={**envelope, "payload": example}).get_json()
    assert answer["name"] == "account:deposit:response"
    assert answer["payload"] == {"id": 1, "balance": 1000}


@pytest.mark.e2e
def test_readme_js_snippet_gets_both_answers_from_example_app(tmp_path):
    snippet = block("js")
    with flask_server("example_app") as url:
        port = url.rpartition(":")[2]
        logged = run_js_snippet(snippet.replace(f":{README_PORT}/", f":{port}/"), tmp_path, 2)
    answers = {args[0]["id"]: args[0] for args in logged if isinstance(args[0], dict)}
    assert answers["1"]["name"] == "rates:get:response"
    assert answers["1"]["payload"] == {"BRL": 1.0, "USD": 0.18, "EUR": 0.17}
    assert answers["2"]["name"] == "notifications:subscribe:response"


def test_readme_test_command_is_the_one_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert block("sh", 1).strip() in ci


@pytest.mark.e2e
def test_readme_serve_command_serves_example_app():
    install, _, run = block("sh", 0).strip().rpartition(" && ")
    assert block("sh", 1).strip().startswith(install + " && ")
    args = shlex.split(run)
    assert args[0] == ".venv/bin/flask" and f"--port {README_PORT}" in run
    port = free_port()
    command = [sys.executable, "-m", "flask", *args[1:], "--no-reload"]
    command[command.index(README_PORT)] = str(port)
    with serve(command, port, {"FLASK_DEBUG": "0"}) as base:
        with httpx.Client(base_url=base, trust_env=False, timeout=30) as client:
            assert client.get("/doc").status_code == 200
            answer = client.post(
                "/events",
                json={"name": "rates:get", "version": 1, "id": "1", "flowId": "f", "payload": {}},
            ).json()
    assert answer["name"] == "rates:get:response"
