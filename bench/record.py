"""The benchmark record: ``bench/results.json`` holds one section per benchmark script,
and ``bench/RESULTS.md`` is rendered whole from it every time a section is saved.

A script saves what its own run measured::

    from bench import record

    record.save(
        "many_websockets",
        title="(g) many WebSockets",
        command="python -m bench.many_websockets",
        body=markdown_table_and_notes,
        data={"rows": [...]},  # machine-readable figures, read back with record.load()
    )

Each section carries the command that produced it, when, on which commit and machine:
a section is never merged by hand from several runs, and a script that measured only
part of its benchmarks (``bench.run --only``) merges its rows into its own section
through ``data`` (see :func:`load`). Sections recorded before this file existed are
kept as they were written, each with the date and command it gave.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import re
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STORE = HERE / "results.json"
RESULTS = HERE / "RESULTS.md"
RECORD = ("RESULTS.md", "results.json")  # the files a save writes: not "changes" to the code

#: The order of the sections in RESULTS.md; a key not listed comes after these.
ORDER = [
    "ratios",
    "many_websockets",
    "fanout",
    "doc_page",
    "soak",
    "fuzz",
    "hardening",
    "flask_native",
    "house",
]

PREAMBLE = """\
# Benchmark results

Written by the benchmark scripts (`bench/record.py`), never by hand: each section
below is the last run of one script, with its command, date, commit and machine.
Every ratio compares two things measured in the same run on the same machine, which
is shared: absolute figures vary by 10% or more from run to run, the ratios much
less. The machine has 2 cores; where a client runs beside the server, its section
says what the client costs.
"""


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, or ``"unknown CPU"``."""
    with contextlib.suppress(OSError, AttributeError):
        text = Path("/proc/cpuinfo").read_text()
        return re.search(r"model name\s*:\s*(.+)", text).group(1).strip()  # type: ignore[union-attr]
    return "unknown CPU"


def commit() -> str:
    """The checkout's short commit, with ``+changes`` when its tracked files differ."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "diff",
                "--quiet",
                "HEAD",
                "--",
                ".",
                ":!bench/RESULTS.md",
                ":!bench/results.json",
            ],
            cwd=HERE.parent,
            timeout=10,
        ).returncode
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def environment() -> dict[str, Any]:
    """When and where a run happened: date and time (UTC), commit, Python, cores, CPU."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
    }


def read_store(store: Path = STORE) -> dict[str, dict[str, Any]]:
    """Every saved section by key (empty when nothing was saved yet)."""
    if not store.exists():
        return {}
    return json.loads(store.read_text())


def load(key: str, store: Path = STORE) -> dict[str, Any] | None:
    """The saved section ``key`` (``title``, ``command``, ``body``, ``data`` and the
    :func:`environment` fields), or ``None``."""
    return read_store(store).get(key)


def render(sections: dict[str, dict[str, Any]]) -> str:
    """RESULTS.md for ``sections``: the preamble, then each section in :data:`ORDER`."""
    keys = [key for key in ORDER if key in sections]
    keys += sorted(key for key in sections if key not in ORDER)
    parts = [PREAMBLE]
    for key in keys:
        section = sections[key]
        parts.append(f"## {section['title']}\n")
        command = (
            f"Command: `{section['command']}`" if section["command"] else "Commands: in the rows"
        )
        where = f", commit {section['commit']}" if section["commit"] else ""
        provenance = (
            f"{command}  \n"
            f"Recorded: {section['date']}{where}; Python "
            f"{section['python']}; {section['cores']} cores ({section['cpu']})."
        )
        if section.get("by_hand"):
            provenance += " Written by hand before `bench/record.py` existed."
        parts.append(provenance + "\n")
        parts.append(section["body"].strip() + "\n")
    return "\n".join(parts)


def save(
    key: str,
    *,
    title: str,
    command: str,
    body: str,
    data: dict[str, Any] | None = None,
    store: Path = STORE,
    results: Path = RESULTS,
) -> None:
    """Save one script's run as section ``key`` (replacing that section's last run)
    and render ``results`` whole from every saved section."""
    sections = read_store(store)
    sections[key] = {
        "title": title,
        "command": command,
        "body": body,
        "data": data or {},
        **environment(),
    }
    store.write_text(json.dumps(sections, indent=1, ensure_ascii=False) + "\n")
    results.write_text(render(sections))
