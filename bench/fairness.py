"""Fairness between clients' batches, measured against a real gunicorn server.

    python -m bench.fairness                  # the issue's figures at half the times
    python -m bench.fairness --scale 1        # the issue's own times (about a minute
                                              # on the old code, seconds on the new)
    python -m bench.fairness --code /other/checkout   # serve another checkout's package

The server is gunicorn (gthread, 1 worker, 16 threads) serving this file's ``app``;
every handler time below is multiplied by ``--scale``. Three scenarios:

(1) a 1-event parallel batch (and a 1-event sequential one) sent while another
    client's parallel batch of 32 events of 2 s each runs;
(2) 16 parallel batches of 16 events of 2 s each, sent at once: when each finishes;
(3) 16 sequential batches of 20 events of 0.5 s each, sent at once (every server
    thread busy), with ``EVENTS_BATCH_TIMEOUT`` = 2 s (``--timeout``): how long each
    holds its thread, how many of its slots answered ``BATCH_TIMEOUT``, and how long
    a single event sent meanwhile waits for a free thread.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from flask import Flask

import flask_events
from flask_events import Event, EventsBlueprint

HERE = Path(__file__).resolve().parent

events = EventsBlueprint("events", __name__)
events.add_batch("batch", 1)


@events.handler("sleep", 1)
def sleep(event: Event) -> Any:
    """Stands for a handler waiting ``payload`` seconds on I/O."""
    time.sleep(float(event.payload or 0))
    return None


@events.handler("where", 1)
def where(event: Event) -> Any:
    """The file of the package being served (to check which checkout runs)."""
    return flask_events.__file__


app = Flask(__name__)
app.register_blueprint(events)
if os.environ.get("FAIRNESS_BATCH_TIMEOUT"):
    app.config["EVENTS_BATCH_TIMEOUT"] = float(os.environ["FAIRNESS_BATCH_TIMEOUT"])


# -- the client side ------------------------------------------------------------------


def envelope(name: str, payload: Any) -> dict[str, Any]:
    return {"name": name, "version": 1, "id": str(uuid.uuid4()), "flowId": "f", "payload": payload}


def batch(seconds: float, count: int, parallel: bool) -> dict[str, Any]:
    subs = [envelope("sleep", seconds) for _ in range(count)]
    return envelope("batch", {"parallel": parallel, "events": subs})


def send(base: str, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    """POST one event; return the seconds it took and the answer."""
    import httpx

    start = time.monotonic()
    answer = httpx.post(f"{base}/events", json=body, timeout=600).json()
    return time.monotonic() - start, answer


def at_once(base: str, bodies: list[dict[str, Any]]) -> list[tuple[float, dict[str, Any]]]:
    """Send ``bodies`` from one thread each, at the same time; results in order."""
    results: list[Any] = [None] * len(bodies)

    def one(index: int) -> None:
        results[index] = send(base, bodies[index])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def timeouts(answer: dict[str, Any]) -> int:
    return sum(
        1
        for sub in answer["payload"]
        if isinstance(sub.get("payload"), dict) and sub["payload"].get("code") == "BATCH_TIMEOUT"
    )


def scenario_small_behind_big(base: str, scale: float) -> None:
    big = threading.Thread(target=send, args=(base, batch(2 * scale, 32, True)))
    big.start()
    time.sleep(0.3)  # the big batch has filled its workers
    parallel, _ = send(base, batch(0, 1, True))
    sequential, _ = send(base, batch(0, 1, False))
    big.join()
    print(
        f"(1) while a parallel batch of 32 x {2 * scale:g} s runs: a 1-event parallel batch "
        f"took {parallel:.2f} s, a 1-event sequential batch {sequential:.2f} s"
    )


def scenario_concurrent_parallel(base: str, scale: float) -> None:
    results = at_once(base, [batch(2 * scale, 16, True) for _ in range(16)])
    finished = sorted(seconds for seconds, _ in results)
    print(
        f"(2) 16 parallel batches of 16 x {2 * scale:g} s sent at once finished after "
        + ", ".join(f"{seconds:.1f}" for seconds in finished)
        + " s"
    )


def scenario_sequential_budget(base: str, scale: float, timeout: float) -> None:
    results: list[Any] = []
    runner = threading.Thread(
        target=lambda: results.extend(at_once(base, [batch(0.5 * scale, 20, False)] * 16))
    )
    runner.start()
    time.sleep(0.5)  # every server thread now holds a batch
    probe, _ = send(base, envelope("sleep", 0))
    runner.join()
    durations = sorted(seconds for seconds, _ in results)
    cut = sorted(timeouts(answer) for _, answer in results)
    print(
        f"(3) 16 sequential batches of 20 x {0.5 * scale:g} s, EVENTS_BATCH_TIMEOUT={timeout:g}:"
        f" each held its thread {durations[0]:.1f}-{durations[-1]:.1f} s;"
        f" slots answered BATCH_TIMEOUT per batch: {cut[0]}-{cut[-1]} of 20;"
        f" a single event sent meanwhile waited {probe:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.5, help="multiplies handler times")
    parser.add_argument("--timeout", type=float, help="EVENTS_BATCH_TIMEOUT (default 2 x scale)")
    parser.add_argument("--code", type=Path, default=HERE.parent, help="checkout to serve")
    args = parser.parse_args()
    timeout = args.timeout if args.timeout is not None else 2 * args.scale

    from bench.run import gunicorn_command
    from tests.servers import free_port, serve

    port = free_port()
    options = ["-k", "gthread", "-w", "1", "--threads", "16", "--timeout", "300"]
    command = gunicorn_command("fairness:app", port, options, chdir=HERE)
    env = {"PYTHONPATH": str(args.code.resolve()), "FAIRNESS_BATCH_TIMEOUT": str(timeout)}
    with serve(command, port, env=env, cwd=args.code.resolve()) as base:
        print("serving", send(base, envelope("where", None))[1]["payload"], flush=True)
        scenario_small_behind_big(base, args.scale)
        scenario_concurrent_parallel(base, args.scale)
        scenario_sequential_budget(base, args.scale, timeout)


if __name__ == "__main__":
    main()
