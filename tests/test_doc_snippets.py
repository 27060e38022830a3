"""Every runnable Python snippet of the docs runs as written (tests/doc_snippets.py
says what a snippet is, and how a page marks one as not runnable).

A page's snippets run in order in one namespace, as a reader would type them, which
starts with the example app: ``app`` (``example_app.create_app({"TESTING": True})``),
its test ``client``, and ``create_app``. A ``test_*`` function a snippet defines is
then called, its arguments given by name from ``app`` and ``client``.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

from example_app import create_app

from .doc_snippets import page_snippets

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    "quickstart.rst",
    "handlers.rst",
    "docpage.rst",
    "client.rst",
    "signals.rst",
    "observability.rst",
]


def _run(page: str) -> None:
    app = create_app({"TESTING": True})
    namespace = {
        "__name__": f"doc_snippet_{page[:-4]}",
        "app": app,
        "client": app.test_client(),
        "create_app": create_app,
    }
    snippets = [s for s in page_snippets(page) if s.runnable]
    assert snippets, f"no runnable snippet found in docs/{page}"
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


@pytest.mark.parametrize("page", PAGES)
def test_python_snippets_of_the_page_run_as_written(page):
    _run(page)


def test_the_fixtures_snippet_of_testing_rst_passes_under_pytest(tmp_path):
    """docs/testing.rst's first snippet is a pytest test using the plugin's fixtures: it
    runs in a real pytest (a subprocess) with an ``app`` fixture of the example app.
    """
    (code,) = [s.code for s in page_snippets("testing.rst") if "def test_deposit" in s.code]
    prelude = (
        "import pytest\nfrom example_app import create_app\n\n\n@pytest.fixture\n"
        'def app():\n    return create_app({"TESTING": True})\n\n\n'
    )
    (tmp_path / "test_snippet.py").write_text(prelude + code)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-cov"]
    done = subprocess.run(
        [*command, "--rootdir", str(tmp_path), str(tmp_path / "test_snippet.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
