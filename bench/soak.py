"""Load and soak: nothing bad in, nothing lost (issue 6). Not part of the test suite.

    python -m bench.soak                      # 60 s load, 5 min soak, 30 s WebSocket
    python -m bench.soak --load 10 --soak 30 --ws 10    # a quick run

1. Load: gunicorn (2 sync workers), wrk with 64 connections for ``--load`` seconds of
   mixed traffic — valid events, typed and unhandled errors, unknown events, batches
   and garbage. Every answer must be HTTP 200 with an event body (a Lua check counts
   the others); wrk reports transport errors and p50/p99 latency.
2. Soak: the same traffic for ``--soak`` seconds; the workers' RSS after warm-up and at
   the end.
3. WebSocket: ``--ws-clients`` connections (200) to ``example_app`` under gunicorn's
   threaded worker, each keeping ``--ws-window`` events (8) in flight for ``--ws``
   seconds; every request id must be answered exactly once (``--ws-only``: just this).

The figures are appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from bench.run import gunicorn_command
from tests.servers import free_port, serve

HERE = Path(__file__).resolve().parent

BODIES = [
    {"name": "some event", "version": 42, "id": "a", "flowId": "f", "payload": {"x": 1}},
    {"name": "some event", "version": 7, "id": "b", "flowId": "f", "payload": {}},
    {
        "name": "batch",
        "version": 1,
        "id": "c",
        "flowId": "f",
        "payload": {
            "parallel": False,
            "events": [
                {"name": "some event", "version": 42, "id": f"s{i}", "flowId": "f", "payload": i}
                for i in range(10)
            ],
        },
    },
    {"name": "some event", "version": "42", "id": "d", "flowId": "f", "payload": {}},
]
GARBAGE = ["{not json", "\u00ff\u00fe", "[1, 2, 3]", "", "null", '{"name": 5}']

LUA = """
local bodies = {BODIES}
local bad = 0
request = function()
  local body = bodies[math.random(#bodies)]
  return wrk.format("POST", "/events", {["Content-Type"] = "application/json"}, body)
end
response = function(status, headers, body)
  if status ~= 200 or string.sub(body, 1, 9) ~= '{"name":"' then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("NON_PROTOCOL %d\\n", bad))
end
"""


def lua_script() -> str:
    texts = [json.dumps(body) for body in BODIES] + GARBAGE
    literal = "{" + ", ".join("[==[" + text + "]==]" for text in texts) + "}"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.replace("{BODIES}", literal))
    return script.name


def wrk(url: str, seconds: int, script: str) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-s", script, url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # wrk prints a per-thread 'done' line; sum them
    bad = sum(int(n) for n in re.findall(r"NON_PROTOCOL (\d+)", out))
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )

    def percentile(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(\w+)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "transport_errors": sum(int(n) for n in errors.groups()) if errors else 0,
        "non_protocol": bad,
        "p50_ms": percentile("50"),
        "p99_ms": percentile("99"),
    }


def worker_rss(master_pid: int) -> list[int]:
    """RSS (KiB) of the gunicorn workers (the master's children)."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    sizes = []
    for pid in children:
        status = Path(f"/proc/{pid}/status").read_text()
        sizes.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)))
    return sizes


def gunicorn_pid(port: int) -> int:
    out = subprocess.run(
        ["pgrep", "-f", f"127.0.0.1:{port}"], capture_output=True, text=True
    ).stdout.split()
    return min(int(pid) for pid in out)  # the master started first


def http_part(load: int, soak: int) -> dict[str, dict[str, float]]:
    port = free_port()
    command = gunicorn_command(
        "bench.http_app:app", port, ["-w", "2", "-k", "sync"], chdir=HERE.parent
    )
    script = lua_script()
    try:
        with serve(command, port, cwd=HERE.parent) as base:
            url = f"{base}/events"
            wrk(url, 5, script)  # warm up
            results = {"load": wrk(url, load, script)}
            master = gunicorn_pid(port)
            start_rss = worker_rss(master)
            results["soak"] = wrk(url, soak, script)
            end_rss = worker_rss(master)
            results["soak"]["rss_start_kib"] = max(start_rss)
            results["soak"]["rss_end_kib"] = max(end_rss)
            results["soak"]["rss_growth"] = max(end_rss) / max(start_rss) - 1
    finally:
        os.unlink(script)
    return results


EVENT = {"name": "rates:get", "version": 1, "flowId": "soak", "payload": {}}


def websocket_part(seconds: int, clients: int, window: int) -> dict[str, float]:
    import websocket

    port = free_port()
    options = ["-w", "1", "-k", "gthread", "--threads", str(clients + 8)]
    command = gunicorn_command("example_app:create_app()", port, options)
    sent, answered = collections.Counter(), collections.Counter()
    errors: list[str] = []
    lock = threading.Lock()

    def client(n: int, url: str, deadline: float) -> None:
        """Keep ``window`` events in flight: send that many, then one per answer."""
        try:
            ws = websocket.create_connection(url, timeout=30)
            i = pending = 0
            while time.monotonic() < deadline or pending:
                while pending < window and time.monotonic() < deadline:
                    request_id = f"{n}-{i}"
                    ws.send(json.dumps(dict(EVENT, id=request_id)))
                    with lock:
                        sent[request_id] += 1
                    i += 1
                    pending += 1
                answer = json.loads(ws.recv())
                pending -= 1
                with lock:
                    answered[answer["id"]] += 1
                    if answer["name"] != "rates:get:response":
                        errors.append(f"{n}: answered {answer['name']}")
            ws.close()
        except Exception as error:  # counted, reported
            errors.append(f"{n}: {error!r}")

    with serve(command, port) as base:
        url = base.replace("http://", "ws://") + "/events/ws"
        deadline = time.monotonic() + seconds
        threads = [
            threading.Thread(target=client, args=(n, url, deadline)) for n in range(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(seconds + 60)
    lost = sum(1 for key in sent if answered[key] != 1)
    return {
        "connections": clients,
        "window": window,
        "seconds": seconds,
        "requests": sum(sent.values()),
        "answered_once": sum(1 for key in sent if answered[key] == 1),
        "lost_or_duplicated": lost,
        "client_errors": len(errors),
        "msg_per_s": sum(answered.values()) / seconds,
    }


def report(http: dict, ws: dict, args: argparse.Namespace) -> str:
    lines = ["", "## Load and soak (issue 6)", ""]
    if http:
        lines += [
            f"Command: `python -m bench.soak --load {args.load} --soak {args.soak} "
            f"--ws {args.ws} --ws-clients {args.ws_clients} --ws-window {args.ws_window}`  ",
            "Mixed traffic: valid events, unknown events (eventNotFound), bad envelopes, "
            "batches of 10, garbage bodies; gunicorn 2 sync workers, wrk -t2 -c64.",
            "",
            "| run | requests | req/s | transport errors | non-protocol answers | p50 | p99 |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, r in http.items():
            lines.append(
                f"| {name} ({args.load if name == 'load' else args.soak} s) | "
                f"{r['requests']:,} | {r['rps']:,.0f} | {r['transport_errors']} | "
                f"{r['non_protocol']} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms |"
            )
        soak = http["soak"]
        lines += [
            "",
            f"Worker RSS during the soak: {soak['rss_start_kib']:,} KiB after warm-up and "
            f"the load run, {soak['rss_end_kib']:,} KiB at the end: "
            f"{soak['rss_growth'] * 100:+.1f}% (target < 10%).",
            "",
        ]
    else:
        lines += [
            f"Command: `python -m bench.soak --ws-only --ws {args.ws} "
            f"--ws-clients {args.ws_clients} --ws-window {args.ws_window}`",
            "",
        ]
    lines += [
        f"WebSocket: {ws['connections']} concurrent connections for {ws['seconds']} s, "
        f"each keeping {ws['window']} events in flight (example_app, gunicorn gthread): "
        f"{ws['requests']:,} requests, {ws['answered_once']:,} answered exactly once, "
        f"{ws['lost_or_duplicated']} lost or duplicated, {ws['client_errors']} client "
        f"errors, {ws['msg_per_s']:,.0f} msg/s.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, default=60)
    parser.add_argument("--soak", type=int, default=300)
    parser.add_argument("--ws", type=int, default=30)
    parser.add_argument("--ws-clients", type=int, default=200)
    parser.add_argument("--ws-window", type=int, default=8, help="events in flight each")
    parser.add_argument("--ws-only", action="store_true", help="skip the HTTP runs")
    parser.add_argument("--output", default=str(HERE / "RESULTS.md"))
    args = parser.parse_args()
    http = {} if args.ws_only else http_part(args.load, args.soak)
    print(json.dumps(http, indent=2), flush=True)
    ws = websocket_part(args.ws, args.ws_clients, args.ws_window)
    print(json.dumps(ws, indent=2), flush=True)
    text = report(http, ws, args)
    with open(args.output, "a", encoding="utf-8") as results:
        results.write(text)
    print(text)


if __name__ == "__main__":
    main()
