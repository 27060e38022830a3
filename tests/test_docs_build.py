"""The Sphinx documentation builds with warnings as errors (as ``tox -e docs`` does)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .servers import ROOT

pytestmark = pytest.mark.e2e

pytest.importorskip("sphinx")


def test_docs_build_without_warnings(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(ROOT / "docs"),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "html" / "client.html").exists()
