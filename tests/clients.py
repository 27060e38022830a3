"""Clients of a running server for end-to-end tests: a raw WebSocket, python-socketio,
and one sender per transport. Test modules import them from here, never from another
test module.
"""

from __future__ import annotations

import contextlib
import json
import queue
import urllib.request
from collections.abc import Iterator
from typing import Any, Callable

import socketio
import websocket  # websocket-client

from flask_events.codec import dumps

#: The Socket.IO namespace of the events.
NS = "/events"


@contextlib.contextmanager
def websocket_connection(server: str) -> Iterator[websocket.WebSocket]:
    """A raw WebSocket on ``server``'s ``/events/ws``, closed on exit."""
    ws = websocket.create_connection(server.replace("http://", "ws://") + "/events/ws", timeout=10)
    try:
        yield ws
    finally:
        ws.close()
        ws.shutdown()  # also after the server closed first


@contextlib.contextmanager
def socketio_client(base: str, transport: str = "polling") -> Iterator[Any]:
    """A python-socketio client on the events namespace, with a queue of what it is sent
    (``sio.received``).

    Long-polling by default: the client library takes 3 s to close a WebSocket.
    """
    sio = socketio.Client()
    received: queue.Queue = queue.Queue()
    sio.on("event", received.put, namespace=NS)
    sio.connect(base, namespaces=[NS], transports=[transport], wait_timeout=10)
    sio.received = received  # type: ignore[attr-defined]
    try:
        yield sio
    finally:
        sio.disconnect()


def socketio_call(sio: Any, env: Any) -> Any:
    """Send ``env`` as an ``event`` and wait for the acknowledgement (the answer)."""
    return sio.call("event", env, namespace=NS, timeout=10)


def http_post(base: str, env: dict) -> Any:
    """POST ``env`` to ``base``'s ``/events``; the answer's JSON."""
    request = urllib.request.Request(f"{base}/events", data=dumps(env), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def http_sender(base: str) -> Iterator[Callable[[str], dict]]:
    def send(text: str) -> dict:
        request = urllib.request.Request(f"{base}/events", data=text.encode(), method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    yield send


@contextlib.contextmanager
def websocket_sender(base: str) -> Iterator[Callable[[str], dict]]:
    with websocket_connection(base) as ws:

        def send(text: str) -> dict:
            ws.send(text)
            return json.loads(ws.recv())

        yield send


@contextlib.contextmanager
def socketio_sender(base: str) -> Iterator[Callable[[str], Any]]:
    sio = socketio.Client()
    sio.connect(base, namespaces=[NS], transports=["websocket"], wait_timeout=10)
    try:
        yield lambda text: sio.call("event", text, namespace=NS, timeout=10)
    finally:
        sio.disconnect()


#: One sender per transport: a context manager of a function sending a text and
#: returning the answer.
SENDERS = {"http": http_sender, "websocket": websocket_sender, "socketio": socketio_sender}
