"""Every snippet of the docs runs as written (tests/doc_snippets.py says what a Python
snippet is, and how a page marks one as not runnable).

Every page of ``docs/`` with a runnable Python snippet is run (``PAGES`` comes from the
files, so a new page is covered at once). A page's snippets run in order in one
namespace, as a reader would type them, which starts with the example app: ``app``
(``example_app.create_app({"TESTING": True})``), its test ``client``, and
``create_app``. A ``test_*`` function a snippet defines is then called, its arguments
given by name from ``app`` and ``client``. A snippet that is a pytest module (it defines
a fixture, or a test asking for another fixture) runs in a real pytest instead, in a
file of its own, with a ``conftest.py`` giving the example app as ``app``.

The ``$ flask ...`` lines of the docs run as real commands, their ``json`` blocks
parse (the envelopes as events), their ``curl`` commands are sent to the example
app served for real, and their JavaScript blocks run under node against it. Every
block of the docs is one of these, or listed in tests/doc_snippets.py's ``NOT_RUN``
with the reason.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from example_app import create_app
from flask_events.event import parse_event
from flask_events.testing import post_event

from .doc_snippets import (
    NOT_RUN,
    Snippet,
    block_kind,
    console_commands,
    json_blocks,
    literal_blocks,
    page_snippets,
)
from .servers import flask_command_in, flask_server, run_js_snippet

#: The example app's accounts belong to an identity's ``userId``.
USER = {"userId": 7}

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
ALL_PAGES = sorted(path.name for path in DOCS.glob("*.rst"))
GIVEN = {"app", "client"}  # the arguments _run gives a test function


def _is_pytest_module(code: str) -> bool:
    """Whether a snippet needs pytest: it defines a fixture, or a test that asks for a
    fixture other than ``app`` and ``client``.
    """
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if any("fixture" in ast.unparse(d) for d in node.decorator_list):
                return True
            asked = {a.arg for a in node.args.args}
            if node.name.startswith("test_") and asked - GIVEN:
                return True
    return False


def _test_functions(code: str) -> int:
    tree = ast.parse(code)
    return sum(
        isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test_")
        for n in tree.body
    )


def _runnable(page: str) -> list[Snippet]:
    return [s for s in page_snippets(page) if s.runnable]


# Every page with a runnable Python snippet that is not a pytest module: none is left out.
PAGES = [p for p in ALL_PAGES if any(not _is_pytest_module(s.code) for s in _runnable(p))]
PYTEST_SNIPPETS = [s for p in ALL_PAGES for s in _runnable(p) if _is_pytest_module(s.code)]


def _run(page: str) -> None:
    app = create_app({"TESTING": True})
    namespace = {
        "__name__": f"doc_snippet_{page[:-4]}",
        "app": app,
        "client": app.test_client(),
        "create_app": create_app,
    }
    snippets = [s for s in _runnable(page) if not _is_pytest_module(s.code)]
    assert snippets, f"no runnable snippet found in docs/{page}"
    try:
        for snippet in snippets:
            code = compile(snippet.code, f"docs/{page}, line {snippet.line}", "exec")
            before = set(namespace)
            exec(code, namespace)
            for name in sorted(set(namespace) - before):
                if name.startswith("test_") and callable(namespace[name]):
                    fresh = create_app({"TESTING": True})
                    fixtures = {"app": fresh, "client": fresh.test_client()}
                    params = inspect.signature(namespace[name]).parameters
                    namespace[name](**{p: fixtures[p] for p in params})
    finally:
        # a snippet's function refers to the namespace, which refers to it: clearing it
        # frees them now, and so disconnects the receivers a signals.rst snippet
        # connected (weakly) to every sender, which would see the next tests' events
        namespace.clear()


def test_every_page_with_python_snippets_is_run():
    """PAGES comes from docs/*.rst: the pages known to have snippets are among them (so
    a broken extractor cannot make the tests below run nothing).
    """
    known = {
        "batch.rst",
        "client.rst",
        "docpage.rst",
        "handlers.rst",
        "observability.rst",
        "quickstart.rst",
        "security.rst",
        "signals.rst",
        "testing.rst",
        "transports.rst",
    }
    assert known <= set(PAGES)
    assert {s.page for s in PYTEST_SNIPPETS} >= {"testing.rst"}


@pytest.mark.parametrize("page", PAGES)
def test_python_snippets_of_the_page_run_as_written(page):
    _run(page)


@pytest.mark.parametrize(
    "snippet", PYTEST_SNIPPETS, ids=[f"{s.page}:{s.line}" for s in PYTEST_SNIPPETS]
)
@pytest.mark.e2e
def test_pytest_snippets_pass_under_pytest(snippet, tmp_path):
    """A snippet that is a pytest module (docs/testing.rst's) runs as written in a real
    pytest (a subprocess), alone in its file, with a conftest.py giving the example app
    as ``app`` as a reader's would; every test it defines passes.
    """
    (tmp_path / "conftest.py").write_text(
        "import pytest\nfrom example_app import create_app\n\n\n@pytest.fixture\n"
        'def app():\n    return create_app({"TESTING": True})\n'
    )
    (tmp_path / "test_snippet.py").write_text(snippet.code)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-cov"]
    done = subprocess.run(
        [*command, "-W", "error", "--rootdir", str(tmp_path), str(tmp_path / "test_snippet.py")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    expected = _test_functions(snippet.code)
    assert expected >= 1
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(rf"\b{expected} passed\b", done.stdout), done.stdout
    assert not re.search(r"\b(failed|error|errors|skipped)\b", done.stdout), done.stdout


FLASK_COMMANDS = [
    (page, *command) for page in ALL_PAGES for command in console_commands(page, "flask")
]


def test_the_docs_show_flask_commands():
    assert {page for page, *_ in FLASK_COMMANDS} >= {"cli.rst"}


@pytest.mark.parametrize(
    "page, line, command, shown", FLASK_COMMANDS, ids=[f"{c[0]}:{c[1]}" for c in FLASK_COMMANDS]
)
@pytest.mark.e2e
def test_flask_commands_of_the_docs_run_as_written(page, line, command, shown, tmp_path):
    """Every ``$ flask ...`` line of docs/ runs as a real command, from an empty
    directory where ``example_app`` imports: it exits 0 (or the status a ``# exits N``
    comment on the line gives), prints every line the doc shows under it, and writes
    the file it is given with ``-o``.
    """
    status = re.search(r"#\s*exits\s+(\d+)\s*$", command)
    argv = shlex.split(command, comments=True)
    assert argv[0] == "flask"
    done = flask_command_in(tmp_path, *argv[1:])
    assert done.returncode == (int(status.group(1)) if status else 0), done.stdout + done.stderr
    printed = [out.strip() for out in done.stdout.splitlines()]
    for out in shown:
        assert out in printed, f"docs/{page}, line {line}: {out!r} not in\n{done.stdout}"
    if "-o" in argv:
        assert (tmp_path / argv[argv.index("-o") + 1]).stat().st_size > 0


JSON_BLOCKS = [(page, line, text) for page in ALL_PAGES for line, text in json_blocks(page)]


def test_the_docs_show_json_blocks():
    assert {page for page, *_ in JSON_BLOCKS} >= {"protocol.rst", "batch.rst"}


@pytest.mark.parametrize(
    "page, line, text", JSON_BLOCKS, ids=[f"{b[0]}:{b[1]}" for b in JSON_BLOCKS]
)
def test_json_blocks_of_the_docs_parse_and_envelopes_are_events(page, line, text):
    """Every ``json`` block of docs/ is JSON; one with an envelope's ``name`` (or a
    batch payload's ``events``) holds envelopes flask_events reads.
    """
    value = json.loads(text)
    envelopes = [value] if isinstance(value, dict) and "name" in value else []
    if isinstance(value, dict) and isinstance(value.get("events"), list):
        envelopes += value["events"]
    for envelope in envelopes:
        event = parse_event(json.dumps(envelope))
        assert (event.name, event.version) == (envelope["name"], envelope["version"])


def test_the_invalid_payload_answer_of_handlers_rst_is_the_example_apps():
    """docs/handlers.rst shows the payload of ``account:deposit`` answered for an
    ``amount`` of 0: the example app answers exactly that.
    """
    (shown,) = [json.loads(text) for _, text in json_blocks("handlers.rst")]
    client = create_app({"TESTING": True}).test_client()
    opened = post_event(client, "account:open", 1, {"currency": "BRL"}, identity=USER)
    answer = post_event(
        client,
        "account:deposit",
        1,
        {"accountId": opened.payload["id"], "amount": 0},
        identity=USER,
    )
    assert answer.name == "account:deposit:badRequest"
    assert answer.payload == shown


def _curl_commands() -> list[tuple[str, int, str]]:
    """Every ``curl`` command of docs/ with its continuation lines (those indented
    deeper below it)."""
    found = []
    for page in ALL_PAGES:
        lines = (DOCS / page).read_text().splitlines()
        for i, line in enumerate(lines):
            if not re.match(r"\s*(\$ )?curl ", line):
                continue
            indent = len(line) - len(line.lstrip())
            body = [line.strip().removeprefix("$ ")]
            for after in lines[i + 1 :]:
                if not after.strip() or len(after) - len(after.lstrip()) <= indent:
                    break
                body.append(after.strip())
            found.append((page, i + 1, " ".join(body)))
    return found


CURL_COMMANDS = _curl_commands()


@pytest.mark.e2e
@pytest.mark.parametrize(
    "page, line, command", CURL_COMMANDS, ids=[f"{c[0]}:{c[1]}" for c in CURL_COMMANDS]
)
def test_curl_commands_of_the_docs_work_against_the_example_app(page, line, command):
    """Every ``curl`` command of docs/ is sent, as written but for the port, to the
    example app served by ``flask run``: the answer is the ``<name>:response`` event of
    the event the command sends.
    """
    assert "127.0.0.1:5000" in command
    argv = shlex.split(command)
    sent = json.loads(argv[argv.index("-d") + 1])
    with flask_server("example_app") as url:
        argv = [a.replace("127.0.0.1:5000", url.removeprefix("http://")) for a in argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = parse_event(done.stdout)
    assert answer.name == f"{sent['name']}:response", answer
    assert (answer.id, answer.flow_id) == (sent["id"], sent["flowId"])


BLOCKS = [block for page in ALL_PAGES for block in literal_blocks(page)]


def test_every_block_of_the_docs_is_run_or_listed_as_not_run():
    """Every literal and code block of docs/ is one the tests above and below run (or
    a documented no-run Python fragment), or is in ``NOT_RUN`` with its reason.
    """
    unchecked = [f"docs/{b.page}, line {b.line}" for b in BLOCKS if block_kind(b) is None]
    assert unchecked == [], "check these blocks in tests/test_doc_snippets.py"
    listed = {(b.page, b.text) for b in BLOCKS}
    assert [key for key in NOT_RUN if key not in listed] == [], "NOT_RUN names no block"
    kinds = {block_kind(b) for b in BLOCKS}
    assert kinds >= {"python", "python no-run", "json", "flask", "curl", "js", "not run"}


JS_BLOCKS = [block for block in BLOCKS if block_kind(block) == "js"]
EXAMPLE_RATES = {"BRL": 1.0, "USD": 0.18, "EUR": 0.17}
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def test_the_docs_show_js_blocks():
    assert len([b for b in JS_BLOCKS if b.page == "transports.rst"]) >= 2


@pytest.mark.e2e
@pytest.mark.parametrize("block", JS_BLOCKS, ids=[f"{b.page}:{b.line}" for b in JS_BLOCKS])
def test_js_blocks_of_the_docs_get_the_example_apps_rates(block, tmp_path):
    """Every JavaScript block of docs/ runs under node as in a browser
    (``run_js_snippet``), as written but for the port, against the example app served
    by ``flask run``: each envelope it sends (all ``rates:get``) is answered
    ``rates:get:response`` with the example's rates, with the ids it was sent with —
    those the block made with ``crypto.randomUUID()``, else those written in it.
    """
    assert "127.0.0.1:5000/" in block.text
    sent = re.findall(r'\bname: "([^"]+)"', block.text)
    assert sent and set(sent) == {"rates:get"}
    with flask_server("example_app") as url:
        code = block.text.replace("127.0.0.1:5000/", url.removeprefix("http://") + "/")
        logged = run_js_snippet(code, tmp_path, len(sent))
    answers = [args[0] for args in logged if isinstance(args[0], dict)]
    assert len(answers) == len(sent), logged
    for answer in answers:
        assert answer["name"] == "rates:get:response", answer
        assert answer["payload"] == EXAMPLE_RATES
    made_file = tmp_path / "randomUUID.txt"
    made = made_file.read_text().split() if made_file.exists() else []
    assert bool(made) == ("crypto.randomUUID()" in block.text)
    if made:
        assert all(UUID4.fullmatch(uuid) for uuid in made)
        assert {a[key] for a in answers for key in ("id", "flowId")} == set(made)
    else:
        assert [a["id"] for a in answers] == re.findall(r'\bid: "([^"]+)"', block.text)
