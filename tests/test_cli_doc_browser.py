"""The page ``flask events doc`` writes, opened from the file in a real headless
Chromium: its inline script runs, the filter works across blueprints, and the page
requests nothing but itself.
"""

from __future__ import annotations

import pytest

from .browser import file_page, require_chromium
from .cli_app import create_app

pytestmark = pytest.mark.e2e

require_chromium()  # skips this module where Chromium is missing (fails in CI)


def test_exported_page_works_from_a_file(tmp_path):
    target = tmp_path / "events.html"
    runner = create_app({"TESTING": True}).test_cli_runner()
    result = runner.invoke(args=["events", "doc", "-o", str(target)])
    assert result.exit_code == 0, result.output
    with file_page(target) as (page, errors, requests):
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
