"""Probe EventsClient and AsyncEventsClient against misbehaving servers.

    python bench/client_probe.py                       # this checkout
    python bench/client_probe.py --root /work/before   # another checkout's flask_events
    python bench/client_probe.py --only drip-body --only gzip-bomb

Each case runs in its own process (flask_events imported from ``--root``) against a
raw HTTP server in a thread of that process (``tests/servers.py`` of this checkout),
once with each client, and prints what the call raised or returned, the time it took
and how much the process's peak RSS grew (VmHWM after the call minus VmRSS before).
A case that has not finished after ``--limit`` seconds (default 120) is killed.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
MiB = 1024 * 1024
EVENT = json.dumps(
    {"name": "ping:response", "version": 1, "id": "i", "flowId": "f", "payload": {}}
).encode()


def load_servers():
    """This checkout's tests/servers.py (another root's ``tests`` package would shadow it)."""
    spec = importlib.util.spec_from_file_location(
        "probe_servers", HERE.parent / "tests/servers.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bomb(mebibytes: int, wbits: int) -> bytes:
    """``mebibytes`` MiB of zeros compressed (gzip: wbits 31, zlib: 15)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    zeros = bytes(MiB)
    return b"".join(compressor.compress(zeros) for _ in range(mebibytes)) + compressor.flush()


def cases(s):
    """name -> (answer, client timeout in seconds)."""
    head = s.raw_head(content_length=len(EVENT))
    gzip_bomb, deflate_bomb = bomb(512, 31), bomb(512, 15)
    zeros = bytes(64 * 1024)
    return {
        "drip-body": (s.raw_drip(head + EVENT, 0.5, start=len(head)), 2),
        "drip-head": (s.raw_drip(head + EVENT, 0.5), 2),
        "silent": (s.raw_stall(), 2),
        "head-then-silent": (s.raw_stall(head), 2),
        "chunks-dripped": (
            s.raw_drip(s.raw_head(transfer_encoding="chunked") + b"1\r\nx\r\n" * 200, 0.5, 40),
            2,
        ),
        "300MB-with-length": (
            s.raw_stream(s.raw_head(content_length=300 * MiB), zeros, 300 * 16),
            60,
        ),
        "300MB-chunked": (
            s.raw_stream(
                s.raw_head(transfer_encoding="chunked"), b"10000\r\n" + zeros + b"\r\n", 300 * 16
            ),
            60,
        ),
        "gzip-bomb": (
            s.raw_send(
                s.raw_head(content_length=len(gzip_bomb), content_encoding="gzip") + gzip_bomb
            ),
            60,
        ),
        "deflate-bomb": (
            s.raw_send(
                s.raw_head(content_length=len(deflate_bomb), content_encoding="deflate")
                + deflate_bomb
            ),
            60,
        ),
        "br-body": (
            s.raw_send(s.raw_head(content_length=len(EVENT), content_encoding="br") + EVENT),
            10,
        ),
        "not-gzip": (
            s.raw_send(s.raw_head(content_length=len(EVENT), content_encoding="gzip") + EVENT),
            10,
        ),
        "bad-length": (s.raw_send(s.raw_head(content_length="abc") + EVENT), 10),
        "not-http": (s.raw_send(b"hello\r\n\r\n"), 10),
    }


def memory(field: str) -> float:
    """A field of /proc/self/status (VmRSS, VmHWM) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_case(name: str, client: str) -> None:
    """In the child: serve case ``name``, send one event with ``client``, print JSON."""
    from flask_events import AsyncEventsClient, EventsClient

    servers = load_servers()
    answer, timeout = cases(servers)[name]
    with servers.raw_http_server(answer) as url:
        before = memory("VmRSS")
        started = time.monotonic()
        try:
            if client == "sync":
                with EventsClient(f"{url}/events", timeout=timeout) as sync:
                    outcome = f"answer {sync.send('ping', 1).name}"
            else:

                async def main():
                    async with AsyncEventsClient(f"{url}/events", timeout=timeout) as asynchronous:
                        return await asynchronous.send("ping", 1)

                outcome = f"answer {asyncio.run(main()).name}"
        except Exception as error:
            outcome = f"{type(error).__module__}.{type(error).__name__}"
        elapsed = time.monotonic() - started
        growth = memory("VmHWM") - before
    print(
        json.dumps(
            {"outcome": outcome, "seconds": round(elapsed, 2), "rss_growth_mb": round(growth)}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", type=Path, default=HERE.parent)
    parser.add_argument("--only", action="append")
    parser.add_argument("--limit", type=float, default=120)
    parser.add_argument("--case")
    parser.add_argument("--client")
    args = parser.parse_args()
    if args.case:
        return run_case(args.case, args.client)
    names = args.only or list(cases(load_servers()))
    env = {**os.environ, "PYTHONPATH": str(args.root.resolve())}
    print(f"flask_events from {args.root.resolve()}")
    print(f"{'case':18} {'client':6} {'seconds':>8} {'RSS +MB':>8}  outcome")
    for name in names:
        for client in ("sync", "async"):
            command = [sys.executable, __file__, "--case", name, "--client", client]
            try:
                done = subprocess.run(
                    command, env=env, capture_output=True, text=True, timeout=args.limit
                )
                result = json.loads(done.stdout.strip().splitlines()[-1])
            except subprocess.TimeoutExpired:
                result = {
                    "outcome": f"killed after {args.limit:.0f} s",
                    "seconds": args.limit,
                    "rss_growth_mb": "?",
                }
            except (IndexError, ValueError):
                result = {
                    "outcome": f"crashed: {done.stderr.strip()[-200:]}",
                    "seconds": "?",
                    "rss_growth_mb": "?",
                }
            seconds, growth = result["seconds"], result["rss_growth_mb"]
            print(
                f"{name:18} {client:6} {seconds:>8} {growth:>8}  {result['outcome']}", flush=True
            )


if __name__ == "__main__":
    main()
