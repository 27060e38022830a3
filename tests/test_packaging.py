"""The distribution as published: the name it has on PyPI in every install line, and
a source distribution that carries what its own test suite needs (``tox -e sdist``
runs that suite from the unpacked sdist; ``tox -e package`` builds both and runs
``twine check``).
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from flask_events import MissingDependency

from .servers import ROOT

PYPROJECT = (ROOT / "pyproject.toml").read_text()

#: The extras for working on the project itself, not for users of the package.
PROJECT_EXTRAS = {"test", "bench", "dev", "docs"}


def project_table(name: str) -> str:
    """The body of pyproject.toml's ``[name]`` table."""
    match = re.search(rf"^\[{re.escape(name)}\]\n(.*?)(?=^\[|\Z)", PYPROJECT, re.M | re.S)
    assert match, f"pyproject.toml has no [{name}] table"
    return match.group(1)


def distribution_name() -> str:
    match = re.search(r'^name = "([^"]+)"', project_table("project"), re.M)
    assert match, "pyproject.toml's [project] names no distribution"
    return match.group(1)


def install_texts() -> dict[str, str]:
    """The files that tell users what to install, by path."""
    paths = [ROOT / "README.md", ROOT / "bench" / "README.md"]
    paths += sorted((ROOT / "docs").glob("*.rst"))
    paths += sorted((ROOT / "flask_events").rglob("*.py"))
    return {path.relative_to(ROOT).as_posix(): path.read_text() for path in paths}


def test_the_distribution_is_not_pypis_unrelated_flask_events():
    assert distribution_name() == "Flask-Events-Protocol"


def test_every_install_line_names_the_distribution_or_the_checkout():
    name = distribution_name()
    wrong = []
    for path, text in install_texts().items():
        for target in re.findall(r"pip install(?:\s+-\S+)*\s+['\"]?([^\s'\"`]+)", text):
            if not (target.startswith(".") or re.fullmatch(rf"{name}(\[[\w,{{}}]+\])?", target)):
                wrong.append((path, target))
        # an extra named on its own, as in ``'Flask-Events-Protocol[redis]'``
        wrong += [(path, bad) for bad in re.findall(r"(?i)\bflask-events\[[\w,]*\]", text)]
    assert wrong == []


def test_missing_dependency_says_to_install_the_distributions_extra():
    error = MissingDependency("EventsMetrics", "prometheus_client", "prometheus", reason="r")
    assert error.install == f"pip install '{distribution_name()}[prometheus]'"


def test_readme_install_section_lists_every_users_extra_and_the_clash():
    section = (ROOT / "README.md").read_text().partition("## Install")[2].partition("\n## ")[0]
    extras = set(re.findall(r"^(\w+) = \[", project_table("project.optional-dependencies"), re.M))
    listed = set(re.findall(r"`(\w+)`", section.partition("extras:")[2].partition(")")[0]))
    assert listed == extras - PROJECT_EXTRAS
    assert f"`pip install {distribution_name()}`" in section
    assert "the import name is `flask_events`" in section
    assert "PyPI's `Flask-Events` is an unrelated project" in section
    assert "the two cannot be installed together" in section


@pytest.mark.e2e
def test_source_distribution_carries_the_suite_and_builds_without_warnings(tmp_path):
    result = subprocess.run(
        [sys.executable, "setup.py", "-q", "egg_info", "--egg-base", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert [line for line in output.splitlines() if re.search("warn", line, re.I)] == []
    (sources,) = tmp_path.glob("*.egg-info/SOURCES.txt")
    shipped = set(sources.read_text().split())
    suite = {
        path.relative_to(ROOT).as_posix()
        for pattern in ["tests/*.py", "tests/js/*.js*", "example_app/*.py", "docs/*.rst"]
        for path in ROOT.glob(pattern)
    }
    project = {"README.md", "LICENSE", "CHANGES.rst", "tox.ini", "MANIFEST.in", ".ci/run"}
    project.add("docs/conf.py")  # README names the docs/ folder of the distribution
    assert suite | project | {"tests/conftest.py", "tests/js/package.json"} <= shipped
    assert [path for path in shipped if "node_modules" in path or "__pycache__" in path] == []
