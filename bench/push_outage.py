"""Pushes while the message queue (Redis) is down, hung, and back.

One example_app server process uses a real ``redis-server`` as its Socket.IO message
queue; a python-socketio client connected to it subscribes to ``user:9``; this
process pushes to that room with an :class:`~flask_events.EventPusher` (as a worker
or a cron job would), a numbered event every ``--interval`` seconds. Reported:

- **down**: Redis stopped for ``--down`` seconds: pushes that returned normally
  ("reported ok"), that raised, and that the client received;
- **back**: Redis started again on the same port, pushing for ``--back`` seconds:
  seconds from the restart to the first push the client received, and pushes
  reported ok but never received (silently lost);
- **hung**: Redis paused (SIGSTOP) for ``--hung-pushes`` pushes: seconds each push
  blocked its caller.

Run from the repository root (``--code DIR`` measures another checkout's package, e.g.
the code before a change)::

    .venv/bin/python -m bench.push_outage
    .venv/bin/python -m bench.push_outage --code /work/before

Bounded: about ``down + back`` seconds plus the hung pushes (at most ~25 s each
before the fix, about ``EVENTS_PUSH_TIMEOUT`` after).
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import time
from pathlib import Path

from tests.servers import controlled_redis, free_port, serve

ROOT = Path(__file__).resolve().parent.parent

NS = "/events"
USER = 9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose package runs")
    parser.add_argument("--down", type=float, default=8.0, help="seconds Redis is stopped")
    parser.add_argument("--back", type=float, default=20.0, help="seconds pushing after")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between pushes")
    parser.add_argument("--hung-pushes", type=int, default=2)
    args = parser.parse_args()
    code = args.code.resolve()
    sys.path.insert(0, str(code))  # this process's flask_events too

    import socketio

    import flask_events
    from flask_events import Event, EventPusher

    print(f"flask_events from {Path(flask_events.__file__).parent}", file=sys.stderr)
    results: dict[str, dict[str, float]] = {}
    with controlled_redis() as redis:
        port = free_port()
        command = [sys.executable, "-m", "flask", "--app", "example_app", "run"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--no-reload"]
        env = {
            "FLASK_DEBUG": "0",
            "FLASK_SOCKETIO_MESSAGE_QUEUE": redis.url,
            "PYTHONPATH": str(code),
        }
        with serve(command, port, env, cwd=code) as base:
            received: queue.Queue = queue.Queue()
            sio = socketio.Client()
            sio.on("event", received.put, namespace=NS)
            sio.connect(base, namespaces=[NS], transports=["websocket"], wait_timeout=10)
            try:
                envelope = Event.new("notifications:subscribe", 1, {}, identity={"userId": USER})
                sio.call("event", json.loads(envelope.to_json()), namespace=NS, timeout=10)
                pusher = EventPusher(redis.url)
                seen: set[int] = set()
                counter = iter(range(1_000_000))

                def push() -> tuple[int, bool, float]:
                    n = next(counter)
                    started = time.monotonic()
                    try:
                        pusher.push(Event.new("bench:tick", 1, {"n": n}), to=f"user:{USER}")
                        ok = True
                    except Exception:
                        ok = False
                    return n, ok, time.monotonic() - started

                def drain(wait: float = 0.0) -> None:
                    deadline = time.monotonic() + wait
                    while True:
                        try:
                            timeout = max(0.0, deadline - time.monotonic())
                            seen.add(received.get(timeout=timeout)["payload"]["n"])
                        except queue.Empty:
                            return

                def run_for(seconds: float) -> list[tuple[int, bool, float, float]]:
                    pushes = []
                    end = time.monotonic() + seconds
                    while time.monotonic() < end:
                        n, ok, took = push()
                        pushes.append((n, ok, took, time.monotonic()))
                        drain()
                        time.sleep(args.interval)
                    return pushes

                for _ in range(5):  # warm up: every push arrives
                    push()
                drain(3)

                redis.stop()
                down = run_for(args.down)
                drain(1)
                results["down"] = {
                    "pushes": len(down),
                    "reported ok": sum(ok for _, ok, _, _ in down),
                    "raised": sum(not ok for _, ok, _, _ in down),
                    "received": sum(n in seen for n, *_ in down),
                    "slowest push (s)": round(max(t for _, _, t, _ in down), 2),
                }

                redis.start()
                restarted = time.monotonic()
                back = run_for(args.back)
                drain(3)
                first = [at for n, _, _, at in back if n in seen]
                results["back"] = {
                    "pushes": len(back),
                    "reported ok": sum(ok for _, ok, _, _ in back),
                    "raised": sum(not ok for _, ok, _, _ in back),
                    "received": sum(n in seen for n, *_ in back),
                    "reported ok, never received": sum(
                        ok and n not in seen for n, ok, _, _ in back
                    ),
                    "s to first received": round(first[0] - restarted, 2) if first else -1,
                }

                redis.pause()
                try:
                    hung = [push()[2] for _ in range(args.hung_pushes)]
                finally:
                    redis.resume()
                results["hung"] = {
                    "pushes": len(hung),
                    "s per push (max)": round(max(hung), 2),
                    "s per push (min)": round(min(hung), 2),
                }
            finally:
                sio.disconnect()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
