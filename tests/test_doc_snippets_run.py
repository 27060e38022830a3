"""The snippets of /doc run as shown: every curl, Python and JavaScript snippet of every
event, taken from the page's HTML (unescaped), run against the example app served for
real, prints the answer to its request: an event of the request's name (or one of its
documented outcomes) carrying the request's id. Author text in an example (quotes,
``'``, ``</script>``, ``$(...)``) is sent exactly as written.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from .servers import flask_server, run_js_snippet
from .snippets_app import HOSTILE

pytestmark = pytest.mark.e2e

SNIPPET_KINDS = ("curl", "python", "websocket", "socketio")


class _SnippetParser(HTMLParser):
    """``{(event name, version): {snippet key: code}}`` of a /doc page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[tuple[str, int], dict[str, str]] = {}
        self.event: tuple[str, int] | None = None
        self.key: str | None = None
        self.code: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "section" and "event" in classes:
            self.event = (attributes["data-name"] or "", int(attributes["data-version"] or 0))
        elif tag == "details" and "snippet" in classes:
            self.key = attributes["data-snippet"]
        elif tag == "code" and self.key is not None:
            self.code = []

    def handle_data(self, data: str) -> None:
        if self.code is not None:
            self.code.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "code" and self.code is not None:
            assert self.event is not None and self.key is not None
            self.found.setdefault(self.event, {})[self.key] = "".join(self.code)
            self.code = None
        elif tag == "details":
            self.key = None


def page_snippets(html: str) -> dict[tuple[str, int], dict[str, str]]:
    parser = _SnippetParser()
    parser.feed(html)
    parser.close()
    return parser.found


def no_proxy_env() -> dict[str, str]:
    """This environment without proxy settings: traffic stays on 127.0.0.1."""
    return {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}


def run_snippet(kind: str, code: str, workdir: Path) -> dict[str, Any]:
    """Run one snippet (60 s at most, node's 30 s); the answer event it printed."""
    if kind in ("websocket", "socketio"):
        logged = run_js_snippet(code, workdir, 1)
        answers = [arg for line in logged for arg in line if isinstance(arg, dict)]
        assert len(answers) == 1, logged
        return answers[0]
    command = ["bash", "-c", code] if kind == "curl" else [sys.executable, "-c", code]
    result = subprocess.run(
        command,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=no_proxy_env(),
    )
    assert result.returncode == 0, (kind, result.stdout, result.stderr)
    answer = json.loads(result.stdout)
    assert isinstance(answer, dict), result.stdout
    return answer


def fetch(base: str) -> tuple[dict[tuple[str, int], dict[str, str]], list[dict[str, Any]]]:
    """The snippets of ``base``'s /doc page and its /doc.json catalogue."""
    with httpx.Client(base_url=base, trust_env=False, timeout=30) as client:
        html = client.get("/doc").raise_for_status().text
        catalogue = client.get("/doc.json").raise_for_status().json()
    return page_snippets(html), catalogue


def test_every_snippet_of_every_event_prints_its_answer_from_the_live_example_app(tmp_path):
    with flask_server("example_app") as base:
        snippets, catalogue = fetch(base)
        assert {(entry["name"], entry["version"]) for entry in catalogue} == set(snippets)
        for entry in catalogue:
            found = snippets[(entry["name"], entry["version"])]
            # the example app serves the WebSocket and is attached to Socket.IO
            assert tuple(found) == SNIPPET_KINDS, (entry["name"], list(found))
            assert f"{base}/events" in found["curl"] and f"{base}/events" in found["python"]
            assert f"ws://{base.split('://', 1)[1]}/events/ws" in found["websocket"]
            assert f"{base}/events" in found["socketio"]
            outcomes = {outcome["name"] for outcome in entry["outcomes"]}
            for kind, code in found.items():
                workdir = tmp_path / f"{entry['anchor'].replace('/', '_')}-{kind}"
                workdir.mkdir()
                answer = run_snippet(kind, code, workdir)
                where = (entry["name"], entry["version"], kind, answer.get("name"))
                assert answer["name"].startswith(entry["name"] + ":"), where
                assert answer["name"] in outcomes, where
                assert answer["id"] == entry["request"]["id"], where
                assert answer["flowId"] == entry["request"]["flowId"], where
                if entry["name"] == "rates:get":  # an event that succeeds: its payload
                    assert answer["name"] == "rates:get:response", where
                    assert answer["payload"]["USD"] == 0.18, where


def test_author_text_in_an_example_is_sent_exactly_by_every_snippet(tmp_path):
    with flask_server("tests.snippets_app") as base:
        snippets, catalogue = fetch(base)
        (entry,) = [e for e in catalogue if e["name"] == "test:echo"]
        found = snippets[("test:echo", 1)]
        assert tuple(found) == SNIPPET_KINDS
        assert f"{base}/echo-ns" in found["socketio"]  # the namespace it is attached to
        for kind, code in found.items():
            workdir = tmp_path / kind
            workdir.mkdir()
            answer = run_snippet(kind, code, workdir)
            assert answer["name"] == "test:echo:response", (kind, answer)
            assert answer["payload"] == HOSTILE == entry["request"]["payload"], kind
            assert not (workdir / "pwned").exists(), kind  # $(...) was not run
