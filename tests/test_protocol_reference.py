"""docs/protocol.rst is the only protocol reference: nothing in the repository points
to a protocol file outside it, and every ``docs/protocol.rst#<label>`` the code names is a
label of that page.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = ROOT / "docs" / "protocol.rst"


#: Folders of a working tree that are not the project's files.
NOT_THE_PROJECTS = {".git", ".tox", ".venv", "node_modules", "_build", "__pycache__"}


def project_files() -> list[Path]:
    """The project's files: git's list in a checkout; every file below the root
    otherwise (an unpacked source distribution), less tools' folders.
    """
    try:
        listed = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        listed = []
    if listed:
        return [ROOT / name for name in listed]
    return [
        path
        for path in ROOT.rglob("*")
        if not NOT_THE_PROJECTS & set(path.relative_to(ROOT).parts)
    ]


def repository_texts():
    for path in project_files():
        if not path.is_file():
            continue
        try:
            yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # not a text file


def test_no_file_points_to_an_outside_protocol_file():
    bad = [name for name, text in repository_texts() if re.search(r"PROTOCOL(\.md| §)", text)]
    assert bad == []


def test_every_referenced_protocol_section_is_a_label_of_the_page():
    labels = set(re.findall(r"^\.\. _([a-z0-9-]+):$", PROTOCOL.read_text(), re.M))
    named = {
        label
        for _, text in repository_texts()
        for label in re.findall(r"docs/protocol\.rst#([a-z0-9-]+)", text)
    }
    assert named and named <= labels, named - labels


def test_the_limits_table_names_real_keys_with_their_defaults():
    from flask_events.config import DEFAULT_CONFIG

    text = PROTOCOL.read_text(encoding="utf-8")
    section = text[text.index(".. _limits:") : text.index(".. _sockets:")]
    rows = re.findall(r"^``(EVENTS_\w+)``\s+(.+?)\s{2,}", section, re.M)
    units = {"MiB": 1024 * 1024, "seconds": 1}
    shown = {}
    for key, default in rows:
        number, _, unit = default.partition(" ")
        shown[key] = int(number) * units.get(unit, 1)
    assert len(shown) == 6
    assert shown == {key: DEFAULT_CONFIG[key] for key in shown}
