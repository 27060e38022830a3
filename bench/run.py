"""Flask-Events benchmarks: each figure is a ratio against a baseline from the same run.

    python -m bench.run                  # everything, recorded (bench/record.py)
    python -m bench.run --only core      # one part (repeatable): core | http | batch |
                                         # parallel | websocket | socketio; its rows
                                         # replace theirs in the recorded section
    python -m bench.run --rounds 2 --seconds 2 --no-record    # a trial: prints only
    python -m bench.run --rounds 2 --seconds 2 --output /tmp/r.md  # a trial, rendered

(from the repository root). The benchmarks, with their targets in ``TARGETS``:

(a) core: events/s of the transport-free dispatcher (bytes in, bytes out) against a
    bare loop doing only a dict lookup, a handler call, building the response dict
    and the same JSON library's loads/dumps (msgspec); (a') the same against the bare
    loop on orjson.
(b) http: requests/s of ``POST /events`` under gunicorn (2 sync workers) against a
    bare Flask route parsing and echoing the same envelope in the same server, loaded
    by wrk (Debian package ``wrk``) from a separate process; the two are alternated,
    and every answer of both is checked (``WRK_SCRIPT``).
(c) batch: the per-event cost of one batch of 100 trivial events against one single
    request, both over HTTP to the same server (wrk, answers checked).
(d) parallel: a parallel batch of 20 events whose handlers each wait 50 ms against
    the same batch run in sequence, in-process.
(e) websocket: sequential round trips over one connection to ``/events/ws`` against
    a bare flask-sock endpoint answering the same envelope (``bench/socket_app.py``).
(f) socketio: the same over the ``/events`` Socket.IO namespace against a bare
    Flask-SocketIO handler; (f') the same against a bare handler doing the JSON work
    our transport does.

Each row records its own rounds, time per side, date and commit: a run with ``--only``
merges its rows into the last recorded ones.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Optional

import msgspec
import orjson

from bench import record
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


def summary(
    ours: list[float], bare: list[float], ratios: list[float], per_side: str, seconds: float
) -> dict[str, Any]:
    """A benchmark's row: medians over the rounds, the per-round ratios' median and
    range, the rounds, and what one side got per round (``per_side``; ``seconds``:
    its duration in seconds, as measured).
    """
    return {
        "ours": statistics.median(ours),
        "baseline": statistics.median(bare),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "rounds": len(ratios),
        "per_side": per_side,
        "seconds": round(seconds, 2),
        "notes": [],
    }


# -- (a) core -------------------------------------------------------------------------


def core_loop(iterations: int) -> float:
    """Events/s of ``Dispatcher.handle`` over ``iterations`` events."""
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


def bench_core(rounds: int, seconds: float) -> dict[str, dict[str, Any]]:
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
    rows = {}
    for key, library in (("core", "msgspec"), ("core_orjson", "orjson")):
        ours_s = iterations / statistics.median(ours)
        bare_s = iterations / statistics.median(bare[library])
        per_side = f"{iterations:,} events (ours {ours_s:.1f} s, baseline {bare_s:.1f} s)"
        rows[key] = summary(ours, bare[library], ratios[library], per_side, ours_s)
    return rows


# -- (b) http -------------------------------------------------------------------------

#: wrk's script: POST the body, and check every answer — wrk's own check sees only
#: the status, and an events answer is 200 whatever it says (``badRequest`` too). An
#: answer is good when its status is 200 and its body holds EXPECTED exactly COUNT
#: times (the response event's name: once, 100 times in a batch's answer); ``done()``
#: prints the counts. Reading every body costs wrk's side 2-4% of the rate, the same
#: on both sides of a ratio, as both run this script.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [==[BODY]==]
wrk.headers["Content-Type"] = "application/json"

local expected = [==[EXPECTED]==]
local threads = {}
good, bad = 0, 0

function setup(thread)
  table.insert(threads, thread)
end

function response(status, headers, body)
  local found, at = 0, 1
  while true do
    local first, last = string.find(body, expected, at, true)
    if not first then break end
    found, at = found + 1, last + 1
  end
  if status == 200 and found == COUNT then good = good + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
  local g, b = 0, 0
  for _, thread in ipairs(threads) do
    g, b = g + thread:get("good"), b + thread:get("bad")
  end
  io.write(string.format("CHECKED: %d good, %d bad\\n", g, b))
end
"""

#: What every answer of the HTTP benchmarks holds: the sample event's response name.
EXPECTED = '"name":"some event:response"'


class Checked:
    """The answers wrk checked, summed over runs (``good``, ``bad``), and the CPU time
    wrk used (``client_cpu``, seconds) for ``requests`` requests."""

    def __init__(self) -> None:
        self.good = self.bad = self.requests = 0
        self.client_cpu = 0.0

    def note(self, side: str) -> str:
        per = self.client_cpu / self.requests * 1e6 if self.requests else 0.0
        return (
            f"{side}: {self.good:,} answers checked, {self.bad} bad; "
            f"wrk used {per:.0f} µs of CPU per request"
        )


def wrk(
    url: str, seconds: float, script: str, connections: int, checked: Optional[Checked] = None
) -> float:
    """Requests/s of wrk (one thread) on ``url`` for ``seconds`` (whole, at least 1).

    :raises RuntimeError: an answer was not 2xx, or not the expected event
        (``WRK_SCRIPT``): the benchmark fails rather than measure errors.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{wrk_seconds(seconds)}s", "-s", script, url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} non-2xx answers\n{out}")
    counts = re.search(r"CHECKED: (\d+) good, (\d+) bad", out)
    if counts is None or int(counts.group(2)) or not int(counts.group(1)):
        raise RuntimeError(f"{url}: answers not as expected ({EXPECTED!r})\n{out}")
    requests = re.search(r"(\d+) requests in", out)
    if checked is not None:
        checked.good += int(counts.group(1))
        checked.bad += int(counts.group(2))
        checked.requests += int(requests.group(1)) if requests else 0
        checked.client_cpu += (after.ru_utime + after.ru_stime) - (
            before.ru_utime + before.ru_stime
        )
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def wrk_seconds(seconds: float) -> int:
    """The whole seconds wrk runs for ``seconds`` (its ``-d`` takes no fractions)."""
    return max(1, round(seconds))


def wrk_script(body: bytes, count: int = 1) -> str:
    """A wrk script file POSTing ``body``, whose every answer must hold the sample
    event's response name ``count`` times."""
    text = WRK_SCRIPT.replace("BODY", body.decode()).replace("EXPECTED", EXPECTED)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(text.replace("COUNT", str(count)))
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


def bench_http(rounds: int, seconds: float, connections: int = 8) -> dict[str, Any]:
    script = wrk_script(ENVELOPE)
    checked = {"ours": Checked(), "baseline": Checked()}
    try:
        with gunicorn_server() as base:
            wrk(f"{base}/events", 2, script, connections)  # warm up both
            wrk(f"{base}/bare", 2, script, connections)
            ours, bare, ratios = [], [], []
            for _ in range(rounds):
                bare.append(wrk(f"{base}/bare", seconds, script, connections, checked["baseline"]))
                ours.append(wrk(f"{base}/events", seconds, script, connections, checked["ours"]))
                ratios.append(ours[-1] / bare[-1])
    finally:
        os.unlink(script)
    row = summary(ours, bare, ratios, f"{wrk_seconds(seconds)} s", wrk_seconds(seconds))
    row["notes"] = [checked[side].note(side) for side in ("ours", "baseline")]
    return row


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


def bench_batch_http(rounds: int, seconds: float, connections: int = 8) -> dict[str, Any]:
    """Per-event cost of a batch of 100 trivial events against 100 single requests."""
    sub = orjson.loads(ENVELOPE)
    bodies = {"single": (ENVELOPE, 1), "batch": (batch_body([sub] * 100, parallel=False), 100)}
    checked = {"batch": Checked(), "single": Checked()}
    with gunicorn_server() as base:
        scripts = {key: wrk_script(body, count) for key, (body, count) in bodies.items()}
        try:
            for script in scripts.values():
                wrk(f"{base}/events", 2, script, connections)

            def rate(key: str) -> float:
                return wrk(f"{base}/events", seconds, scripts[key], connections, checked[key])

            single, batched, ratios = [], [], []
            for _ in range(rounds):
                single.append(rate("single"))
                batched.append(100 * rate("batch"))
                ratios.append(single[-1] / batched[-1])  # cost per batched event / per request
        finally:
            for script in scripts.values():
                os.unlink(script)
    row = summary(batched, single, ratios, f"{wrk_seconds(seconds)} s", wrk_seconds(seconds))
    row["notes"] = [checked[side].note(side) for side in ("batch", "single")]
    return row


def bench_parallel(rounds: int) -> dict[str, Any]:
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
    return summary(parallel, sequential, ratios, "1 batch", statistics.median(sequential))


# -- (e) WebSocket and (f) Socket.IO round trips, one connection ---------------------

#: The slice of a socket round: the sides take turns of this many seconds, in mirrored
#: order (A B B A ...), so that what the shared machine does meanwhile falls on every
#: side alike. One block of 5 s per side and round spread the per-round ratios of (f)
#: about four times as wide (standard deviation 0.013, against 0.003 in slices,
#: when this was chosen).
SLICE = 0.5


def round_trips(send: Callable[[], Any], seconds: float) -> tuple[int, float]:
    """Sequential round trips for about ``seconds``: their count and the seconds taken."""
    count, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(10):
            send()
        count += 10
    return count, time.perf_counter() - start


def sliced_round(sides: dict[str, Callable[[], Any]], seconds: float) -> dict[str, float]:
    """One round: each side gets ``seconds`` in slices of :data:`SLICE`, the sides taking
    turns in mirrored order (A B C C B A ...); round trips per second of each, and the
    seconds each took (``"<side> seconds"``).
    """
    counts = dict.fromkeys(sides, 0)
    elapsed = dict.fromkeys(sides, 0.0)
    order = list(sides)
    for turn in range(max(1, round(seconds / SLICE))):
        for side in order if turn % 2 == 0 else order[::-1]:
            count, took = round_trips(sides[side], SLICE)
            counts[side] += count
            elapsed[side] += took
    rates: dict[str, float] = {side: counts[side] / elapsed[side] for side in sides}
    rates.update({f"{side} seconds": elapsed[side] for side in sides})
    return rates


def socket_rows(
    sides: dict[str, Callable[[], Any]], baselines: dict[str, str], rounds: int, seconds: float
) -> dict[str, dict[str, Any]]:
    """Rounds of :func:`sliced_round` over ``sides`` (``"ours"`` and its baselines):
    a row per ``{key: baseline side}`` of ``baselines``, with the client's CPU per
    round trip (this process: the client) in its notes.
    """
    for send in sides.values():
        round_trips(send, 1)  # warm up
    runs = []
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(rounds):
        runs.append(sliced_round(sides, seconds))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    trips = sum(run[side] * run[f"{side} seconds"] for run in runs for side in sides)
    client = (
        f"client (this process, one thread): {cpu / trips * 1e6:.0f} µs of CPU per round "
        f"trip of {wall / trips * 1e6:.0f} µs"
    )
    slices = max(1, round(seconds / SLICE))
    rows = {}
    for key, baseline in baselines.items():
        ours = [run["ours"] for run in runs]
        bare = [run[baseline] for run in runs]
        took = statistics.median(run[f"{side} seconds"] for run in runs for side in sides)
        per_side = f"{took:.1f} s ({slices} slices of {SLICE:g} s)"
        rows[key] = summary(ours, bare, [a / b for a, b in zip(ours, bare)], per_side, took)
        rows[key]["notes"] = [client]
    return rows


def bench_sockets(rounds: int, seconds: float, parts: list[str]) -> dict[str, dict[str, Any]]:
    """One connection each, sequential round trips of the sample envelope, same server
    (gunicorn, 1 worker with threads, as Flask-SocketIO needs): Flask-Events against
    a bare flask-sock endpoint, and against a bare Flask-SocketIO handler and one doing
    our JSON work (``bench/socket_app.py``).
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
        sio.connect(base, namespaces=["/events", "/bare", "/barejson"], transports=["websocket"])

        def over_websocket(ws: Any) -> Callable[[], Any]:
            return lambda: (ws.send(text), ws.recv())

        def over_socketio(namespace: str) -> Callable[[], Any]:
            return lambda: sio.call("event", envelope, namespace=namespace, timeout=10)

        results = {}
        try:
            if "websocket" in parts:
                sides = {"ours": over_websocket(ws_ours), "bare": over_websocket(ws_bare)}
                results.update(socket_rows(sides, {"websocket": "bare"}, rounds, seconds))
            if "socketio" in parts:
                sides = {
                    "ours": over_socketio("/events"),
                    "bare": over_socketio("/bare"),
                    "barejson": over_socketio("/barejson"),
                }
                baselines = {"socketio": "bare", "socketio_json": "barejson"}
                results.update(socket_rows(sides, baselines, rounds, seconds))
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
    "socketio": ("min", 0.9),
    "socketio_json": ("min", 0.9),
}
#: What ``--only`` names: a part measures these rows.
PARTS = {
    "core": ["core", "core_orjson"],
    "http": ["http"],
    "batch": ["batch"],
    "parallel": ["parallel"],
    "websocket": ["websocket"],
    "socketio": ["socketio", "socketio_json"],
}
#: The rounds of each part by default (``--rounds`` sets them all): (f) is reported
#: over at least 5.
ROUNDS = {"core": 3, "http": 3, "batch": 3, "parallel": 3, "websocket": 5, "socketio": 5}
#: The most seconds per side and round of a part, whatever ``--seconds`` says.
MAX_SECONDS = {"core": 3.0, "websocket": 5.0, "socketio": 5.0}
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
        "bare Flask-SocketIO handler answering the envelope, same server",
    ),
    "socketio_json": (
        "(f') the same round trips, against a bare handler doing our JSON work",
        "msg/s",
        "bare Flask-SocketIO handler that also encodes the envelope, decodes it, "
        "encodes the answer and decodes that, as our transport does",
    ),
}


NOTES = """
Notes:

- Each row is the last run of its benchmark (a run with `--only` replaces only its
  own rows), with its own rounds, time per side and round, date and commit. The
  figures are medians over the rounds; the ratio is the median of the per-round
  ratios, with their range (min-max).
- (a) and (a') time `Dispatcher.handle` (the transport-free core every transport
  uses) on the sample envelope of `docs/protocol.rst#envelope`, against a bare
  function that only decodes, looks the handler up, calls it, builds the response
  dict and encodes; both sides run the same number of events per round. They include
  the nesting check every transport asks for (`max_depth=128`, the `EVENTS_MAX_DEPTH`
  default).
- (b) loads both routes of `bench/http_app.py` with wrk from a separate process; (c)
  sends the same trivial event 100 times in one batch (`parallel: false`). wrk's own
  check sees only the status, and an events answer is 200 whatever it says
  (`badRequest` too), so in (b) and (c) wrk's script also reads every answer: it
  must hold the sample event's response name (`"name":"some event:response"`; 100
  times in a batch's answer), else the benchmark fails and nothing is recorded. Both
  sides of each ratio run the same check, which costs each side 2-4% of its rate
  (measured on this machine with and without it). The counts are in the rows' notes
  below, with wrk's CPU time per request.
- (d) runs in-process through the blueprint's dispatcher; the handler sleeps 50 ms.
- (e), (f) and (f') serve `bench/socket_app.py` under gunicorn (1 worker, 8 threads,
  as Flask-SocketIO's threading mode needs) and talk to it over one connection each
  (websocket-client; python-socketio's client over its WebSocket transport), at
  most 5 s per side and round. In a round the sides take turns of 0.5 s in mirrored
  order (A B B A ..., for (f) and (f') ours and both baselines: A B C C B A ...), so
  that the shared machine's other work falls on each side alike.
- The clients (wrk, and this script's process for (e), (f) and (f')) run on the same
  2 cores as the servers: the CPU time they used is in the rows' notes.
- (f) is against a bare handler answering the object python-socketio decoded. Ours
  does more JSON work on that path: it encodes the object for the core (which decodes
  it and encodes the answer) and decodes the answer for python-socketio to send;
  (f') is against a bare handler doing that same work with the same library
  (msgspec).
"""


def fmt(value: float, key: str) -> str:
    return f"{value:,.3f}" if key == "parallel" else f"{value:,.0f}"


def report(rows: dict[str, dict[str, Any]]) -> str:
    """The section's body: the table of ``rows``, the commands of rows from other runs
    than the last, the notes and each row's notes."""
    lines = [
        "| benchmark | Flask-Events | baseline | ratio: median (min-max) | target | met "
        "| rounds x per side and round | run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    keys = [key for key in TARGETS if key in rows]
    for key in keys:
        row = rows[key]
        title, unit, baseline = LABELS[key]
        kind, target = TARGETS[key]
        met = row["ratio"] >= target if kind == "min" else row["ratio"] <= target
        lines.append(
            f"| {title} | {fmt(row['ours'], key)} {unit} | {fmt(row['baseline'], key)} "
            f"{unit} ({baseline}) | {row['ratio']:.2f} ({row['ratio_min']:.2f}-"
            f"{row['ratio_max']:.2f}) | {'>=' if kind == 'min' else '<='} {target} | "
            f"{'yes' if met else 'NO'} | {row['rounds']} x {row['per_side']} | "
            f"{row['date']}, {row['commit']} |"
        )
    commands = {rows[key]["command"] for key in keys}
    if len(commands) > 1:
        lines.append("")
        lines.append("Commands of the rows:")
        lines.append("")
        for command in dict.fromkeys(rows[key]["command"] for key in keys):
            labels = ", ".join(
                LABELS[key][0].split(" ")[0] for key in keys if rows[key]["command"] == command
            )
            lines.append(f"- {labels}: `{command}`")
    notes = list(
        dict.fromkeys(
            f"- {LABELS[key][0].split(' ')[0]} {note}."
            for key in keys
            for note in rows[key]["notes"]
        )
    )
    return "\n".join(lines) + "\n" + NOTES + ("\n" + "\n".join(notes) + "\n" if notes else "")


def record_rows(rows: dict[str, dict[str, Any]], command: str, output: Optional[str]) -> str:
    """Merge ``rows`` into the last recorded ones and save the section (to ``output``
    and a store beside it, seeded from ``bench/results.json``, when given: a trial
    that leaves the record alone). Returns the section's body.
    """
    store, results = record.STORE, record.RESULTS
    if output is not None and Path(output).resolve() != record.RESULTS:
        results = Path(output)
        store = results.with_suffix(".json")
        if not store.exists():
            sections = record.read_store()
            store.write_text(json.dumps(sections, indent=1, ensure_ascii=False) + "\n")
    last = record.load("ratios", store)
    merged = dict((last or {}).get("data", {}).get("rows", {}))
    merged.update(rows)
    body = report(merged)
    commands = {row["command"] for row in merged.values()}
    record.save(
        "ratios",
        title="Ratios (a)-(f'): `bench.run`",
        command=command if commands == {command} else "",
        body=body,
        data={"rows": merged},
        store=store,
        results=results,
    )
    return body


def raise_fd_limit() -> None:
    """Raise this process's open-file limit to its hard limit (the servers it starts
    inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=list(PARTS), action="append")
    parser.add_argument(
        "--rounds",
        type=int,
        help="rounds of every part (default: "
        + ", ".join(f"{part} {count}" for part, count in ROUNDS.items())
        + ")",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        help="per side and round (default 10; core at most 3, websocket and socketio 5)",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--output", help="a trial: render to FILE, not bench/RESULTS.md")
    target.add_argument("--no-record", action="store_true", help="a trial: print only")
    args = parser.parse_args()
    raise_fd_limit()
    parts = args.only or list(PARTS)
    command = " ".join(["python -m bench.run", *sys.argv[1:]])

    def rounds(part: str) -> int:
        return int(args.rounds or ROUNDS[part])

    def seconds(part: str) -> float:
        return float(min(args.seconds, MAX_SECONDS.get(part, args.seconds)))

    rows: dict[str, dict[str, Any]] = {}
    if "core" in parts:
        rows.update(bench_core(rounds("core"), seconds("core")))
    if "http" in parts:
        rows["http"] = bench_http(rounds("http"), seconds("http"))
    if "batch" in parts:
        rows["batch"] = bench_batch_http(rounds("batch"), seconds("batch"))
    if "parallel" in parts:
        rows["parallel"] = bench_parallel(rounds("parallel"))
    socket_parts = [part for part in ("websocket", "socketio") if part in parts]
    for part in socket_parts:  # one server each: their rounds may differ
        rows.update(bench_sockets(rounds(part), seconds(part), [part]))
    run = record.environment()
    for row in rows.values():
        row.update(command=command, date=run["date"], commit=run["commit"])
    for key, row in rows.items():
        print(
            f"{key}: {row['ratio']:.3f} ({row['ratio_min']:.3f}-{row['ratio_max']:.3f})",
            flush=True,
        )
    if args.no_record:
        print(report(rows))
        return
    print(record_rows(rows, command, args.output))


if __name__ == "__main__":
    main()
