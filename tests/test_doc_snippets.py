"""Every runnable Python snippet of the docs runs as written (tests/doc_snippets.py
says what a snippet is, and how a page marks one as not runnable).

A page's snippets run in order in one namespace, as a reader would type them, which
starts with the example app: ``app`` (``example_app.create_app({"TESTING": True})``),
its test ``client``, and ``create_app``. A ``test_*`` function a snippet defines is
then called, its arguments given by name from ``app`` and ``client``.
"""

from __future__ import annotations

import inspect

import pytest

from example_app import create_app

from .doc_snippets import page_snippets

PAGES = ["quickstart.rst", "handlers.rst", "docpage.rst"]


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
