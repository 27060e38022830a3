"""The Python snippets of the docs, for tests/test_doc_snippets.py and the docpage tests.

A snippet is a literal block (after a paragraph ending ``::``) or a ``.. code-block::
python`` block of a page, that parses as Python. A ``.. code-block:: python`` with
``:class: no-run`` is documented as not runnable (a fragment): it is skipped.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

DOCS = Path(__file__).resolve().parent.parent / "docs"

_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+])\1{2,}\s*$")


@dataclass
class Snippet:
    page: str
    line: int  # 1-based, of the snippet's first line
    section: str  # the title of the section it is in
    code: str
    runnable: bool


def page_snippets(page: str) -> list[Snippet]:
    """Every Python snippet of ``docs/<page>``, in order."""
    return list(_snippets(page, (DOCS / page).read_text().splitlines()))


def _snippets(page: str, lines: list[str]) -> Iterator[Snippet]:
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1]) and line.strip():
            section = line.strip()
        stripped = line.strip()
        directive = re.match(r"\.\.\s+code-block::\s*(\S*)", stripped)
        literal = stripped.endswith("::") and not stripped.startswith("..")
        if not (directive or literal):
            i += 1
            continue
        indent = len(line) - len(line.lstrip())
        python = directive is None or directive.group(1) in ("python", "py", "pycon", "")
        j, no_run = i + 1, False
        if directive:  # its options
            while j < len(lines) and re.match(r"\s+:\w[\w-]*:", lines[j]):
                no_run = no_run or "no-run" in lines[j]
                j += 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        start, body = j, []
        while j < len(lines) and (
            not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent
        ):
            body.append(lines[j])
            j += 1
        code = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
        if body and python and _parses(code):
            yield Snippet(page, start + 1, section, code, not no_run)
        i = max(j, i + 1)


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def json_blocks(page: str) -> list[tuple[int, str]]:
    """Every ``.. code-block:: json`` block of ``docs/<page>``: (its first line, 1-based;
    its text), in order.
    """
    lines = (DOCS / page).read_text().splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if not re.match(r"\s*\.\.\s+code-block::\s*json\s*$", line):
            continue
        indent = len(line) - len(line.lstrip())
        j = i + 1
        while j < len(lines) and re.match(r"\s+:\w[\w-]*:", lines[j]):
            j += 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        start, body = j, []
        while j < len(lines) and (
            not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent
        ):
            body.append(lines[j])
            j += 1
        blocks.append((start + 1, textwrap.dedent("\n".join(body)).strip() + "\n"))
    return blocks


def console_commands(page: str, program: str) -> list[tuple[int, str, list[str]]]:
    """Every ``$ PROGRAM ...`` line of ``docs/<page>``: (its line, 1-based; the command
    after ``$ ``; the output lines shown under it, up to a blank line or the next
    ``$``, stripped), in order.
    """
    lines = (DOCS / page).read_text().splitlines()
    found = []
    for i, line in enumerate(lines):
        if not line.strip().startswith(f"$ {program} "):
            continue
        shown = []
        for after in lines[i + 1 :]:
            if not after.strip() or after.strip().startswith("$ "):
                break
            shown.append(after.strip())
        found.append((i + 1, line.strip()[2:], shown))
    return found
