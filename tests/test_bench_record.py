"""The benchmark record: bench/RESULTS.md is written whole from bench/results.json by
``bench/record.py`` and never by hand (what the figures are is never asserted here)."""

from __future__ import annotations

import json

from bench import record

from .servers import ROOT


def test_results_md_is_what_the_store_renders():
    sections = json.loads((ROOT / "bench" / "results.json").read_text())
    assert (ROOT / "bench" / "RESULTS.md").read_text() == record.render(sections)


def test_a_save_replaces_only_its_own_section_and_renders_the_file_whole(tmp_path):
    store, results = tmp_path / "results.json", tmp_path / "RESULTS.md"
    for key, body in [("fanout", "first h"), ("ratios", "a-f"), ("zz_extra", "z")]:
        record.save(key, title=key.upper(), command=f"run {key}", body=body,
                    store=store, results=results)  # fmt: skip
    record.save("fanout", title="FANOUT", command="run fanout --again", body="second h",
                data={"ratio": 0.93}, store=store, results=results)  # fmt: skip

    text = results.read_text()
    assert text.startswith(record.PREAMBLE)
    assert "first h" not in text and "second h" in text and "a-f" in text
    # in record.ORDER, unknown keys last; each with the command that produced it
    assert text.index("## RATIOS") < text.index("## FANOUT") < text.index("## ZZ_EXTRA")
    assert "Command: `run fanout --again`" in text
    assert record.load("fanout", store=store)["data"] == {"ratio": 0.93}
    assert record.load("missing", store=store) is None


def test_every_section_says_when_where_and_on_which_commit(tmp_path):
    store, results = tmp_path / "results.json", tmp_path / "RESULTS.md"
    record.save("ratios", title="R", command="c", body="b", store=store, results=results)
    saved = record.load("ratios", store=store)
    assert saved is not None
    assert saved["cores"] and saved["python"] and saved["date"].endswith("UTC")
    assert saved["commit"]
    if (ROOT / ".git").exists():  # not in the unpacked sdist
        assert saved["commit"] != "unknown"
    line = next(line for line in results.read_text().splitlines() if line.startswith("Recorded"))
    assert saved["date"] in line and f"commit {saved['commit']}" in line
    assert "by hand" not in line


def test_sections_written_by_hand_say_so():
    sections = json.loads((ROOT / "bench" / "results.json").read_text())
    text = record.render(sections)
    for section in sections.values():
        if section.get("by_hand"):
            heading = text.index(f"## {section['title']}\n")
            assert "Written by hand before `bench/record.py` existed." in text[heading:][:600]
