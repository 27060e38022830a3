"""Screenshots of the /doc page for docpage.rst: ``doc-light.png`` and ``doc-dark.png``.

    python docs/screenshots.py              # writes docs/_static/doc-{light,dark}.png
    python docs/screenshots.py OUTPUT_DIR   # elsewhere (the test suite does)

(from the repository root, with the test extras installed). It serves the example app
(``example_app.create_app()``) on a free loopback port, opens its /doc in Debian's
headless Chromium (the one the browser tests use, tests/browser.py) at a 1280x800
viewport, once with ``prefers-color-scheme: light`` and once ``dark``, and saves the
first screen of each.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # example_app and tests/ live beside docs/, not installed

from example_app import create_app  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

VIEWPORT = {"width": 1280, "height": 800}
SCHEMES = ("light", "dark")


@contextlib.contextmanager
def serve_example_app() -> Iterator[str]:
    """The example app on a free loopback port (werkzeug, in a thread); its base URL."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args: object) -> None:  # no access log on the console
            pass

    server = make_server("127.0.0.1", 0, create_app(), threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def take(output: Path) -> list[Path]:
    """Write ``doc-light.png`` and ``doc-dark.png`` into ``output``; their paths."""
    from playwright.sync_api import sync_playwright

    output.mkdir(parents=True, exist_ok=True)
    written = []
    with serve_example_app() as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for scheme in SCHEMES:
                context = browser.new_context(
                    viewport=VIEWPORT, color_scheme=scheme, reduced_motion="reduce"
                )
                page = context.new_page()
                # networkidle: sections whose details the page fetches on demand have them
                page.goto(f"{base}/doc", wait_until="networkidle", timeout=60_000)
                page.locator("section.event").first.wait_for(state="attached", timeout=30_000)
                path = output / f"doc-{scheme}.png"
                page.screenshot(path=str(path), full_page=False, animations="disabled")
                context.close()
                written.append(path)
        finally:
            browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "output", nargs="?", type=Path, default=ROOT / "docs" / "_static", help="a directory"
    )
    for path in take(parser.parse_args().output):
        print(path)


if __name__ == "__main__":
    main()
