"""(h) Push fan-out across processes: an EventPusher against bare Flask-SocketIO emit.

    python -m bench.fanout                     # 2,000 clients, writes bench/RESULTS.md
    python -m bench.fanout --clients 200 --pushes 5 --rounds 2 --no-record

(from the repository root). A ``redis-server`` on a free port; two server processes,
each ``gunicorn -k gevent -w 1 --worker-connections ...`` serving
``bench/fanout_app.py`` (namespace ``/events``: Flask-Events' blueprint; ``/bare``: a
bare Flask-SocketIO namespace; one ``SocketIO`` on the Redis message queue); half the
clients on each server, node's socket.io-client (``bench/fanout_client.js``, one node
process per server) over the WebSocket transport, each client on both namespaces over
one connection. From this process, a third one:

- **ours**: ``EventPusher(redis_url).push(event)``, to everyone on ``/events``;
- **bare**: ``SocketIO(message_queue=redis_url).emit("event", envelope,
  namespace="/bare")`` of the same JSON envelope (built as a dict, with fresh ids).

Each round pushes ``--pushes`` events of one side then of the other (which side goes
first alternates), one at a time: the next push goes once every client has the last
one (or after ``--wait`` seconds). Per push: the send time (``time.time()`` just before
the call) and the time the last client got it (``Date.now()`` in the client: the same
clock); deliveries/s = clients / (last receive - send). Reported per side: the
median deliveries/s, the median time until the first client has it, the median and
the maximum until the last one has it, how long the push call took, the servers' CPU
time per delivery, and lost or duplicated deliveries (every client must get every
push exactly once); the ratio = ours / bare median deliveries/s, target >= 0.9. Also
what the clients cost: node's CPU time per delivery and memory per client.
``--pushes-json FILE`` writes every push's figures too.

Bounded: each push waits at most ``--wait`` seconds, and the run stops after
``MAX_INCOMPLETE`` pushes that missed a client. With ``--clients 1000`` and the
default pushes and rounds it took 35 s on the 2-core development box; the default
2,000 clients about twice that.

Every process (redis, servers, node) inherits this process's open-file limit, raised
to the hard limit (``ulimit -Hn``; 2,000 clients need about 1,100 descriptors a server
and as many a client process).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import record
from bench.run import gunicorn_command
from tests.servers import JS, free_port, redis_server, serve

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SERVERS = 2
#: Pushes that may miss a client (each waits ``--wait`` seconds) before the run stops.
MAX_INCOMPLETE = 5
TARGET = 0.9
EVENT = "bench:fanout"
#: The payload of docs/protocol.rst#envelope's sample, with the push's number added.
PAYLOAD = {"data1": "fsadfsdf", "an_int64": 65484548474984654, "some_float": 1864.4568}


def raise_open_files() -> int:
    """Raise this process's soft limit of open files to the hard one (inherited by
    every process it starts); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class Clients:
    """One node process of ``count`` Socket.IO clients of ``url``; its JSON lines go to
    ``inbox`` as ``(index, message)``."""

    def __init__(self, index: int, url: str, count: int, inbox: queue.Queue, log: Path) -> None:
        node = shutil.which("node")
        if node is None or not (JS / "node_modules" / "socket.io-client").exists():
            sys.exit("needs node and socket.io-client in tests/js/node_modules (npm install)")
        env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
        env["NODE_PATH"] = str(JS / "node_modules")
        self.index = index
        self.log = log
        with open(log, "ab") as errors:
            self.process = subprocess.Popen(
                [node, str(HERE / "fanout_client.js"), url, str(count), "50"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                env=env,
                text=True,
            )
        self.reader = threading.Thread(target=self._read, args=(inbox,), daemon=True)
        self.reader.start()

    def _read(self, inbox: queue.Queue) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            inbox.put((self.index, json.loads(line)))
        inbox.put((self.index, {"type": "exit", "code": self.process.wait()}))

    def ask_stats(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Inbox:
    """What the client processes said, by kind."""

    def __init__(self, clients: int) -> None:
        self.queue: queue.Queue = queue.Queue()
        self.clients = clients  # node processes
        self.done: dict[int, dict[int, float]] = {}  # push -> {process: last receive (ms)}
        self.ready: dict[int, dict[str, Any]] = {}
        self.stats: dict[int, dict[str, Any]] = {}

    def wait(self, until: Any, timeout: float) -> bool:
        """Read messages until ``until()`` holds or ``timeout`` seconds passed."""
        deadline = time.monotonic() + timeout
        while not until():
            try:
                index, message = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False
            kind = message["type"]
            if kind == "done":
                self.done.setdefault(message["push"], {})[index] = message["last"]
            elif kind == "ready":
                self.ready[index] = message
            elif kind == "stats":
                self.stats[index] = message
            elif kind == "exit":
                raise RuntimeError(f"client process {index} exited ({message['code']})")
            else:
                print(f"client {index}: {message}", file=sys.stderr)
        return True


@contextlib.contextmanager
def cluster(clients: int, workdir: Path) -> Iterator[tuple[str, list[str]]]:
    """Redis and the server processes: (redis URL, [server URLs])."""
    per_server = -(-clients // SERVERS)
    with redis_server() as redis_url, contextlib.ExitStack() as stack:
        urls = []
        for index in range(SERVERS):
            port = free_port()
            options = ["-k", "gevent", "-w", "1", "--worker-connections", str(per_server + 200)]
            command = gunicorn_command("bench.fanout_app:app", port, options, chdir=ROOT)
            env = {"FANOUT_MESSAGE_QUEUE": redis_url}
            log = workdir / f"server{index}.log"
            urls.append(stack.enter_context(serve(command, port, env, cwd=ROOT, log=log)))
        yield redis_url, urls


def pushers(redis_url: str) -> dict[str, Any]:
    """A push to everyone, by side: ours (EventPusher) and bare (Flask-SocketIO emit)."""
    from flask_socketio import SocketIO

    from flask_events import Event, EventPusher

    pusher = EventPusher(redis_url, "/events")
    emitter = SocketIO(message_queue=redis_url)

    def ours(number: int) -> None:
        pusher.push(Event.new(EVENT, 1, {"push": number, **PAYLOAD}))

    def bare(number: int) -> None:
        envelope = {
            "name": EVENT,
            "version": 1,
            "id": str(uuid.uuid4()),
            "flowId": str(uuid.uuid4()),
            "payload": {"push": number, **PAYLOAD},
            "identity": {},
            "auth": {},
            "metadata": {},
        }
        emitter.emit("event", envelope, namespace="/bare")

    return {"ours": ours, "bare": bare}


def server_cpu(urls: list[str]) -> float:
    """The CPU seconds the server processes have used so far, together."""
    total = 0.0
    for url in urls:
        with urllib.request.urlopen(f"{url}/cpu", timeout=30) as answer:
            total += json.load(answer)["seconds"]
    return total


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure; every figure of the run."""
    limit = raise_open_files()
    started = time.monotonic()
    per_server = [args.clients // SERVERS + (i < args.clients % SERVERS) for i in range(SERVERS)]
    inbox = Inbox(SERVERS)
    records: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="fanout-") as tmp,
        cluster(args.clients, Path(tmp)) as (redis_url, urls),
    ):
        processes = []
        try:
            for index, (url, count) in enumerate(zip(urls, per_server)):
                log = Path(tmp) / f"client{index}.log"
                processes.append(Clients(index, url, count, inbox.queue, log))
            if not inbox.wait(lambda: len(inbox.ready) == SERVERS, args.connect_timeout):
                raise RuntimeError(f"clients not connected within {args.connect_timeout} s")
            connected = sum(ready["clients"] for ready in inbox.ready.values())
            connect_seconds = max(ready["seconds"] for ready in inbox.ready.values())
            print(f"{connected} clients connected in {connect_seconds:.1f} s", flush=True)
            push = pushers(redis_url)
            numbers = iter(range(1, 1_000_000))

            def one(side: str, warmup: bool = False) -> None:
                nonlocal incomplete
                number = next(numbers)
                sent = time.time()
                push[side](number)
                returned = time.time()
                complete = inbox.wait(
                    lambda: len(inbox.done.get(number, {})) == SERVERS, args.wait
                )
                if not warmup:
                    incomplete += not complete
                    records.append(
                        {
                            "push": number,
                            "side": side,
                            "round": round_,
                            "sent": sent,
                            "call": returned - sent,
                            "complete": complete,
                        }
                    )
                time.sleep(args.gap)

            round_, incomplete = -1, 0
            server_seconds = {"ours": 0.0, "bare": 0.0}
            for side in ("ours", "bare", "ours", "bare"):  # warm up: not counted
                one(side, warmup=True)
            for round_ in range(args.rounds):
                if incomplete > MAX_INCOMPLETE:
                    print(f"stopped: {incomplete} pushes did not reach every client")
                    break
                order = ("ours", "bare") if round_ % 2 == 0 else ("bare", "ours")
                for side in order:
                    cpu = server_cpu(urls)
                    for _ in range(args.pushes):
                        one(side)
                    server_seconds[side] += server_cpu(urls) - cpu
                print(f"round {round_ + 1}/{args.rounds} pushed", flush=True)
            time.sleep(args.gap)
            for process in processes:
                process.ask_stats()
            if not inbox.wait(lambda: len(inbox.stats) == SERVERS, 60):
                raise RuntimeError("the client processes did not report")
        finally:
            for process in processes:
                process.stop()
    figures = analyse(args, records, inbox, connected, connect_seconds, limit, started)
    for side, seconds in server_seconds.items():
        deliveries = figures["sides"][side]["received"]
        figures["sides"][side]["serverCpuMicrosecondsPerDelivery"] = (
            seconds / deliveries * 1e6 if deliveries else None
        )
    if args.pushes_json:
        args.pushes_json.write_text(json.dumps(records, indent=1))
    return figures


def analyse(
    args: argparse.Namespace,
    records: list[dict[str, Any]],
    inbox: Inbox,
    connected: int,
    connect_seconds: float,
    limit: int,
    started: float,
) -> dict[str, Any]:
    """The figures of the run from its pushes and the clients' reports."""
    stats = inbox.stats.values()
    for push in records:
        seen = [process["pushes"].get(str(push["push"])) for process in stats]
        got = [entry for entry in seen if entry is not None]
        push["received"] = sum(entry["got"] for entry in got)
        push["duplicates"] = sum(entry["dup"] for entry in got)
        last = max((entry["last"] for entry in got), default=None)
        push["lastSeconds"] = last / 1000 - push["sent"] if last is not None else None
        first = min((entry["first"] for entry in got), default=None)
        push["firstSeconds"] = first / 1000 - push["sent"] if first is not None else None
    sides: dict[str, dict[str, Any]] = {}
    for side in ("ours", "bare"):
        mine = [push for push in records if push["side"] == side]
        complete = [push for push in mine if push["complete"]]  # deliveries/s: these
        lasts = [push["lastSeconds"] for push in complete]
        rates = [connected / max(seconds, 1e-3) for seconds in lasts]
        sides[side] = {
            "pushes": len(mine),
            "deliveriesPerSecond": statistics.median(rates) if rates else 0.0,
            "firstMedian": statistics.median(push["firstSeconds"] for push in complete)
            if complete
            else None,
            "lastMedian": statistics.median(lasts) if lasts else None,
            "lastMax": max(lasts) if lasts else None,
            "callMedian": statistics.median(push["call"] for push in mine),
            "expected": connected * len(mine),
            "received": sum(push["received"] for push in mine),
            "lost": connected * len(mine) - sum(push["received"] for push in mine),
            "duplicates": sum(push["duplicates"] for push in mine),
        }
    per_round = []
    for round_ in range(args.rounds):
        medians = {}
        for side in ("ours", "bare"):
            lasts = [
                push["lastSeconds"]
                for push in records
                if push["round"] == round_ and push["side"] == side and push["complete"]
            ]
            medians[side] = connected / statistics.median(lasts) if lasts else 0.0
        if medians["ours"] and medians["bare"]:
            per_round.append(medians["ours"] / medians["bare"])
    bare_rate = sides["bare"]["deliveriesPerSecond"]
    ratio = sides["ours"]["deliveriesPerSecond"] / bare_rate if bare_rate else 0.0
    deliveries = sum(side["received"] + side["duplicates"] for side in sides.values())
    deliveries += 4 * connected  # the warm-up pushes
    cpu = sum(process["cpuSeconds"] for process in stats)
    pushed = sum(side["pushes"] for side in sides.values())
    rss = sum(ready["rss"] - ready["rssBefore"] for ready in inbox.ready.values())
    return {
        "clients": connected,
        "servers": SERVERS,
        "pushes": args.pushes,
        "rounds": args.rounds,
        "sides": sides,
        "ratio": ratio,
        "roundRatios": per_round,
        "wait": args.wait,
        "incompletePushes": sum(not push["complete"] for push in records),
        "stoppedEarly": pushed < 2 * args.pushes * args.rounds,
        "clientDisconnects": sum(process["disconnects"] for process in stats),
        "target": TARGET,
        "met": ratio >= TARGET
        and all(side["lost"] == 0 and side["duplicates"] == 0 for side in sides.values()),
        "connectSeconds": connect_seconds,
        "clientCpuMicrosecondsPerDelivery": cpu / deliveries * 1e6 if deliveries else None,
        "clientKilobytesPerClient": rss / connected / 1024 if connected else None,
        "clientProcesses": len(inbox.stats),
        "openFilesLimit": limit,
        "seconds": time.monotonic() - started,
        "cores": os.cpu_count(),
    }


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.1f} ms"


def report(figures: dict[str, Any]) -> str:
    """The markdown of the run."""
    sides = figures["sides"]
    lines = [
        f"{figures['clients']:,} Socket.IO clients (node socket.io-client, WebSocket "
        f"transport), half on each of {figures['servers']} server processes "
        "(`gunicorn -k gevent -w 1`, `bench/fanout_app.py`) sharing one Redis; a third "
        "process pushes one event to all of them: **ours** `EventPusher(redis_url)."
        "push(event)` to the `/events` namespace of the blueprint, **bare** a write-only "
        '`SocketIO(message_queue=redis_url).emit("event", envelope, namespace="/bare")` '
        "of the same JSON envelope to a bare namespace on the same servers and "
        f"connections. {figures['rounds']} rounds of {figures['pushes']} pushes a side, "
        "alternating which side goes first, one push at a time (the next once every "
        "client has the last). Deliveries/s = clients / (last client's receive time - "
        "send time), the median over pushes.",
        "",
        "| side | deliveries/s | until the first client has it (median) | until the "
        "last client has it (median / max) | push call (median) | servers' CPU per "
        "delivery | received / expected | lost | duplicated |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for side, label in (
        ("ours", "ours (`EventPusher`)"),
        ("bare", "bare (Flask-SocketIO `emit`)"),
    ):
        figures_ = sides[side]
        lines.append(
            f"| {label} | {figures_['deliveriesPerSecond']:,.0f} | "
            f"{ms(figures_['firstMedian'])} | "
            f"{ms(figures_['lastMedian'])} / {ms(figures_['lastMax'])} | "
            f"{ms(figures_['callMedian'])} | "
            f"{figures_['serverCpuMicrosecondsPerDelivery']:.0f} µs | {figures_['received']:,} / "
            f"{figures_['expected']:,} | {figures_['lost']} | {figures_['duplicates']} |"
        )
    rounds = figures["roundRatios"]
    spread = f" (per round {min(rounds):.2f}-{max(rounds):.2f})" if rounds else ""
    lost = sum(side["lost"] for side in sides.values())
    duplicated = sum(side["duplicates"] for side in sides.values())
    deliveries = (
        "every client got every push exactly once"
        if lost == duplicated == 0
        else f"{lost:,} deliveries lost and {duplicated:,} duplicated"
    )
    lines += [
        "",
        f"Ratio ours / bare deliveries/s: **{figures['ratio']:.2f}**{spread}; target "
        f">= {TARGET} with every push reaching every client exactly once: "
        f"**{'yes' if figures['met'] else 'NO'}** ({deliveries}).",
    ]
    if figures["stoppedEarly"] or figures["clientDisconnects"]:
        lines.append(
            f"The run stopped early: {figures['incompletePushes']} pushes did not reach "
            f"every client within {figures['wait']:g} s; {figures['clientDisconnects']} "
            "client disconnections."
            if figures["stoppedEarly"]
            else f"{figures['clientDisconnects']} client disconnections during the run."
        )
    lines += [
        "",
        f"What the clients cost: {figures['clientProcesses']} node processes on the same "
        f"{figures['cores']} cores as the servers and Redis, "
        f"{figures['clientCpuMicrosecondsPerDelivery']:.0f} µs of CPU per delivery and "
        f"{figures['clientKilobytesPerClient']:.0f} KB per client (connecting all took "
        f"{figures['connectSeconds']:.1f} s). The times include the clients' own work and "
        "wait for it: on a box with cores to spare for the clients both sides would go "
        "faster, and the ratio should move little, since the servers do the same work "
        "for either side (python-socketio encodes a push once and writes it to each "
        "connection; see their CPU per delivery above). Open files: every process "
        f"inherits the benchmark's limit, raised to {figures['openFilesLimit']:,} "
        "(`ulimit -Hn`).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000, help="in all (default 2000)")
    parser.add_argument("--pushes", type=int, default=20, help="a side a round (default 20)")
    parser.add_argument("--rounds", type=int, default=5, help="(default 5)")
    parser.add_argument("--wait", type=float, default=10.0, help="most seconds per push")
    parser.add_argument("--gap", type=float, default=0.05, help="seconds between pushes")
    parser.add_argument("--connect-timeout", type=float, default=180.0)
    parser.add_argument("--no-record", action="store_true", help="print, do not record")
    parser.add_argument("--pushes-json", type=Path, help="also write every push's figures here")
    args = parser.parse_args()
    figures = run(args)
    body = report(figures)
    print(body)
    print(f"took {figures['seconds']:.0f} s")
    if not args.no_record:
        command = " ".join(["python -m bench.fanout", *sys.argv[1:]])
        record.save(
            "fanout",
            title="(h) push fan-out across processes",
            command=command,
            body=body,
            data=figures,
        )


if __name__ == "__main__":
    main()
