"""Copyable snippets for /doc: one event's example request envelope sent with curl,
the Python :class:`~flask_events.EventsClient`, a WebSocket and socket.io-client, each
printing the answer event.

No Flask import: the view gives the absolute URLs (:class:`Endpoints`). The snippets
are plain text, for the page to escape; every value of the envelope is written as a
literal of the snippet's language (shell-quoted for curl), so author text with quotes,
``</script>`` or ``'`` is sent exactly as it is in the example.
"""

from __future__ import annotations

import json
import pprint
import shlex
from dataclasses import dataclass
from typing import Any, Mapping, Optional

__all__ = ["Endpoints", "Snippet", "snippets"]


@dataclass(frozen=True)
class Endpoints:
    """The absolute URLs a page's snippets send to."""

    #: The HTTP events endpoint (``http(s)://host/prefix/events``).
    events: str
    #: The WebSocket endpoint (``ws(s)://...``), or ``None`` when the blueprint has none.
    websocket: Optional[str] = None
    #: The Socket.IO namespace's URL (the origin and the namespace), or ``None`` when
    #: the blueprint is not attached to a Socket.IO server on this app.
    socketio: Optional[str] = None
    #: The Socket.IO server's path (the client's ``path`` option).
    socketio_path: str = "/socket.io"


@dataclass(frozen=True)
class Snippet:
    """One snippet: ``key`` (``curl``, ``python``, ``websocket``, ``socketio``), the
    ``label`` shown, its ``language`` and its ``code``.
    """

    key: str
    label: str
    language: str
    code: str


def snippets(request: Mapping[str, Any], endpoints: Endpoints) -> list[Snippet]:
    """The snippets that send ``request`` (an event's example envelope) to
    ``endpoints``: curl and Python always, JavaScript over the WebSocket and over
    socket.io-client when the blueprint serves them.
    """
    request = json.loads(json.dumps(request, default=str))  # JSON, as the page shows it
    found = [
        Snippet("curl", "curl", "sh", curl(request, endpoints.events)),
        Snippet("python", "Python", "python", python(request, endpoints.events)),
    ]
    if endpoints.websocket is not None:
        code = websocket(request, endpoints.websocket)
        found.append(Snippet("websocket", "JavaScript (WebSocket)", "javascript", code))
    if endpoints.socketio is not None:
        code = socketio(request, endpoints.socketio, endpoints.socketio_path)
        found.append(Snippet("socketio", "JavaScript (Socket.IO)", "javascript", code))
    return found


def curl(request: Mapping[str, Any], url: str) -> str:
    """A curl command POSTing ``request`` to ``url``; it prints the answer event."""
    body = json.dumps(request, indent=2, ensure_ascii=False)
    return (
        f"curl -sS -X POST {shlex.quote(url)} \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  --data-binary {shlex.quote(body)}\n"
    )


def python(request: Mapping[str, Any], url: str) -> str:
    """Python sending ``request`` with :class:`~flask_events.EventsClient` (its ids
    included); it prints the answer event as JSON.
    """
    arguments = [
        _py(request.get("name")),
        _py(request.get("version")),
        _py(request.get("payload")),
        *(f"{key}={_py(request.get(key) or {})}" for key in ("identity", "auth", "metadata")),
        f"id={_py(request.get('id'))}",
        f"flow_id={_py(request.get('flowId'))}",
    ]
    call = "".join(f"        {argument},\n" for argument in arguments)
    return (
        "import json\n\n"
        "from flask_events import EventsClient\n\n"
        f"with EventsClient({_py(url)}) as client:\n"
        "    answer = client.send(\n"
        f"{call}"
        "    )\n"
        "print(json.dumps(answer.to_dict(), indent=2))\n"
    )


def websocket(request: Mapping[str, Any], url: str) -> str:
    """JavaScript sending ``request`` over a WebSocket: the browser's ``WebSocket``
    (Node.js 22 and later have it too; older Node.js takes the ``ws`` package's, as
    the first comment says). It logs the answer carrying the request's ``id``.
    """
    return (
        "// The browser's WebSocket (Node.js 22+ too; in older Node.js first:\n"
        '// globalThis.WebSocket = require("ws"); after npm install ws).\n'
        f"const request = {_js(request)};\n"
        f"const socket = new WebSocket({_js(url)});\n"
        "socket.onopen = () => socket.send(JSON.stringify(request));\n"
        "socket.onmessage = (message) => {\n"
        "  const answer = JSON.parse(message.data);\n"
        "  if (answer.id !== request.id) return;  // the answer to another event\n"
        "  console.log(answer);\n"
        "  socket.close();\n"
        "};\n"
        'socket.onerror = () => console.error("WebSocket connection failed");\n'
    )


def socketio(request: Mapping[str, Any], url: str, path: str = "/socket.io") -> str:
    """JavaScript emitting ``request`` with socket.io-client to the namespace at
    ``url``; it logs the answer (the acknowledgement).
    """
    options = "" if path.strip("/") == "socket.io" else f", {{path: {_js(path)}}}"
    return (
        "// io from socket.io-client: its <script> in a browser; in Node.js:\n"
        '// const { io } = require("socket.io-client"); after npm install socket.io-client.\n'
        f"const request = {_js(request)};\n"
        f"const socket = io({_js(url)}{options});\n"
        'socket.emit("event", request, (answer) => {\n'
        "  console.log(answer);\n"
        "  socket.disconnect();\n"
        "});\n"
    )


def _py(value: Any) -> str:
    """``value`` (JSON) as a Python literal; continuation lines indented for a call."""
    text = pprint.pformat(value, indent=1, width=72, sort_dicts=False)
    return text.replace("\n", "\n        ")


def _js(value: Any) -> str:
    """``value`` (JSON) as a JavaScript literal (JSON is one, since ES2019)."""
    return json.dumps(value, indent=2, ensure_ascii=False)
