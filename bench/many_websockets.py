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

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import record
from bench.many_websockets_load import (
    NODE_MODULES,
    load_node,
    load_python,
    raise_nofile,
    rss_kb,
    warm_up,
)
from bench.run import gunicorn_command
from tests.servers import free_port, wait_for_port

HERE = Path(__file__).resolve().parent
APP = "bench.many_websockets_app:app"
SIDES = {"bare": "/bare/ws", "ours": "/events/ws"}
TARGETS = {"p99": 1.25, "rss": 1.25}  # ours / bare, at most
DEFAULT_RAMP = [1000, 2500, 5000, 7500, 9000]
LIMIT_MS = 100.0  # the ramp's question: from which count does p99 pass this
MARGIN = 200  # file descriptors and worker connections beside the N connections


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
    parser = argparse.ArgumentParser(
        description="(g) many WebSockets under one gevent worker: /events/ws against a "
        "bare flask-sock endpoint (the default takes about 15 minutes)"
    )
    parser.add_argument("--connections", type=int, default=5000, help="default %(default)s")
    parser.add_argument(
        "--seconds", type=int, default=60, help="of load per side and round (%(default)s)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="default %(default)s")
    parser.add_argument(
        "--ramp",
        default=",".join(map(str, DEFAULT_RAMP)),
        help="connection counts, comma-separated, or 'off' (default %(default)s)",
    )
    parser.add_argument(
        "--ramp-seconds", type=int, default=20, help="of load per ramp step (%(default)s)"
    )
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
