"""The load of benchmark (g), ``bench/many_websockets.py``: N WebSocket connections to
one URL, each sending the sample envelope once a second at a random phase, answers
matched by id; from node's ``ws`` (``bench/many_websockets_client.js``, a process of its
own) or from asyncio ``websockets`` in this process. Either way the figures of one run:
the tally, latencies, the worker's RSS under load, and the CPU of worker and client
(read from /proc and ``getrusage``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import resource
import select
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from websockets.asyncio.client import connect

from bench.run import ENVELOPE

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE.parent / "tests" / "js" / "node_modules"
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
