"""bench/run.py's record: rows merged into the last recorded ones, each with its own
run, trials kept out of bench/results.json, and wrk's answers checked (what the
figures are is never asserted here)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from bench import record, run

from .servers import ROOT


def row(ratio: float, command: str, date: str) -> dict[str, Any]:
    return {
        "ours": 1.0,
        "baseline": 1.0,
        "ratio": ratio,
        "ratio_min": ratio - 0.01,
        "ratio_max": ratio + 0.01,
        "rounds": 5,
        "per_side": "5.0 s (10 slices of 0.5 s)",
        "seconds": 5.0,
        "notes": ["a note of this row"],
        "command": command,
        "date": date,
        "commit": "abc1234",
    }


def test_an_only_run_merges_its_rows_and_a_trial_leaves_the_record_alone(tmp_path):
    recorded = (ROOT / "bench" / "results.json").read_bytes()
    output = tmp_path / "trial.md"
    (tmp_path / "trial.json").write_text("{}")  # a trial store of its own, not seeded
    first = {key: row(0.95, "python -m bench.run", "day 1") for key in ("core", "socketio")}
    run.record_rows(first, "python -m bench.run", str(output))
    only = {"socketio": row(0.97, "python -m bench.run --only socketio", "day 2")}
    body = run.record_rows(only, "python -m bench.run --only socketio", str(output))

    assert (ROOT / "bench" / "results.json").read_bytes() == recorded
    saved = record.load("ratios", store=tmp_path / "trial.json")
    assert saved is not None
    assert set(saved["data"]["rows"]) == {"core", "socketio"}
    assert saved["data"]["rows"]["core"]["date"] == "day 1"
    assert saved["data"]["rows"]["socketio"]["ratio"] == 0.97
    text = output.read_text()
    assert text == record.render(record.read_store(tmp_path / "trial.json"))
    assert "Commands: in the rows" in text  # two runs' rows: no single command claimed
    assert "- (a): `python -m bench.run`" in body
    assert "- (f): `python -m bench.run --only socketio`" in body
    assert (
        "| 0.97 (0.96-0.98) | >= 0.9 | yes | 5 x 5.0 s (10 slices of 0.5 s) | day 2, abc1234 |"
        in body
    )
    assert "- (f) a note of this row." in body


def test_every_row_says_its_rounds_and_time_per_side_no_header_claims_one():
    body = run.report({"core": row(0.6, "c", "d"), "parallel": row(9.0, "c", "d")})
    assert "measured for" not in body and "seconds per round" not in body
    assert body.count("| 5 x 5.0 s (10 slices of 0.5 s) |") == 2


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk (Debian package)")
def test_wrk_fails_the_benchmark_on_an_answer_that_is_not_the_response():
    # an unknown version: answered 200 with eventNotFound, which wrk alone counts as fine
    unknown = run.ENVELOPE.replace(b'"version":42', b'"version":43')
    assert unknown != run.ENVELOPE
    script = run.wrk_script(unknown)
    try:
        with run.gunicorn_server() as base:
            with pytest.raises(RuntimeError):
                run.wrk(f"{base}/events", 1, script, 2)
    finally:
        Path(script).unlink(missing_ok=True)
