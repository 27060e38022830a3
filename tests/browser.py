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
def doc_page_of(app: Any) -> Iterator[Any]:
    """A Chromium page showing ``app``'s /doc, the app served on a free loopback port
    for the duration of the block.
    """
    from .servers import serve_in_thread

    sync_api = require_chromium()
    with serve_in_thread(app) as base, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{base}/doc")
            yield page
        finally:
            browser.close()


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
