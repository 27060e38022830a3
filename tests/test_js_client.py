"""A non-Python client: socket.io-client (npm), run with node, against a real server."""

from __future__ import annotations

import json
import subprocess

import pytest

from .servers import JS, flask_server, node_with_js_modules

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def node_client():
    return [node_with_js_modules(), str(JS / "client.js")]


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
