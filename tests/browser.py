"""Debian's headless Chromium, driven by playwright, for the tests of the /doc page:
one place that finds it and says what to do when it is missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from typing import Any, Optional

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

#: Headless, and nothing that reaches beyond 127.0.0.1.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> Any:
    """playwright's sync API, once Chromium is known to be installed; otherwise skip
    (at module level too), or fail in CI, which must install it.
    """
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium package", pytrace=False)
        pytest.skip(
            "headless Chromium is not installed (apt-get install chromium)",
            allow_module_level=True,
        )
    return pytest.importorskip("playwright.sync_api")


@contextlib.contextmanager
def chromium_browser() -> Iterator[Any]:
    """Debian's headless Chromium (a playwright ``Browser``), closed after the block."""
    sync_api = require_chromium()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def doc_page_of(app: Any, fragment: str = "") -> Iterator[Any]:
    """A Chromium page showing ``app``'s /doc (``fragment``: ``"#name/v1"``, say), the
    app served on a free loopback port for the duration of the block.
    """
    from .servers import serve_in_thread

    with serve_in_thread(app) as base, chromium_browser() as browser:
        page = browser.new_page()
        page.goto(f"{base}/doc{fragment}")
        yield page


@contextlib.contextmanager
def file_page(path: Any, fragment: str = "") -> Iterator[tuple[Any, list[str], list[str]]]:
    """A Chromium page showing the file ``path`` (an exported /doc), with the page's
    errors and every URL it requested, collected as it runs.
    """
    with chromium_browser() as browser:
        page = browser.new_page()
        errors: list[str] = []
        requests: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        page.goto(f"{path.as_uri()}{fragment}")
        yield page, errors, requests


def try_it(page: Any, section: str, typed: Optional[str] = None) -> Any:
    """Send the "try it" form of the event section ``section`` (``"name/v1"``), with
    ``typed`` as its envelope when given, and wait for its HTTP 200; the form.
    """
    form = page.locator(f'section[id="{section}"] form.try')
    form.evaluate("f => f.removeAttribute('data-state')")
    if typed is not None:
        form.locator("textarea").fill(typed)
    form.locator("button", has_text="Send").click()
    form.locator('.status:text("HTTP 200")').wait_for(timeout=30_000)
    return form
