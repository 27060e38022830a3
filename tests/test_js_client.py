"""A non-Python client: socket.io-client (npm), run with node, against a real server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .servers import flask_server

pytestmark = pytest.mark.e2e

JS = Path(__file__).parent / "js"


@pytest.fixture(scope="module")
def node_client():
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        if os.environ.get("CI"):
            pytest.fail("CI must have node and npm", pytrace=False)
        pytest.skip("node and npm are needed")
    if not (JS / "node_modules" / "socket.io-client").exists():
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--silent"],
            cwd=JS,
            check=True,
            timeout=300,
        )
    return [node, str(JS / "client.js")]


def test_socket_io_client_from_npm_gets_the_acknowledged_response(node_client):
    with flask_server("example_app") as base:
        result = subprocess.run(
            [*node_client, base], capture_output=True, text=True, timeout=60, check=False
        )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["name"] == "rates:get:response"
    assert (answer["id"], answer["flowId"]) == ("js-1", "js-flow")
    assert answer["auth"] == {} and "js-secret" not in result.stdout
    assert list(answer) == [
        "name",
        "version",
        "id",
        "flowId",
        "payload",
        "identity",
        "auth",
        "metadata",
    ]
