"""Flask-Events benchmarks: each figure is a ratio against a baseline from the same run.

    python -m bench.run                  # everything, writes bench/RESULTS.md
    python -m bench.run --only core      # one part (repeatable): core | http | batch |
                                         # parallel | websocket | socketio
    python -m bench.run --seconds 10 --rounds 2

(from the repository root). The six benchmarks, with their targets in ``TARGETS``:

(a) core: events/s of the transport-free dispatcher (bytes in, bytes out) against a
    bare loop doing only a dict lookup, a handler call, building the response dict
    and the same JSON library's loads/dumps (msgspec); (a') the same against the bare
    loop on orjson.
(b) http: requests/s of ``POST /events`` under gunicorn (2 sync workers) against a
    bare Flask route parsing and echoing the same envelope in the same server, loaded
    by wrk (Debian package ``wrk``) from a separate process; the two are alternated.
(c) batch: the per-event cost of one batch of 100 trivial events against one single
    request, both over HTTP to the same server (wrk).
(d) parallel: a parallel batch of 20 events whose handlers each wait 50 ms against
    the same batch run in sequence, in-process.
(e) websocket: sequential round trips over one connection to ``/events/ws`` against
    a bare flask-sock endpoint answering the same envelope (``bench/socket_app.py``).
(f) socketio: the same over the ``/events`` Socket.IO namespace against a bare
    Flask-SocketIO handler.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

import msgspec
import orjson

from flask_events import Event
from flask_events.dispatch import Dispatcher
from flask_events.registry import Registry
from tests.servers import free_port, serve

HERE = Path(__file__).resolve().parent

#: The sample envelope of docs/protocol.rst#envelope (the Go library's, with identity and auth).
ENVELOPE = msgspec.json.encode(
    {
        "name": "some event",
        "version": 42,
        "id": "2465a86f-3857-423e-af86-41f67880172f",
        "flowId": "d00a5c99-ea0e-4b39-bfdc-bf1028a9c95f",
        "payload": {"data1": "fsadfsdf", "an_int64": 65484548474984654, "some_float": 1864.4568},
        "metadata": {
            "origin": "Documentation",
            "originId": "RFC-GB 0001",
            "timestamp": 1482162952,
        },
        "identity": {},
        "auth": {},
    }
)


def echo(event: Event) -> object:
    return event.payload


def summary(ours: list[float], bare: list[float], ratios: list[float]) -> dict[str, float]:
    return {
        "ours": statistics.median(ours),
        "baseline": statistics.median(bare),
        "ratio": statistics.median(ratios),
    }


# -- (a) core -------------------------------------------------------------------------


def core_loop(iterations: int) -> float:
    registry = Registry()
    registry.add("some event", 42, echo)
    dispatcher = Dispatcher(registry)
    sender = object()
    handle = dispatcher.handle
    start = time.perf_counter()
    for _ in range(iterations):
        handle(ENVELOPE, sender=sender, max_depth=128)  # as every transport calls it
    return iterations / (time.perf_counter() - start)


#: The JSON libraries a bare baseline may use: Flask-Events' own (msgspec), and orjson,
#: the usual fast choice (its dict encoding is faster than msgspec's).
JSON_LIBRARIES = {
    "msgspec": (msgspec.json.Decoder().decode, msgspec.json.Encoder().encode),
    "orjson": (orjson.loads, orjson.dumps),
}


def bare_core(handlers: dict, library: str = "msgspec") -> Callable[[bytes], bytes]:
    """The baseline core: bytes in, bytes out, doing only a dict lookup, a handler call,
    building the response dict and the JSON library's decode/encode, with no
    validation and no objects.
    """
    loads, dumps = JSON_LIBRARIES[library]

    def handle(data: bytes) -> bytes:
        request = loads(data)
        handler = handlers[(request["name"], request["version"])]
        result = handler(request["payload"])
        return dumps(
            {
                "name": request["name"] + ":response",
                "version": request["version"],
                "id": request["id"],
                "flowId": request["flowId"],
                "payload": result,
                "identity": {},
                "auth": {},
                "metadata": {},
            }
        )

    return handle


def bare_loop(iterations: int, library: str = "msgspec") -> float:
    handle = bare_core({("some event", 42): lambda payload: payload}, library)
    start = time.perf_counter()
    for _ in range(iterations):
        handle(ENVELOPE)
    return iterations / (time.perf_counter() - start)


def bench_core(rounds: int, seconds: float) -> dict[str, dict[str, float]]:
    """(a) against the bare baseline on msgspec (the same library) and on orjson."""
    iterations = 20_000
    # calibrate so that one round of one side takes about `seconds`
    rate = core_loop(iterations)
    iterations = max(iterations, int(rate * seconds))
    ours: list[float] = []
    bare: dict[str, list[float]] = {library: [] for library in JSON_LIBRARIES}
    ratios: dict[str, list[float]] = {library: [] for library in JSON_LIBRARIES}
    for _ in range(rounds):
        for library in JSON_LIBRARIES:
            bare[library].append(bare_loop(iterations, library))
        ours.append(core_loop(iterations))
        for library in JSON_LIBRARIES:
            ratios[library].append(ours[-1] / bare[library][-1])
    return {
        "core": summary(ours, bare["msgspec"], ratios["msgspec"]),
        "core_orjson": summary(ours, bare["orjson"], ratios["orjson"]),
    }


# -- (b) http -------------------------------------------------------------------------

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
"""


def wrk(url: str, seconds: float, script: str, connections: int) -> float:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "-s", script, url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} non-2xx answers\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def wrk_script(body: bytes) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT.format(body=body.decode()))
    return script.name


@functools.cache
def no_control_socket() -> tuple[str, ...]:
    """``("--no-control-socket",)`` where this Python's gunicorn has the option (25.1
    and later; without it each server creates ``~/.gunicorn/gunicorn.ctl``); ``()``
    before.
    """
    from gunicorn.config import KNOWN_SETTINGS

    names = {setting.name for setting in KNOWN_SETTINGS}
    return ("--no-control-socket",) if "control_socket_disable" in names else ()


def gunicorn_command(
    app: str, port: int, options: list[str], chdir: Optional[Path] = None
) -> list[str]:
    """The command serving ``app`` with gunicorn on ``127.0.0.1:port``."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        *no_control_socket(),
        *options,
        "--log-level",
        "warning",
        "-b",
        f"127.0.0.1:{port}",
    ]
    return [*command, "--chdir", str(chdir), app] if chdir else [*command, app]


def gunicorn_server(
    app: str = "bench.http_app:app", options: Optional[list[str]] = None
) -> contextlib.AbstractContextManager[str]:
    """An app of ``bench/`` under gunicorn (by default 2 sync workers) on a free
    loopback port (a context manager of its URL).
    """
    port = free_port()
    options = options if options is not None else ["-w", "2", "-k", "sync"]
    command = gunicorn_command(app, port, options, chdir=HERE.parent)
    return serve(command, port, cwd=HERE.parent)


def bench_http(rounds: int, seconds: float, connections: int = 8) -> dict[str, float]:
    script = wrk_script(ENVELOPE)
    try:
        with gunicorn_server() as base:
            wrk(f"{base}/events", 2, script, connections)  # warm up both
            wrk(f"{base}/bare", 2, script, connections)
            ours, bare, ratios = [], [], []
            for _ in range(rounds):
                bare.append(wrk(f"{base}/bare", seconds, script, connections))
                ours.append(wrk(f"{base}/events", seconds, script, connections))
                ratios.append(ours[-1] / bare[-1])
    finally:
        os.unlink(script)
    return summary(ours, bare, ratios)


# -- (c) batch vs single requests over HTTP, (d) parallel batch speedup ------------------


def batch_body(events: list[dict], parallel: bool) -> bytes:
    return orjson.dumps(
        {
            "name": "batch",
            "version": 1,
            "id": "b",
            "flowId": "f",
            "payload": {"parallel": parallel, "events": events},
        }
    )


def bench_batch_http(rounds: int, seconds: float, connections: int = 8) -> dict[str, float]:
    """Per-event cost of a batch of 100 trivial events against 100 single requests."""
    sub = orjson.loads(ENVELOPE)
    bodies = {"single": ENVELOPE, "batch": batch_body([sub] * 100, parallel=False)}
    with gunicorn_server() as base:
        scripts = {key: wrk_script(body) for key, body in bodies.items()}
        try:
            for script in scripts.values():
                wrk(f"{base}/events", 2, script, connections)
            single, batched, ratios = [], [], []
            for _ in range(rounds):
                single.append(wrk(f"{base}/events", seconds, scripts["single"], connections))
                batched.append(100 * wrk(f"{base}/events", seconds, scripts["batch"], connections))
                ratios.append(single[-1] / batched[-1])  # cost per batched event / per request
        finally:
            for script in scripts.values():
                os.unlink(script)
    return summary(batched, single, ratios)


def bench_parallel(rounds: int) -> dict[str, float]:
    """A parallel batch of 20 events each waiting 50 ms, against the same batch sequential."""
    from bench.http_app import app

    wait = {"name": "io:wait", "version": 1, "id": "w", "flowId": "f", "payload": None}
    dispatcher = app.blueprints["events"].dispatcher
    sequential, parallel, ratios = [], [], []
    with app.app_context():
        for _ in range(rounds):
            timings = []
            for is_parallel in (False, True):
                body = batch_body([wait] * 20, is_parallel)
                start = time.perf_counter()
                reply = dispatcher.handle(body, sender=app)
                timings.append(time.perf_counter() - start)
                assert reply.event.name == "batch:response", reply.body
            sequential.append(timings[0])
            parallel.append(timings[1])
            ratios.append(timings[0] / timings[1])
    return summary(parallel, sequential, ratios)


# -- (e) WebSocket and Socket.IO round trips, one connection ------------------------


def round_trips(send: Callable[[], Any], seconds: float) -> float:
    """Sequential round trips per second over ``seconds``."""
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):
            send()
        count += 50
    return count / (time.perf_counter() - start)


def bench_sockets(rounds: int, seconds: float) -> dict[str, dict[str, float]]:
    """One connection each, sequential round trips of the sample envelope, same server
    (gunicorn, 1 worker with threads, as Flask-SocketIO needs): Flask-Events against
    a bare flask-sock endpoint and a bare Flask-SocketIO handler.
    """
    import socketio
    import websocket

    text = ENVELOPE.decode()
    envelope = msgspec.json.decode(ENVELOPE)
    with gunicorn_server("bench.socket_app:app", ["-w", "1", "--threads", "8"]) as base:
        ws_url = base.replace("http://", "ws://")
        ws_ours = websocket.create_connection(ws_url + "/events/ws", timeout=10)
        ws_bare = websocket.create_connection(ws_url + "/bare/ws", timeout=10)
        sio = socketio.Client()
        sio.connect(base, namespaces=["/events", "/bare"], transports=["websocket"])

        def over_websocket(ws: Any) -> Callable[[], Any]:
            return lambda: (ws.send(text), ws.recv())

        def over_socketio(namespace: str) -> Callable[[], Any]:
            return lambda: sio.call("event", envelope, namespace=namespace, timeout=10)

        pairs = {
            "websocket": (over_websocket(ws_ours), over_websocket(ws_bare)),
            "socketio": (over_socketio("/events"), over_socketio("/bare")),
        }
        results = {}
        try:
            for key, (ours_send, bare_send) in pairs.items():
                round_trips(ours_send, 1)  # warm up
                round_trips(bare_send, 1)
                ours, bare, ratios = [], [], []
                for _ in range(rounds):
                    bare.append(round_trips(bare_send, seconds))
                    ours.append(round_trips(ours_send, seconds))
                    ratios.append(ours[-1] / bare[-1])
                results[key] = summary(ours, bare, ratios)
        finally:
            ws_ours.close()
            ws_bare.close()
            sio.disconnect()
    return results


# -- report ---------------------------------------------------------------------------

#: Each benchmark's target: ("min", x) means ratio >= x, ("max", x) ratio <= x.
TARGETS = {
    "core": ("min", 0.5),
    "core_orjson": ("min", 0.5),
    "http": ("min", 0.9),
    "batch": ("max", 0.2),
    "parallel": ("min", 8),
    "websocket": ("min", 0.85),
    "socketio": ("min", 0.85),
}
LABELS = {
    "core": (
        "(a) core, bytes in → bytes out",
        "events/s",
        "bare loop: dict lookup + handler call + response dict + msgspec decode/encode",
    ),
    "core_orjson": (
        "(a') the same core, against a bare loop on orjson",
        "events/s",
        "bare loop as in (a), with orjson.loads/orjson.dumps instead",
    ),
    "http": (
        "(b) `POST /events`, gunicorn 2 sync workers, wrk -t1 -c8",
        "req/s",
        "bare Flask route parsing and echoing the envelope, same server",
    ),
    "batch": (
        "(c) per-event cost: one batch of 100 trivial events over HTTP (same server)",
        "events/s",
        "100 single requests; ratio = cost of a batched event / cost of a request",
    ),
    "parallel": (
        "(d) parallel batch of 20 events each waiting 50 ms on I/O, default worker cap",
        "s per batch",
        "the same batch sequential; ratio = speedup",
    ),
    "websocket": (
        "(e) WebSocket `/events/ws`, one connection, sequential round trips",
        "msg/s",
        "bare flask-sock endpoint parsing and answering the envelope, same server",
    ),
    "socketio": (
        "(f) Socket.IO namespace `/events`, one connection, sequential acked emits",
        "msg/s",
        "bare Flask-SocketIO handler doing the same, same server",
    ),
}


NOTES = """
Notes:

- Every ratio compares two things measured in the same process run, alternating, on
  the same machine: the machine is shared, so absolute figures vary from run to run
  by 10% or more; the ratios much less.
- (a) and (a') time `Dispatcher.handle` (the transport-free core every transport
  uses) on the docs/protocol.rst#envelope sample envelope, against a bare function that only
  decodes, looks the handler up, calls it, builds the response dict and encodes.
  They include the nesting check every transport asks for (`max_depth=128`, the
  `EVENTS_MAX_DEPTH` default): about 0.25 µs of the ~2.3 µs per event (the ratio
  was 0.67 without it).
- (b) loads both routes of `bench/http_app.py` with wrk from a separate process.
- (c) sends the same trivial event 100 times in one batch (`parallel: false`).
- (d) runs in-process through the blueprint's dispatcher; the handler sleeps 50 ms.
- (e) and (f) serve `bench/socket_app.py` under gunicorn (1 worker, 8 threads, as
  Flask-SocketIO's threading mode needs) and talk to it over one connection each
  (websocket-client; python-socketio's client over its WebSocket transport).
"""


def report(results: dict[str, dict[str, float]], command: str, rounds: int, seconds: float) -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError, AttributeError):
        cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text()).group(1)
    lines = [
        "# Benchmark results",
        "",
        f"Command: `{command}`  ",
        f"Date: {datetime.date.today().isoformat()}; Python {platform.python_version()}; "
        f"{os.cpu_count()} cores ({cpu}); {rounds} rounds per benchmark, each side "
        f"measured for {seconds:g} s per round (core: at most 3 s), alternating; the "
        "figures are medians, the ratio is the median of the per-round ratios.",
        "",
        "| benchmark | Flask-Events | baseline | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for key, result in results.items():
        title, unit, baseline = LABELS[key]
        kind, target = TARGETS[key]
        met = result["ratio"] >= target if kind == "min" else result["ratio"] <= target
        fmt = ",.3f" if key == "parallel" else ",.0f"
        lines.append(
            f"| {title} | {result['ours']:{fmt}} {unit} | {result['baseline']:{fmt}} {unit} "
            f"({baseline}) | {result['ratio']:.2f} | {'>=' if kind == 'min' else '<='} "
            f"{target} | {'yes' if met else 'NO'} |"
        )
    return "\n".join(lines) + "\n" + NOTES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", choices=[key for key in TARGETS if key != "core_orjson"], action="append"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--output", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args()
    parts = args.only or [key for key in TARGETS if key != "core_orjson"]
    results = {}
    if "core" in parts or "core_orjson" in parts:
        results.update(bench_core(args.rounds, min(args.seconds, 3.0)))
        print("core:", results["core"], results["core_orjson"], flush=True)
    if "http" in parts:
        results["http"] = bench_http(args.rounds, args.seconds)
        print("http:", results["http"], flush=True)
    if "batch" in parts:
        results["batch"] = bench_batch_http(args.rounds, args.seconds)
        print("batch:", results["batch"], flush=True)
    if "parallel" in parts:
        results["parallel"] = bench_parallel(args.rounds)
        print("parallel:", results["parallel"], flush=True)
    if "websocket" in parts or "socketio" in parts:
        sockets = bench_sockets(args.rounds, min(args.seconds, 5.0))
        results.update({key: sockets[key] for key in ("websocket", "socketio") if key in parts})
        print("sockets:", sockets, flush=True)
    command = "python -m bench.run " + " ".join(sys.argv[1:])
    text = report(results, command.strip(), args.rounds, args.seconds)
    Path(args.output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
