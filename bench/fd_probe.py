"""File descriptors of a server whose ``async def`` handlers are called over WebSockets.

Starts a server process (werkzeug, threaded) limited to ``--nofile`` descriptors
(``ulimit -n``), opens ``--connections`` WebSocket connections, ``--concurrency`` at a
time, each pipelining ``--events`` events of an async handler before reading the
answers, then closes them. Prints how the answers came back (``UNHANDLED_ERROR`` when
the server ran out of descriptors), connections that failed, and the server's open
descriptors: at most during the run, and once every connection is closed.

    .venv/bin/python bench/fd_probe.py
    PYTHONPATH=/other/checkout .venv/bin/python bench/fd_probe.py   # another version
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import resource
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def serve(port: int) -> None:
    from flask import Flask
    from werkzeug.serving import make_server

    from flask_events import EventsBlueprint

    events = EventsBlueprint("events", __name__)

    @events.handler("async:work", 1)
    async def work(event):
        await asyncio.sleep(0.02)
        return {"ok": True}

    app = Flask(__name__)
    app.register_blueprint(events)
    import flask_events

    print("flask_events from", Path(flask_events.__file__).parent, file=sys.stderr)
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def one_connection(url: str, events: int, counts: collections.Counter) -> None:
    import websocket  # websocket-client

    try:
        ws = websocket.create_connection(url, timeout=30)
    except Exception as error:  # the server may be out of descriptors
        counts[f"connection failed: {type(error).__name__}"] += 1
        return
    try:
        for _ in range(events):
            env = {"name": "async:work", "version": 1, "payload": {}}
            ws.send(json.dumps({**env, "id": str(uuid.uuid4()), "flowId": "fd-probe"}))
        for _ in range(events):
            answer = json.loads(ws.recv())
            code = answer["payload"].get("code") if answer["name"].endswith(":error") else None
            counts[code or answer["name"]] += 1
    except Exception as error:
        counts[f"connection broken: {type(error).__name__}"] += 1
    finally:
        ws.close()


def probe(args: argparse.Namespace) -> None:
    from servers import free_port, wait_for_port

    port = free_port()

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, args.nofile))

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)], preexec_fn=limit, cwd=HERE
    )
    try:
        wait_for_port(port, server)
        url = f"ws://127.0.0.1:{port}/events/ws"
        start = open_fds(server.pid)
        counts: collections.Counter = collections.Counter()
        peak = start
        done = threading.Event()

        def watch() -> None:
            nonlocal peak
            while not done.wait(0.05):
                peak = max(peak, open_fds(server.pid))

        watcher = threading.Thread(target=watch)
        watcher.start()
        with ThreadPoolExecutor(args.concurrency) as pool:
            for _ in range(args.connections):
                pool.submit(one_connection, url, args.events, counts)
        time.sleep(2)  # the server's connection threads end
        done.set()
        watcher.join()
        end = open_fds(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    print(
        f"ulimit -n {args.nofile}; {args.connections} connections ({args.concurrency} at a time)"
    )
    print(f"x {args.events} pipelined async events each")
    for key, count in sorted(counts.items()):
        print(f"  {key}: {count}")
    print(f"server descriptors: {start} at start, {peak} at most, {end} after the connections")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--nofile", type=int, default=1024)
    parser.add_argument("--connections", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--events", type=int, default=30)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
    else:
        probe(args)


if __name__ == "__main__":
    main()
