"""(g) many WebSockets under one gevent worker: Flask-Events' ``/events/ws`` against a
bare flask-sock endpoint, both in ``bench/many_websockets_app.py``, each side under a
fresh ``gunicorn -k gevent -w 1`` worker.

    python -m bench.many_websockets                     # the full spec, records it
    python -m bench.many_websockets --connections 300 --seconds 10 --ramp off --no-record

(from the repository root). N connections each send one event per second (random
phase) for ``--seconds``; the client (node's ``ws``, ``bench/many_websockets_client.js``,
or ``--client python``: asyncio ``websockets`` in this process) matches answers by id
and counts each event answered once, lost, duplicated, or an error. It reports p50/p99
latency, the worker's RSS per connection (VmRSS of the worker with the N connections
open and the load running, minus its RSS after one warm-up event, over N) and the CPU
seconds per event of the worker and of the client. Then the ramp: the same for each
count of ``--ramp`` (``--ramp-seconds`` each), until both sides' p99 passed 100 ms.
The default (5,000 connections x 60 s x 3 rounds, then the ramp 1,000 to 9,000 x 20 s)
takes about 15 minutes: each side about 80 s a round, about 30 to 45 s a ramp step.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from websockets.asyncio.client import connect

from bench import record
from bench.run import ENVELOPE, gunicorn_command
from tests.servers import free_port, wait_for_port

HERE = Path(__file__).resolve().parent
APP = "bench.many_websockets_app:app"
NODE_MODULES = HERE.parent / "tests" / "js" / "node_modules"
SIDES = {"bare": "/bare/ws", "ours": "/events/ws"}
TARGETS = {"p99": 1.25, "rss": 1.25}  # ours / bare, at most
DEFAULT_RAMP = [1000, 2500, 5000, 7500, 9000]
LIMIT_MS = 100.0  # the ramp's question: from which count does p99 pass this
MARGIN = 200  # file descriptors and worker connections beside the N connections
CONNECT_RATE = 500  # connections opened per second
CONNECT_AT_ONCE = 200  # opening handshakes in flight at once
ANSWER_WAIT = 15.0  # seconds an answer may still come after the last event is sent

_ID = msgspec.json.decode(ENVELOPE)["id"]
_PREFIX, _SUFFIX = ENVELOPE.decode().split(_ID)
_decode = msgspec.json.Decoder().decode


def raise_nofile() -> int:
    """Raise this process's RLIMIT_NOFILE soft limit to its hard limit; return it."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry))
    return found


def rss_kb(pid: int) -> int:
    """VmRSS of process ``pid`` in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0])


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user + system, system) CPU seconds of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, int(fields[12]) / tick


def own_cpu_seconds() -> tuple[float, float]:
    """(user + system, system) CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, usage.ru_stime


def spent(before: tuple[float, float], after: tuple[float, float]) -> tuple[float, float]:
    return after[0] - before[0], after[1] - before[1]


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


@contextlib.contextmanager
def gevent_worker(connections: int) -> Iterator[tuple[int, int]]:
    """``gunicorn -k gevent -w 1`` serving :data:`APP` on a free port, with its file
    limit raised to the hard limit; yield (port, worker pid); stop it by its PID."""
    port = free_port()
    options = ["-k", "gevent", "-w", "1", "--worker-connections", str(connections + MARGIN)]
    options += ["--timeout", "120", "--graceful-timeout", "5"]  # a saturated worker is slow
    command = gunicorn_command(APP, port, options, HERE.parent)
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command,
            cwd=HERE.parent,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=raise_nofile,
        )
        try:
            wait_for_port(port, process, timeout=60)
            deadline = time.monotonic() + 60
            while not (workers := children(process.pid)) and time.monotonic() < deadline:
                time.sleep(0.1)
            if len(workers) != 1:
                raise RuntimeError(f"expected one gunicorn worker, found {workers}")
            yield port, workers[0]
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read()[-4000:].decode(errors="replace"))
            raise
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class Tally:
    """What the client saw of one side at one count."""

    connections: int
    seconds: int
    connected: int = 0
    sent: int = 0
    answered: int = 0  # events answered once, correctly (a first answer)
    duplicated: int = 0
    lost: int = 0
    errors: int = 0  # failed connections, error answers, unknown ids
    samples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.samples) < 5:
            self.samples.append(what[:200])


def message(ident: str) -> str:
    """The sample envelope with id ``ident``."""
    return _PREFIX + ident + _SUFFIX


async def one_connection(
    index: int, url: str, tally: Tally, opening: asyncio.Semaphore, start: asyncio.Future
) -> None:
    """Connect, wait for the common start, send an event each second (at a random
    phase), match the answers by id, then close."""
    try:
        async with opening:
            ws = await connect(
                url, open_timeout=60, ping_interval=None, max_queue=None, compression=None
            )
    except Exception as exc:
        tally.error(f"connect: {exc!r}")
        return
    tally.connected += 1
    pending: dict[str, float] = {}
    answered: set[str] = set()

    async def read() -> None:
        async for text in ws:
            now = time.perf_counter()
            try:
                reply = _decode(text)
                ident = reply["id"]
            except (msgspec.DecodeError, KeyError, TypeError) as exc:
                tally.error(f"unreadable answer: {exc!r}")
                continue
            sent_at = pending.pop(ident, None)
            if sent_at is None:
                if ident in answered:
                    tally.duplicated += 1
                else:
                    tally.error(f"answer to an unknown id: {ident!r}")
            elif reply.get("name") != "some event:response":
                answered.add(ident)
                tally.error(f"error answer: {text[:150]}")
            else:
                answered.add(ident)
                tally.answered += 1
                tally.latencies.append(now - sent_at)

    reader = asyncio.create_task(read())
    try:
        begin = await start + random.random()
        for k in range(tally.seconds):
            await asyncio.sleep(max(0.0, begin + k - time.perf_counter()))
            ident = f"{index}-{k}"
            pending[ident] = time.perf_counter()
            await ws.send(message(ident))
            tally.sent += 1
        deadline = time.perf_counter() + ANSWER_WAIT
        while pending and time.perf_counter() < deadline and not reader.done():
            await asyncio.sleep(0.2)
    except Exception as exc:
        tally.error(f"connection: {exc!r}")
    finally:
        tally.lost += len(pending)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), 10)
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader


async def warm_up(url: str) -> None:
    """One event on one connection."""
    async with connect(url, open_timeout=30, compression=None) as ws:
        await ws.send(message("warm-up"))
        reply = _decode(await asyncio.wait_for(ws.recv(), 30))
        assert reply["name"] == "some event:response", reply


async def load_python(url: str, worker: int, connections: int, seconds: int) -> dict[str, Any]:
    """N connections to ``url`` for ``seconds`` from this process (asyncio
    ``websockets``): the client's tally, the worker's RSS during the load, and the CPU
    seconds of the worker and of the client."""
    tally = Tally(connections, seconds)
    loop = asyncio.get_running_loop()
    start: asyncio.Future = loop.create_future()
    opening = asyncio.Semaphore(CONNECT_AT_ONCE)
    tasks = []
    opened_at = time.perf_counter()
    for index in range(connections):
        tasks.append(asyncio.create_task(one_connection(index, url, tally, opening, start)))
        if index % 50 == 49:
            await asyncio.sleep(50 / CONNECT_RATE)
    deadline = time.perf_counter() + 120
    while tally.connected + tally.errors < connections and time.perf_counter() < deadline:
        await asyncio.sleep(0.1)
    connect_s = time.perf_counter() - opened_at
    begin = time.perf_counter() + 1.0
    server_cpu, client_cpu, busy = cpu_seconds(worker), own_cpu_seconds(), machine_busy()
    start.set_result(begin)
    rss, lags = [], []
    end = begin + seconds + 1 + ANSWER_WAIT
    while time.perf_counter() < begin + seconds + 1 or (
        tally.answered + tally.errors < tally.sent and time.perf_counter() < end
    ):
        before = time.perf_counter()
        await asyncio.sleep(0.05)
        lags.append(time.perf_counter() - before - 0.05)
        if len(lags) % 20 == 0 and time.perf_counter() > begin + 1:
            rss.append(rss_kb(worker))
    server_cpu = spent(server_cpu, cpu_seconds(worker))
    client_cpu = spent(client_cpu, own_cpu_seconds())
    busy_after = machine_busy()
    await asyncio.wait_for(asyncio.gather(*tasks), ANSWER_WAIT + 60)
    lags.sort()
    tally.latencies.sort()
    return {
        "connected": tally.connected,
        "sent": tally.sent,
        "answered": tally.answered,
        "lost": tally.lost,
        "duplicated": tally.duplicated,
        "errors": tally.errors,
        "error_samples": tally.samples,
        "p50_ms": percentile(tally.latencies, 0.50),
        "p90_ms": percentile(tally.latencies, 0.90),
        "p99_ms": percentile(tally.latencies, 0.99),
        "p999_ms": percentile(tally.latencies, 0.999),
        "max_ms": percentile(tally.latencies, 1.0),
        "connect_s": connect_s,
        "rss_kb": max(rss) if rss else rss_kb(worker),
        "server_cpu": server_cpu,
        "client_cpu": client_cpu,
        "machine_busy": (busy_after[0] - busy[0]) / max(1, busy_after[1] - busy[1]),
        "client_lag_p99_ms": percentile(lags, 0.99),
    }


def read_line(process: subprocess.Popen, timeout: float) -> dict[str, Any] | None:
    """The next JSON line the node client prints, or None if none within ``timeout``."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        return None
    line = process.stdout.readline()
    if not line:
        raise RuntimeError(f"the node client exited ({process.wait()})")
    return json.loads(line)


def load_node(url: str, worker: int, connections: int, seconds: int) -> dict[str, Any]:
    """The same as :func:`load_python` from node's ``ws`` (bench/many_websockets_client.js)."""
    command = ["node", str(HERE / "many_websockets_client.js"), url, str(connections)]
    command += [str(seconds), str(CONNECT_RATE), str(CONNECT_AT_ONCE), str(ANSWER_WAIT)]
    command += [_PREFIX, _SUFFIX]
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
        preexec_fn=raise_nofile,
    )
    assert process.stdin is not None
    try:
        opened_at = time.perf_counter()
        if read_line(process, 180) is None:
            raise RuntimeError("the node client did not connect within 180 s")
        connect_s = time.perf_counter() - opened_at
        begin = time.perf_counter() + 1.0
        server_cpu, busy = cpu_seconds(worker), machine_busy()
        process.stdin.write("go\n")
        process.stdin.flush()
        rss = []
        end = begin + seconds + ANSWER_WAIT + 30
        while (result := read_line(process, 1.0)) is None:
            if time.perf_counter() > end:
                raise RuntimeError("the node client did not finish in time")
            if begin + 1 < time.perf_counter() < begin + seconds:
                rss.append(rss_kb(worker))
        server_cpu = spent(server_cpu, cpu_seconds(worker))
        busy_after = machine_busy()
        process.stdin.close()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return {
        **{key: result[key] for key in ("connected", "sent", "answered", "lost")},
        **{key: result[key] for key in ("duplicated", "errors")},
        "error_samples": result["samples"],
        **{key: result[key] for key in ("p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms")},
        "connect_s": connect_s,
        "rss_kb": max(rss) if rss else rss_kb(worker),
        "server_cpu": server_cpu,
        "client_cpu": (result["client_cpu"], result["client_sys_cpu"]),
        "machine_busy": (busy_after[0] - busy[0]) / max(1, busy_after[1] - busy[1]),
        "client_lag_p99_ms": result["client_lag_p99_ms"],
        "worst_ms_by_second": result["worst_ms_by_second"],
    }


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile of sorted ``values``, in ms (nan when empty)."""
    if not values:
        return float("nan")
    return 1000 * values[min(len(values) - 1, int(fraction * len(values)))]


def measure(side: str, connections: int, seconds: int, client: str) -> dict[str, Any]:
    """One side at one count, on a fresh worker: the figures of one row."""
    with gevent_worker(connections) as (port, worker):
        url = f"ws://127.0.0.1:{port}{SIDES[side]}"
        asyncio.run(warm_up(url))
        fresh_kb = rss_kb(worker)
        if client == "node":
            run = load_node(url, worker, connections, seconds)
        else:
            run = asyncio.run(load_python(url, worker, connections, seconds))
    events = max(1, run["answered"])
    row = {
        "side": side,
        "connections": connections,
        "seconds": seconds,
        "expected": connections * seconds,
        **run,
        "fresh_rss_kb": fresh_kb,
        "rss_per_conn_kb": (run["rss_kb"] - fresh_kb) / connections,
        "server_us_per_event": 1e6 * run["server_cpu"][0] / events,
        "client_us_per_event": 1e6 * run["client_cpu"][0] / events,
        "server_sys_share": run["server_cpu"][1] / max(1e-9, run["server_cpu"][0]),
        "client_sys_share": run["client_cpu"][1] / max(1e-9, run["client_cpu"][0]),
    }
    print(
        f"  {side} {connections} x {seconds} s (worker {worker}): answered"
        f" {row['answered']}/{row['expected']}"
        f" lost {row['lost']} dup {row['duplicated']} errors {row['errors']}"
        f" p50 {row['p50_ms']:.2f} p90 {row['p90_ms']:.2f} p99 {row['p99_ms']:.2f}"
        f" p99.9 {row['p999_ms']:.2f} max {row['max_ms']:.0f} ms"
        f" RSS/conn {row['rss_per_conn_kb']:.1f} KiB; CPU/event server"
        f" {row['server_us_per_event']:.0f} µs ({100 * row['server_sys_share']:.0f}% sys) client"
        f" {row['client_us_per_event']:.0f} µs ({100 * row['client_sys_share']:.0f}% sys);"
        f" client loop lag p99 {row['client_lag_p99_ms']:.1f} ms;"
        f" machine {100 * row['machine_busy']:.0f}% busy; connect {row['connect_s']:.1f} s",
        *(f"\n    {sample}" for sample in row["error_samples"]),
        flush=True,
    )
    return row


def clean(row: dict[str, Any]) -> bool:
    """Every event answered exactly once, no error."""
    return row["answered"] == row["expected"] and not (
        row["lost"] or row["duplicated"] or row["errors"]
    )


def headline(connections: int, seconds: int, rounds: int, client: str) -> dict[str, Any]:
    """``rounds`` rounds of bare then ours, each on a fresh worker; medians and ratios."""
    rows: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    ratios: dict[str, list[float]] = {"p99": [], "rss": []}
    for number in range(rounds):
        print(f"round {number + 1}/{rounds}: {connections} connections x {seconds} s", flush=True)
        for side in SIDES:
            rows[side].append(measure(side, connections, seconds, client))
        bare, ours = rows["bare"][-1], rows["ours"][-1]
        ratios["p99"].append(ours["p99_ms"] / bare["p99_ms"])
        ratios["rss"].append(ours["rss_per_conn_kb"] / bare["rss_per_conn_kb"])
    keys = ["p50_ms", "p99_ms", "max_ms", "rss_per_conn_kb", "fresh_rss_kb"]
    keys += ["server_us_per_event", "client_us_per_event", "server_sys_share", "client_sys_share"]
    keys += ["client_lag_p99_ms", "machine_busy"]
    medians = {
        side: {key: statistics.median(row[key] for row in rows[side]) for key in keys}
        for side in SIDES
    }
    for side in SIDES:
        for key in ("expected", "answered", "lost", "duplicated", "errors"):
            medians[side][key] = sum(row[key] for row in rows[side])
        medians[side]["clean"] = all(clean(row) for row in rows[side])
    return {
        "rows": rows,
        "medians": medians,
        "ratios": {key: statistics.median(values) for key, values in ratios.items()},
        "round_ratios": ratios,
    }


def ramp(counts: list[int], seconds: int, client: str) -> dict[str, Any]:
    """Each count of ``counts`` for both sides until both passed :data:`LIMIT_MS`."""
    steps: list[dict[str, dict[str, Any]]] = []
    passed: dict[str, int | None] = {side: None for side in SIDES}
    for count in counts:
        print(f"ramp: {count} connections x {seconds} s", flush=True)
        steps.append({side: measure(side, count, seconds, client) for side in SIDES})
        for side, row in steps[-1].items():
            if passed[side] is None and not row["p99_ms"] <= LIMIT_MS:
                passed[side] = count
        if all(passed.values()):
            break
    return {"steps": steps, "passed": passed, "counts": counts}


def met(ratio: float, target: float) -> str:
    return "yes" if ratio <= target else "NO"


def report(result: dict[str, Any], args: argparse.Namespace, nofile: int) -> str:
    """The markdown body of the RESULTS.md section."""
    head = result["headline"]
    bare, ours = head["medians"]["bare"], head["medians"]["ours"]
    p99, rss = head["ratios"]["p99"], head["ratios"]["rss"]
    n, s = args.connections, args.seconds

    def answered(row: dict[str, Any]) -> str:
        return (
            f"{row['answered']:,}/{row['expected']:,} / {row['lost']} / "
            f"{row['duplicated']} / {row['errors']}"
        )

    lines = [
        f"{n:,} WebSocket connections to one `gunicorn -k gevent -w 1` worker, each "
        f"sending the sample envelope once a second (random phase) for {s} s; "
        f"{args.rounds} round(s), each side on a fresh worker per round (bare first); "
        "figures are medians over the rounds, ratios the median of the per-round ratios, "
        "answer counts summed over the rounds. Latency: from just before the client "
        "sends an event to its answer arriving, matched by id. RSS per connection: the "
        "worker's VmRSS (the worker's, not the arbiter's) with the connections open and "
        "the load running (its highest sample, once a second) minus its VmRSS after one "
        "warm-up event, over the connections.",
        "",
        "| | Flask-Events `/events/ws` | bare flask-sock `/bare/ws` | ratio | target | met |",
        "|---|---|---|---|---|---|",
        f"| p50 latency | {ours['p50_ms']:.2f} ms | {bare['p50_ms']:.2f} ms | "
        f"{ours['p50_ms'] / bare['p50_ms']:.2f} | | |",
        f"| p99 latency | {ours['p99_ms']:.2f} ms | {bare['p99_ms']:.2f} ms | {p99:.2f} | "
        f"<= {TARGETS['p99']} | {met(p99, TARGETS['p99'])} |",
        f"| slowest answer | {ours['max_ms']:.0f} ms | {bare['max_ms']:.0f} ms | | | |",
        f"| worker RSS per connection | {ours['rss_per_conn_kb']:.1f} KiB | "
        f"{bare['rss_per_conn_kb']:.1f} KiB | {rss:.2f} | <= {TARGETS['rss']} | "
        f"{met(rss, TARGETS['rss'])} |",
        f"| fresh worker RSS (after the warm-up) | {ours['fresh_rss_kb'] / 1024:.1f} MiB | "
        f"{bare['fresh_rss_kb'] / 1024:.1f} MiB | | | |",
        f"| answered once / lost / duplicated / errors | {answered(ours)} | "
        f"{answered(bare)} | | all once, 0 errors | "
        f"{'yes' if ours['clean'] and bare['clean'] else 'NO'} |",
        f"| worker CPU per event | {ours['server_us_per_event']:.0f} µs | "
        f"{bare['server_us_per_event']:.0f} µs | "
        f"{ours['server_us_per_event'] / bare['server_us_per_event']:.2f} | | |",
        f"| client CPU per event | {ours['client_us_per_event']:.0f} µs | "
        f"{bare['client_us_per_event']:.0f} µs | | | |",
        "",
        f"Per-round ratios: p99 {', '.join(f'{r:.2f}' for r in head['round_ratios']['p99'])};"
        f" RSS {', '.join(f'{r:.2f}' for r in head['round_ratios']['rss'])}.",
        "",
    ]
    if result.get("ramp"):
        lines += ramp_report(result["ramp"], args)
    lines += cost_report(bare, ours, args.client, n, nofile)
    return "\n".join(lines)


def ramp_report(data: dict[str, Any], args: argparse.Namespace) -> list[str]:
    lines = [
        f"How far it goes: the same, {args.ramp_seconds} s per count, a fresh worker per "
        f"side and count, until both sides' p99 passed {LIMIT_MS:g} ms.",
        "",
        "| connections | ours p50 / p99 | bare p50 / p99 | ours RSS/conn | bare RSS/conn "
        "| ours answered / lost / errors | bare answered / lost / errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for step in data["steps"]:
        o, b = step["ours"], step["bare"]
        lines.append(
            f"| {o['connections']:,} | {o['p50_ms']:.1f} / {o['p99_ms']:.1f} ms | "
            f"{b['p50_ms']:.1f} / {b['p99_ms']:.1f} ms | {o['rss_per_conn_kb']:.1f} KiB | "
            f"{b['rss_per_conn_kb']:.1f} KiB | {o['answered']:,}/{o['expected']:,} / "
            f"{o['lost']} / {o['errors']} | {b['answered']:,}/{b['expected']:,} / "
            f"{b['lost']} / {b['errors']} |"
        )
    tried = max(step["ours"]["connections"] for step in data["steps"])
    verdict = []
    for side, name in (("ours", "Flask-Events"), ("bare", "bare flask-sock")):
        count = data["passed"][side]
        verdict.append(
            f"{name}: at {count:,} connections"
            if count
            else f"{name}: not reached up to {tried:,}"
        )
    lines += ["", f"p99 passes {LIMIT_MS:g} ms — " + "; ".join(verdict) + ".", ""]
    return lines


CLIENTS = {
    "node": "node's `ws` 8, one process (`bench/many_websockets_client.js`)",
    "python": "Python's asyncio `websockets` 17, in the benchmark's own process",
}


def cost_report(
    bare: dict[str, Any], ours: dict[str, Any], client: str, rate: int, nofile: int
) -> list[str]:
    load = statistics.mean([bare["client_us_per_event"], ours["client_us_per_event"]])
    sys_share = statistics.mean([bare["client_sys_share"], ours["client_sys_share"]])
    return [
        f"What the client costs, and the 2 cores: the client ({CLIENTS[client]}, no "
        "compression, one timer per connection) runs on the same 2 cores as the server. "
        f"It spends about {load:.0f} µs of CPU per event ({100 * sys_share:.0f}% of it "
        "in the kernel, which also charges the loopback TCP delivery to the sender), "
        f"against the worker's {ours['server_us_per_event']:.0f} µs (ours) and "
        f"{bare['server_us_per_event']:.0f} µs (bare): at {rate:,} events a second the "
        f"client keeps {rate * load / 1e6:.2f} of the 2 cores busy, the worker "
        f"{rate * ours['server_us_per_event'] / 1e6:.2f} (ours) and "
        f"{rate * bare['server_us_per_event'] / 1e6:.2f} (bare). The machine was "
        f"{100 * ours['machine_busy']:.0f}% busy (ours) and "
        f"{100 * bare['machine_busy']:.0f}% (bare) during the load, and the client's event "
        f"loop ran late by {ours['client_lag_p99_ms']:.1f} ms (ours) and "
        f"{bare['client_lag_p99_ms']:.1f} ms (bare) at its p99: time that lands in both "
        "sides' latencies alike, adding to both p99s and pulling their ratio towards 1. "
        "The gevent worker is one process on one core whatever the box: on a bigger "
        "box, with the client on cores (or a machine) of its own, the latencies lose the "
        "client's share and the scheduling against it, so the p99s drop and their ratio "
        "shows the servers alone; the RSS per connection does not change; and one "
        "worker still saturates near 1 s / (its CPU per event) events per second — at "
        "this run's CPU per event, about "
        f"{1e6 / ours['server_us_per_event']:,.0f} connections sending one event a "
        f"second for ours and {1e6 / bare['server_us_per_event']:,.0f} for bare — so "
        "what a bigger box adds is room for more workers (`-w`, about one per core).",
        "",
        f"File descriptors: every connection holds one in the worker and one in the "
        f"client; the script raises RLIMIT_NOFILE to the hard limit ({nofile:,} here, "
        f"`ulimit -Hn`) for itself and, through `preexec_fn`, for gunicorn and the node "
        f"client, and skips ramp counts above that limit minus {MARGIN}. gunicorn's "
        f"`--worker-connections` is set to the count plus {MARGIN} (its default, 1,000, "
        "would queue the rest). Outside this script: `ulimit -n` (the soft limit, up to "
        "the hard one) before starting gunicorn, or `LimitNOFILE=` in its systemd unit.",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--ramp",
        default=",".join(map(str, DEFAULT_RAMP)),
        help="connection counts, comma-separated, or 'off' (default %(default)s)",
    )
    parser.add_argument("--ramp-seconds", type=int, default=20)
    parser.add_argument(
        "--client",
        choices=["node", "python"],
        default="node",
        help="node's ws (tests/js/node_modules, `npm ci --prefix tests/js`) or asyncio "
        "websockets in this process (default %(default)s)",
    )
    parser.add_argument("--no-record", action="store_true", help="print, do not record")
    args = parser.parse_args()
    if args.client == "node" and not (NODE_MODULES / "ws").is_dir():
        parser.error(
            f"no {NODE_MODULES / 'ws'}: run `npm ci --prefix tests/js`, or --client python"
        )
    nofile = raise_nofile()
    cap = nofile - MARGIN
    if args.connections > cap:
        parser.error(f"--connections above {cap} (the file limit {nofile} minus {MARGIN})")
    counts = [] if args.ramp == "off" else [int(c) for c in args.ramp.split(",")]
    skipped = [c for c in counts if c > cap]
    counts = [c for c in counts if c <= cap]
    started = time.monotonic()
    result: dict[str, Any] = {
        "headline": headline(args.connections, args.seconds, args.rounds, args.client)
    }
    if counts:
        result["ramp"] = ramp(counts, args.ramp_seconds, args.client)
    result["skipped"] = skipped
    result["minutes"] = (time.monotonic() - started) / 60
    body = report(result, args, nofile)
    body += f"\n\nThe run took {result['minutes']:.1f} minutes."
    if skipped:
        body += f" Ramp counts above the file limit, skipped: {skipped}."
    print(body)
    if not args.no_record:
        command = " ".join(["python -m bench.many_websockets", *sys.argv[1:]]).strip()
        record.save(
            "many_websockets",
            title="(g) many WebSockets under one gevent worker",
            command=command,
            body=body,
            data=result,
        )


if __name__ == "__main__":
    main()
