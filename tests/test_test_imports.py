"""Test modules share helpers through ``tests/helpers.py`` (and the other helper
modules: servers, clients, envelopes, browser...) or fixtures, never by importing
``conftest.py`` or another test module: importing a test module runs its module-level
code and, under pytest, can collect its tests twice.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def forbidden(module: str) -> bool:
    """Whether importing ``module`` (relative to tests/, dotted) is forbidden."""
    last = module.split(".")[-1]
    return last == "conftest" or last.startswith("test_")


def imported_modules(path: Path) -> list[str]:
    """Every module ``path`` imports, as written (``tests.`` and leading dots dropped),
    ``from . import x`` counting as importing ``x``.
    """
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level and not module:
                found += [alias.name for alias in node.names]
            else:
                found.append(module)
    return [name.removeprefix("tests.") for name in found]


@pytest.mark.parametrize(
    "path", sorted(TESTS.rglob("*.py")), ids=lambda p: str(p.relative_to(TESTS))
)
def test_no_module_imports_conftest_or_a_test_module(path):
    if "node_modules" in path.parts:
        pytest.skip("not ours")
    bad = [name for name in imported_modules(path) if forbidden(name)]
    assert not bad, f"{path.name} imports {bad}: move the helper to tests/helpers.py"


def test_the_check_sees_each_forbidden_form(tmp_path):
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "from .conftest import envelope\n"
        "from tests.conftest import WIRE_KEYS\n"
        "from .test_websocket import connect\n"
        "from . import test_schemas\n"
        "import tests.test_transports\n"
        "from .helpers import envelope\n"
    )
    assert [name for name in imported_modules(sample) if forbidden(name)] == [
        "conftest",
        "conftest",
        "test_websocket",
        "test_schemas",
        "test_transports",
    ]
