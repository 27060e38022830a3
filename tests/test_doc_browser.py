"""/doc of example_app in a real headless Chromium, served by a real server process."""

from __future__ import annotations

import pytest

from .browser import chromium_browser, require_chromium
from .servers import flask_server

pytestmark = pytest.mark.e2e

require_chromium()  # skips this module where Chromium is missing (fails in CI)


@pytest.fixture(scope="module")
def server():
    with flask_server("tests.doc_app") as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with chromium_browser() as browser:
        yield browser


@pytest.fixture
def page(browser, server, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server}/doc")
    yield page
    page.screenshot(path=str(tmp_path / "doc.png"), full_page=False)
    assert (tmp_path / "doc.png").stat().st_size > 0
    context.close()
    assert errors == []


def test_every_event_is_listed(page):
    listed = page.locator("section.event").evaluate_all(
        "sections => sections.map(s => [s.dataset.name, Number(s.dataset.version)])"
    )
    expected = [
        ["account:deposit", 1],
        ["account:get", 1],
        ["account:list", 1],
        ["account:open", 1],
        ["account:open", 2],
        ["account:statement", 1],
        ["account:withdraw", 1],
        ["batch", 1],
        ["notifications:ping", 1],
        ["notifications:subscribe", 1],
        ["rates:convert", 1],
        ["rates:get", 1],
        ["test:crash", 1],
        ["test:hostile", 1],
        ["test:slow", 1],
    ]
    assert listed == expected
    assert page.locator("#toc li").count() == len(expected)


def test_anchor_of_version_2_scrolls_to_version_2(page, server):
    page.goto(f"{server}/doc#account:open/v2")
    page.wait_for_function("window.scrollY > 0")
    top = page.locator('section[id="account:open/v2"]').evaluate(
        "s => s.getBoundingClientRect().top"
    )
    v1_top = page.locator('section[id="account:open/v1"]').evaluate(
        "s => s.getBoundingClientRect().top"
    )
    assert 0 <= top < 50 and v1_top < 0
    # the table of contents stays in view beside it (a sticky nav), its link shown
    link = page.locator('#toc a[href="#account:open/v2"]')
    assert link.is_visible()
    box = link.bounding_box()
    assert box is not None and 0 <= box["y"] <= box["y"] + box["height"] <= 900


def test_try_it_sends_the_example_and_shows_the_response(page):
    section = page.locator('section[id="account:open/v2"]')
    textarea = section.locator("textarea")
    request = textarea.input_value()
    assert '"nickname": "travel"' in request
    # the example needs a caller: add identity the way a user would, then send
    textarea.fill(request.replace('"identity": {}', '"identity": {"userId": 7}'))
    section.locator("button", has_text="Send").click()
    response = section.locator("pre.response")
    response.wait_for(state="visible")
    assert '"name": "account:open:response"' in response.text_content()
    assert "HTTP 200" in section.locator(".status").text_content()


def test_try_it_on_the_batch_event(page):
    section = page.locator('section[id="batch/v1"]')
    section.locator("button", has_text="Send").click()
    response = section.locator("pre.response")
    response.wait_for(state="visible")
    assert '"name": "batch:response"' in response.text_content()


def test_filter_hides_events_that_do_not_match(page):
    page.fill("#filter", "withdraw")
    visible = page.locator("section.event:visible").evaluate_all(
        "sections => sections.map(s => s.dataset.name)"
    )
    assert visible == ["account:withdraw"]
    assert page.locator("#toc li:visible").count() == 1
    page.fill("#filter", "no such event")
    assert page.locator("section.event:visible").count() == 0
    assert page.locator("#no-match").is_visible()
    page.fill("#filter", "")
    assert page.locator("section.event:visible").count() == 15


def test_hostile_doc_text_is_shown_not_run(page):
    page.wait_for_timeout(200)  # give any injected handler a chance to run
    assert page.evaluate("window.pwned") is None
    section = page.locator('section[id="test:hostile/v1"]')
    assert "<script>window.pwned=1</script>" in section.locator(".doc").text_content()
    assert "</textarea><script>" in section.locator("textarea").input_value()
