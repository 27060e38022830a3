"""schemathesis against the OpenAPI document of the events endpoint: zero server errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .servers import flask_server

pytestmark = pytest.mark.e2e

pytest.importorskip("schemathesis")


def test_no_server_errors_for_what_the_openapi_document_allows():
    # the console script sits beside this interpreter (a venv need not be activated)
    command = Path(sys.executable).with_name("schemathesis")
    assert command.exists(), f"no {command}"
    examples = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "30")
    with flask_server("example_app") as base:
        result = subprocess.run(
            [
                command,
                "run",
                f"{base}/openapi.json",
                "--url",
                base,
                "--checks",
                "not_a_server_error",
                "--max-examples",
                examples,
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout
