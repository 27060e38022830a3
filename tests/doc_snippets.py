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
from typing import Optional

DOCS = Path(__file__).resolve().parent.parent / "docs"

_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+])\1{2,}\s*$")


@dataclass
class Snippet:
    page: str
    line: int  # 1-based, of the snippet's first line
    section: str  # the title of the section it is in
    code: str
    runnable: bool


@dataclass
class Block:
    """A literal block (after a paragraph ending ``::``) or a ``.. code-block::``."""

    page: str
    line: int  # 1-based, of its first line
    section: str  # the title of the section it is in
    language: str  # the code-block's, "" for a literal block
    no_run: bool  # a code-block with ``:class: no-run``
    text: str  # dedented, ending with one newline


def literal_blocks(page: str) -> list[Block]:
    """Every literal and code block of ``docs/<page>``, in order."""
    lines = (DOCS / page).read_text().splitlines()
    blocks, section, i = [], "", 0
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
        if body:
            text = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
            language = directive.group(1) if directive else ""
            blocks.append(Block(page, start + 1, section, language, no_run, text))
        i = max(j, i + 1)
    return blocks


#: The blocks of docs/ that no test runs, by page and text, each with the reason.
NOT_RUN = {
    ("quickstart.rst", "pip install Flask-Events-Protocol\n"): "installs from PyPI",
    (
        "quickstart.rst",
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && "
        ".venv/bin/flask --app example_app run --host 127.0.0.1 --port 5000\n",
    ): "makes a venv; README's serve command, whose flask run tests/test_readme.py runs",
    (
        "transports.rst",
        'gunicorn -w 4 "example_app:create_app()"\n',
    ): "four workers; tests/test_websocket.py serves example_app:create_app() by gunicorn",
    (
        "transports.rst",
        "FLASK_SOCKETIO_MESSAGE_QUEUE=redis://127.0.0.1:6379/0 flask --app example_app run"
        " -p 5001\n"
        "FLASK_SOCKETIO_MESSAGE_QUEUE=redis://127.0.0.1:6379/0 flask --app example_app run"
        " -p 5002\n",
    ): "two servers on a Redis at 6379; tests/test_scale_out.py runs them on its own Redis",
    (
        "transports.rst",
        "FLASK_SOCKETIO_MESSAGE_QUEUE=redis://127.0.0.1:6379/0 gunicorn -k gevent -w 1"
        " --no-control-socket --worker-connections 5000 -b 127.0.0.1:8001"
        ' "example_app:create_app()"\n',
    ): "port 8001, Redis at 6379; tests/test_gevent_deploy.py runs it on free ports",
    ("docpage.rst", "python docs/screenshots.py\n"): (
        "rewrites the committed images; tests/test_doc_screenshots.py runs the script into "
        "a temporary directory"
    ),
}


def block_kind(block: Block) -> Optional[str]:
    """What checks ``block`` (tests/test_doc_snippets.py): ``"python"`` (run),
    ``"python no-run"``, ``"json"``, ``"flask"`` (``$ flask`` lines, with the output
    shown under them), ``"curl"`` (one command), ``"js"`` (JavaScript: a ``js`` block,
    or a literal one starting ``const``) or ``"not run"`` (in :data:`NOT_RUN`); None:
    nothing.
    """
    lines = block.text.splitlines()
    if (block.page, block.text) in NOT_RUN:
        return "not run"
    if block.language == "json":
        return "json"
    if block.language in ("python", "py", "pycon", "") and _parses(block.text):
        return "python no-run" if block.no_run else "python"
    commands = [line for line in lines if line.startswith("$ ")]
    if lines[0].startswith("$ flask ") and all(c.startswith("$ flask ") for c in commands):
        return "flask" if all(line.strip() for line in lines) else None
    if re.match(r"(\$ )?curl ", lines[0]) and all(line[:1].isspace() for line in lines[1:]):
        return "curl"
    if block.language in ("js", "javascript") or lines[0].startswith("const "):
        return "js"
    return None


def page_snippets(page: str) -> list[Snippet]:
    """Every Python snippet of ``docs/<page>``, in order."""
    return [
        Snippet(b.page, b.line, b.section, b.text, not b.no_run)
        for b in literal_blocks(page)
        if b.language in ("python", "py", "pycon", "") and _parses(b.text)
    ]


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
    return [(b.line, b.text) for b in literal_blocks(page) if b.language == "json"]


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
