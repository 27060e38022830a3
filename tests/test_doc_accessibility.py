"""/doc of example_app is accessible: axe-core finds nothing in light and dark mode,
it works from the keyboard alone, and it follows prefers-color-scheme.
"""

from __future__ import annotations

import pytest

from example_app import create_app

from .browser import doc_page_of, require_chromium

pytestmark = pytest.mark.e2e

require_chromium()
axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")


@pytest.fixture
def page():
    with doc_page_of(create_app({"TESTING": True})) as page:
        page.wait_for_load_state("load")
        yield page


def _violations(page):
    results = axe_playwright.Axe().run(page)
    summary = [
        (violation["id"], violation["impact"], len(violation["nodes"]))
        for violation in results.response["violations"]
    ]
    return summary, results.generate_report() if summary else ""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_reports_no_violations_on_the_doc_page(page, scheme):
    page.emulate_media(color_scheme=scheme)
    summary, report = _violations(page)
    assert summary == [], report


def test_a_raw_schema_opened_and_a_filtered_page_stay_without_violations(page):
    page.emulate_media(color_scheme="dark")
    page.locator("details.raw summary").first.click()
    page.fill("#filter", "account")
    summary, report = _violations(page)
    assert summary == [], report


def test_keyboard_alone_reaches_a_send_button_and_sends(page):
    """From the top of the page, Tab until a try-it Send button has the focus, then
    Enter: the answer shows. Keys only, no clicks."""
    page.locator("body").evaluate("body => body.focus()")
    for _ in range(400):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e && e.matches('form.try button[type=submit]')"
            " ? e.closest('section').id : null; }"
        )
        if focused:
            break
    else:
        pytest.fail("400 presses of Tab never reached a try-it Send button")
    page.keyboard.press("Enter")
    form = page.locator(f'section[id="{focused}"] form.try')
    form.locator("pre.response").wait_for(state="visible", timeout=30_000)
    assert f'"name": "{focused.split("/")[0]}' in form.locator("pre.response").text_content()
    assert "HTTP 200" in form.locator(".status").text_content()


def test_dark_mode_follows_prefers_color_scheme(page):
    def colors():
        return page.evaluate(
            "() => [getComputedStyle(document.body).backgroundColor,"
            " getComputedStyle(document.body).color]"
        )

    page.emulate_media(color_scheme="light")
    light = colors()
    page.emulate_media(color_scheme="dark")
    dark = colors()
    assert light[0] != dark[0] and light[1] != dark[1]
    assert light[0] == "rgb(255, 255, 255)"
    # dark: a dark background under light text
    channels = [int(c) for c in dark[0][4:-1].split(",")]
    assert max(channels) < 64
