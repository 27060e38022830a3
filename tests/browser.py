"""Debian's headless Chromium, driven by playwright, for the tests of the /doc page:
one place that finds it and says what to do when it is missing.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

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
