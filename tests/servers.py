"""Start real server processes on free loopback ports for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


@contextlib.contextmanager
def serve(
    command: list[str], port: int, env: Optional[dict[str, str]] = None, cwd: Path = ROOT
) -> Iterator[str]:
    """Run a server ``command`` listening on ``port``; yield its base URL; stop it."""
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def flask_server(app: str, env: Optional[dict[str, str]] = None) -> Iterator[str]:
    """Run ``flask --app APP run`` on a free port (a context manager of its URL)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        app,
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-reload",
    ]
    return serve(command, port, {"FLASK_DEBUG": "0", **(env or {})})


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Run ``redis-server`` (Debian's package) on a free port; yield its URL; stop it."""
    port = free_port()
    command = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
    ]
    with serve(command, port):
        yield f"redis://127.0.0.1:{port}/0"


@contextlib.contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Serve ``app`` with werkzeug's threaded server in this process, so a test sees
    its logs and signals; yield the base URL; stop it.
    """
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


@contextlib.contextmanager
def serve_logging_to(
    command: list[str],
    port: int,
    log: Path,
    env: Optional[dict[str, str]] = None,
    cwd: Path = ROOT,
) -> Iterator[int]:
    """Like :func:`serve`, with the server's stdout and stderr written to ``log``;
    yield the port.
    """
    with open(log, "ab") as out:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def logged_server(
    kind: str, app: str, log: Path, cwd: Path = ROOT
) -> contextlib.AbstractContextManager[int]:
    """Serve ``app`` ("module:attribute", imported from ``cwd``) on a free port with its
    log in ``log``, under ``kind``: "gthread" or "sync" (gunicorn, one worker) or
    "werkzeug" (the dev server, threaded); a context manager of the port.
    """
    port = free_port()
    if kind == "werkzeug":
        module, _, attribute = app.partition(":")
        command = [sys.executable, "-m", "flask", "--app", f"{module}:{attribute}", "run"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--no-reload"]
        return serve_logging_to(command, port, log, {"FLASK_DEBUG": "0"}, cwd)
    # (more than one thread would turn a sync worker into a gthread one)
    threads = "4" if kind == "gthread" else "1"
    command = [sys.executable, "-m", "gunicorn", "-k", kind, "-w", "1", "--threads", threads]
    command += ["--timeout", "10", "-b", f"127.0.0.1:{port}", app]
    return serve_logging_to(command, port, log, cwd=cwd)


def raw_exchange(port: int, request: bytes, *, half_close: bool = True) -> bytes:
    """Send ``request`` bytes on a new connection to ``port``, half-close it (unless
    told not to) and return everything the server sends until it closes.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(request)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
        return answer
