"""Start real server processes on free loopback ports for end-to-end tests."""

from __future__ import annotations

import contextlib
import functools
import os
import select
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
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
    command: list[str],
    port: int,
    env: Optional[dict[str, str]] = None,
    cwd: Path = ROOT,
    log: Optional[Path] = None,
) -> Iterator[str]:
    """Run a server ``command`` listening on ``port``; yield its base URL; stop it (by
    its PID). Its stdout and stderr go to ``log`` when given, else nowhere.
    """
    with open(log, "ab") if log is not None else contextlib.nullcontext() as out:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=out if out is not None else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if out is not None else subprocess.DEVNULL,
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
    with serve(command, port, env, cwd, log):
        yield port


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
    command += ["--timeout", "10", "-b", f"127.0.0.1:{port}", *gunicorn_no_control_socket(), app]
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


class RedisControl:
    """A ``redis-server`` on a fixed free loopback port that a test can stop and start
    again on the same port, or pause (SIGSTOP: it accepts connections and answers
    nothing) and resume (SIGCONT); always signalled by its PID.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: Optional[subprocess.Popen] = None
        self.paused = False

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port, self.process)

    def stop(self) -> None:
        if self.process is None:
            return
        self.resume()  # a stopped process would not act on SIGTERM
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def pause(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self.process is not None and self.paused:
            os.kill(self.process.pid, signal.SIGCONT)
        self.paused = False


@contextlib.contextmanager
def controlled_redis() -> Iterator[RedisControl]:
    """Run a :class:`RedisControl` (started); resume and stop it at the end."""
    redis = RedisControl()
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


# A misbehaving HTTP server (for the client's tests): each answer is a function
# ``answer(conn, stop)`` writing whatever bytes it likes on the connection, returning (or
# raising OSError when the client has gone) once done or once ``stop`` is set.
RawAnswer = Callable[[socket.socket, threading.Event], None]


def _read_raw_request(conn: socket.socket) -> bytes:
    """Read one HTTP request's head and its Content-Length bytes of body; return the
    head (empty when the client closed first).
    """
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head


@contextlib.contextmanager
def raw_http_server(answer: RawAnswer, heads: Optional[list[bytes]] = None) -> Iterator[str]:
    """Serve ``answer`` to every request, each connection in its own thread, on a free
    loopback port; yield the base URL; then stop every thread (within a few seconds).
    Each request's head (request line and headers) is appended to ``heads`` when given.
    """
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    handlers: list[threading.Thread] = []
    conns: list[socket.socket] = []

    def handle(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(10)
            head = _read_raw_request(conn)
            if heads is not None:
                heads.append(head)
            answer(conn, stop)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conns.append(conn)
            handler = threading.Thread(target=handle, args=(conn,), daemon=True)
            handler.start()
            handlers.append(handler)

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        acceptor.join(5)
        listener.close()
        for conn in conns:  # wakes a handler blocked writing to a client that left
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for handler in handlers:
            handler.join(5)


def raw_head(status: str = "200 OK", **headers: Any) -> bytes:
    """An HTTP/1.1 response head: ``content_length=3`` becomes ``Content-Length: 3``."""
    lines = [f"HTTP/1.1 {status}"]
    lines += [f"{name.replace('_', '-').title()}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def raw_send(data: bytes) -> RawAnswer:
    """An answer that writes ``data`` at once and closes."""

    def answer(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(data)

    return answer


def raw_drip(data: bytes, interval: float, start: int = 0) -> RawAnswer:
    """An answer that writes ``data[:start]`` at once, then one byte every ``interval``
    seconds.
    """

    def answer(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(data[:start])
        for index in range(start, len(data)):
            if stop.wait(interval):
                return
            conn.sendall(data[index : index + 1])

    return answer


def raw_stall(data: bytes = b"") -> RawAnswer:
    """An answer that writes ``data`` (nothing by default), then writes nothing more and
    keeps the connection open until the server stops.
    """

    def answer(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(data)
        stop.wait(120)

    return answer


def raw_stream(
    head: bytes, chunk: bytes, count: int, sent: Optional[list[int]] = None
) -> RawAnswer:
    """An answer that writes ``head``, then ``chunk`` up to ``count`` times (as fast as
    the client reads), adding the bytes written to ``sent[0]`` when given.
    """

    def answer(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(head)
        for _ in range(count):
            if stop.is_set():
                return
            conn.sendall(chunk)
            if sent is not None:
                sent[0] += len(chunk)

    return answer


class DrippingRedis:
    """A fake Redis on a free loopback port, served by threads of this process: it
    answers HELLO (RESP3) and the other commands at once, and PUBLISH with
    ``:1\\r\\n`` at once too, unless :attr:`drip` is set: then with ``:00...01\\r\\n``
    (``length`` bytes), one byte every ``interval`` seconds.
    """

    def __init__(self, interval: float, length: int) -> None:
        self.interval = interval
        self.length = length
        self.drip = True
        #: Set when a client closed its connection while a reply dripped to it.
        self.cut_short = threading.Event()
        self.stopping = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)
        self.url = f"redis://127.0.0.1:{self.listener.getsockname()[1]}/0"
        self.threads: list[threading.Thread] = []
        self.conns: list[socket.socket] = []

    def _command(self, reader: Any) -> Optional[list[bytes]]:
        """One command (a RESP array of bulk strings), ``None`` at the end."""
        line = reader.readline()
        if not line.startswith(b"*"):
            return None
        words = []
        for _ in range(int(line[1:])):
            size = int(reader.readline()[1:])
            words.append(reader.read(size + 2)[:size])
        return words

    def _drip(self, conn: socket.socket, reply: bytes) -> None:
        for index in range(len(reply)):
            conn.sendall(reply[index : index + 1])
            if index + 1 == len(reply):
                return
            readable, _, _ = select.select([conn], [], [], self.interval)
            if self.stopping.is_set():
                return
            if readable and not conn.recv(1, socket.MSG_PEEK):
                self.cut_short.set()  # the client closed: nobody reads the rest
                return

    def _handle(self, conn: socket.socket) -> None:
        hello = b"%3\r\n+server\r\n+redis\r\n+version\r\n+7.0.0\r\n+proto\r\n:3\r\n"
        with conn, contextlib.suppress(OSError, ValueError), conn.makefile("rb") as reader:
            while not self.stopping.is_set():
                words = self._command(reader)
                if words is None:
                    return
                name = words[0].upper()
                if name == b"PUBLISH" and self.drip:
                    self._drip(conn, b":" + b"0" * (self.length - 4) + b"1\r\n")
                elif name == b"PUBLISH":
                    conn.sendall(b":1\r\n")
                else:
                    conn.sendall(hello if name == b"HELLO" else b"+OK\r\n")

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(30)
            self.conns.append(conn)
            handler = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            handler.start()
            self.threads.append(handler)

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()
        for conn in self.conns:  # wakes a handler waiting for a command
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self.threads:
            thread.join(5)


@contextlib.contextmanager
def dripping_redis(interval: float = 0.5, length: int = 40) -> Iterator[DrippingRedis]:
    """Run a :class:`DrippingRedis` (dripping); stop its threads at the end."""
    server = DrippingRedis(interval, length)
    acceptor = threading.Thread(target=server._accept, daemon=True)
    acceptor.start()
    server.threads.append(acceptor)
    try:
        yield server
    finally:
        server.stop()


@functools.cache
def gunicorn_no_control_socket() -> tuple[str, ...]:
    """``("--no-control-socket",)`` where this Python's gunicorn has the option (25.1
    and later: otherwise every server would create ``~/.gunicorn/gunicorn.ctl``, a path
    shared by every test and outside their temporary directories); ``()`` before.
    """
    from gunicorn.config import KNOWN_SETTINGS

    names = {setting.name for setting in KNOWN_SETTINGS}
    return ("--no-control-socket",) if "control_socket_disable" in names else ()


def flask_command(app: str, *args: Any) -> subprocess.CompletedProcess[str]:
    """Run ``python -m flask --app APP ARGS...`` as a real subprocess from the
    repository's root (60 s at most); its output captured as text.
    """
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", app, *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


JS = ROOT / "tests" / "js"


def node_with_js_modules() -> str:
    """The path of ``node``, once ``tests/js/node_modules`` holds every package
    ``tests/js/package.json`` lists (``npm install`` from its package-lock when one is
    missing, as on a fresh clone); skip without node and npm, or fail in CI.
    """
    import json
    import shutil

    import pytest

    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        if os.environ.get("CI"):
            pytest.fail("CI must have node and npm", pytrace=False)
        pytest.skip("node and npm are needed")
    wanted = json.loads((JS / "package.json").read_text())["dependencies"]
    if not all((JS / "node_modules" / name).exists() for name in wanted):
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--silent"],
            cwd=JS,
            check=True,
            timeout=300,
        )
    return node


def flask_command_in(cwd: Path, *args: Any) -> subprocess.CompletedProcess[str]:
    """Like :func:`flask_command`, from the directory ``cwd``, with the repository on
    ``PYTHONPATH`` so ``example_app`` and the test apps still import.
    """
    paths = [os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []
    return subprocess.run(
        [sys.executable, "-m", "flask", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *paths])},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


#: Put before a JavaScript snippet by :func:`run_js_snippet`: a browser's ``WebSocket``
#: (from ws), ``io`` (from socket.io-client) and ``crypto`` (node's, each
#: ``randomUUID()`` also written to ``randomUUID.txt`` beside the script);
#: ``console.log`` writes its arguments as one JSON line, and node exits 0 once
#: ``$JS_SNIPPET_ANSWERS`` distinct ``id`` values were logged (in any argument), 2 after
#: 30 s.
JS_SNIPPET_PRELUDE = """\
"use strict";
globalThis.WebSocket = require("ws");
globalThis.io = require("socket.io-client").io;
const nodeCrypto = require("node:crypto");
Object.defineProperty(globalThis, "crypto", {value: {
  getRandomValues: (array) => nodeCrypto.getRandomValues(array),
  randomUUID: () => {
    const uuid = nodeCrypto.randomUUID();
    require("node:fs").appendFileSync(`${__dirname}/randomUUID.txt`, uuid + "\\n");
    return uuid;
  },
}, configurable: true, writable: true});
const snippetIdsSeen = new Set();
const snippetTimer = setTimeout(() => process.exit(2), 30000);
console.log = (...args) => {
  process.stdout.write(JSON.stringify(args) + "\\n");
  for (const arg of args) if (arg && arg.id !== undefined) snippetIdsSeen.add(arg.id);
  if (snippetIdsSeen.size >= Number(process.env.JS_SNIPPET_ANSWERS)) {
    clearTimeout(snippetTimer);
    process.exit(0);
  }
};
"""


def run_node(
    script: Path, *args: Any, cwd: Path, timeout: float, **env_extra: str
) -> subprocess.CompletedProcess:
    """Run ``script`` under node with ``args``, resolving packages from
    ``tests/js/node_modules``, without proxies (traffic stays on 127.0.0.1), with
    ``env_extra`` in its environment; the completed process, its output as text.
    """
    env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
    env.update(NODE_PATH=str(JS / "node_modules"), **env_extra)
    return subprocess.run(
        [node_with_js_modules(), str(script), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def run_js_snippet(snippet: str, workdir: Path, expected_answers: int) -> list[list[Any]]:
    """Run a JavaScript ``snippet`` (a README or docs block, its URLs already pointing
    at a running server) under node as a browser would, in ``workdir``: with
    :data:`JS_SNIPPET_PRELUDE` before it, until ``expected_answers`` objects with
    distinct ids were logged. Return every ``console.log`` call's arguments, in order;
    fail when node does not exit 0 (the answers did not come within 30 s).
    """
    import json

    script = workdir / "snippet.js"
    script.write_text(JS_SNIPPET_PRELUDE + snippet)
    result = run_node(script, cwd=workdir, timeout=90, JS_SNIPPET_ANSWERS=str(expected_answers))
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return [json.loads(line) for line in result.stdout.splitlines()]


def gunicorn_gevent_command(
    port: int, app: str = "example_app:create_app()", worker_connections: int = 1000
) -> list[str]:
    """The command line docs/transports.rst recommends for many connections: gunicorn,
    one gevent worker, ``worker_connections`` connections at most, on ``port`` of
    127.0.0.1 (without ``--no-control-socket`` where gunicorn lacks it).
    """
    command = ["gunicorn", "-k", "gevent", "-w", "1", *gunicorn_no_control_socket()]
    command += ["--worker-connections", str(worker_connections)]
    return [*command, "-b", f"127.0.0.1:{port}", app]


@contextlib.contextmanager
def gunicorn_gevent(
    app: str = "example_app:create_app()",
    env: Optional[dict[str, str]] = None,
    worker_connections: int = 1000,
    log: Optional[Path] = None,
) -> Iterator[str]:
    """Run :func:`gunicorn_gevent_command` (this Python's gunicorn) on a free port; yield
    its base URL; stop it by its PID. Its output goes to ``log`` when given.
    """
    port = free_port()
    _, *args = gunicorn_gevent_command(port, app, worker_connections)
    with serve([sys.executable, "-m", "gunicorn", *args], port, env, log=log) as url:
        yield url


def wait_until(check: Callable[[], bool], timeout: float = 30) -> bool:
    """Poll ``check`` every 50 ms until it holds or ``timeout`` seconds pass; whether
    it held (checked once more at the end)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def run_python(source: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``source`` (dedented) in a fresh interpreter of this virtualenv, as the
    gevent tests do after monkey-patching there; it must succeed (else its stderr is
    the failure). The completed process, its output as text.
    """
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result
