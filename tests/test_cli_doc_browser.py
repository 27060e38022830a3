"""The page ``flask events doc`` writes, opened from the file in a real headless
Chromium: its inline script runs, the filter works across blueprints, and the page
requests nothing but itself.
"""

from __future__ import annotations

import pytest

from .browser import CHROMIUM, CHROMIUM_ARGS, require_chromium
from .cli_app import create_app

pytestmark = pytest.mark.e2e

sync_api = require_chromium()


def test_exported_page_works_from_a_file(tmp_path):
    target = tmp_path / "events.html"
    runner = create_app({"TESTING": True}).test_cli_runner()
    result = runner.invoke(args=["events", "doc", "-o", str(target)])
    assert result.exit_code == 0, result.output
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            errors, requests = [], []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(target.as_uri())
            assert page.locator("section.event").count() == 7
            page.fill("#filter", "twice")
            visible = page.locator("section.event:visible")
            assert visible.count() == 2
            assert [visible.nth(i).get_attribute("id") for i in range(2)] == [
                "v1.shared/twice/v1",
                "v2.shared/twice/v1",
            ]
            assert page.locator("#toc li:visible").count() == 2
            assert page.locator("form").count() == 0
            assert errors == []
            assert requests == [target.as_uri()]
        finally:
            browser.close()
