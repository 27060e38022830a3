"""/doc above EVENTS_DOC_INLINE_MAX events: each section holds its header and search
text, and its details come from <doc>/event when the section nears the viewport, is
linked to or gets the focus; ``flask events doc`` still writes every detail inline.
"""

from __future__ import annotations

import re
from typing import Any, Optional

import pytest
from flask import Flask
from marshmallow import Schema, fields

from example_app import create_app as create_example_app
from flask_events import EventsBlueprint

from .browser import doc_page_of, file_page, try_it

#: How many events the large app has; the far one is the 100th.
COUNT = 120
FAR = "lazy:e099/v1"
HOSTILE = '<script>window.pwned=1</script> <img src=x onerror="window.pwned=2">'


class Item(Schema):
    sku = fields.String(required=True, metadata={"description": "the product code"})
    quantity = fields.Integer(required=True)


class FarInput(Schema):
    zanzibar_code = fields.String(required=True, metadata={"description": "only here"})


def create_large_app(config: Optional[dict[str, Any]] = None) -> Flask:
    """An app with COUNT events (``lazy:e000`` ...), each with field tables; the
    100th alone has a field ``zanzibar_code``; ``lazy:hostile`` has hostile doc text.
    """
    events = EventsBlueprint("events", __name__)
    for index in range(COUNT):
        far = index == 99
        events.add(
            f"lazy:e{index:03d}",
            1,
            lambda event, payload: {"sku": "A-1", "quantity": 1},
            doc=f"Event number {index}.\n\nIt answers one item.",
            input=FarInput if far else Item,
            output=Item,
            example=(
                {"zanzibar_code": "Z"} if far else {"sku": "B", "quantity": 2},
                {"sku": "A-1", "quantity": 1},
            ),
        )
    events.add("lazy:hostile", 1, lambda event: None, doc=HOSTILE)
    app = Flask(__name__)
    app.config.update({"TESTING": True, **(config or {})})
    app.register_blueprint(events)
    return app


def _sections(html: str) -> list[str]:
    return re.findall(r'<section class="event".*?</section>', html, re.DOTALL)


# -- the server's side ------------------------------------------------------------------


def test_a_page_above_the_inline_max_holds_headers_without_details():
    client = create_large_app().test_client()
    html = client.get("/doc").get_data(as_text=True)
    sections = _sections(html)
    assert len(sections) == COUNT + 1
    for section in sections:
        assert 'class="fields"' not in section and 'class="try"' not in section
        assert 'class="snippets"' not in section
        assert 'aria-busy="true"' in section and "data-search=" in section
    far = next(s for s in sections if f'id="{FAR}"' in s)
    assert "zanzibar_code" in far  # its search text has its field names
    assert '<a href="/doc/event?name=lazy:e099&amp;version=1">' in far


def test_the_event_route_answers_the_details_of_one_event():
    client = create_large_app().test_client()
    body = client.get("/doc/event?name=lazy:e099&version=1")
    assert body.status_code == 200
    text = body.get_data(as_text=True)
    assert text.strip().startswith('<div class="body">')
    assert "zanzibar_code" in text and 'class="fields"' in text and 'class="try"' in text


@pytest.mark.parametrize(
    "query",
    [
        "name=nope&version=1",
        "name=lazy:e001&version=2",
        "name=lazy:e001&version=x",
        "name=lazy:e001",
        "version=1",
        "name=%3Cscript%3E&version=1",
    ],
)
def test_the_event_route_answers_404_for_an_unknown_event(query):
    response = create_large_app().test_client().get(f"/doc/event?{query}")
    assert response.status_code == 404
    assert b"<script>" not in response.data


def test_the_event_route_escapes_author_text():
    text = (
        create_large_app()
        .test_client()
        .get("/doc/event?name=lazy:hostile&version=1")
        .get_data(as_text=True)
    )
    assert "<script>window.pwned" not in text and "<img src=x" not in text
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in text


def test_a_lazy_body_is_what_the_inline_page_shows():
    lazy = create_large_app().test_client()
    inline = create_large_app({"EVENTS_DOC_INLINE_MAX": None}).test_client()
    fetched = lazy.get("/doc/event?name=lazy:e005&version=1").get_data(as_text=True)
    section = next(
        s for s in _sections(inline.get("/doc").get_data(as_text=True)) if 'id="lazy:e005/v1"' in s
    )
    assert fetched.strip() in section


def test_events_doc_inline_max_is_read_when_the_page_is_rendered():
    app = create_example_app({"TESTING": True})
    client = app.test_client()
    assert "data-body-url" not in client.get("/doc").get_data(as_text=True)
    app.config["EVENTS_DOC_INLINE_MAX"] = 2
    html = client.get("/doc").get_data(as_text=True)
    assert html.count("data-body-url") == len(_sections(html)) > 2
    assert 'class="fields"' in html  # the error payload's table; pushes stay inline
    app.config["EVENTS_DOC_INLINE_MAX"] = None
    assert "data-body-url" not in client.get("/doc").get_data(as_text=True)


def test_the_search_text_follows_a_handler_added_after_a_render():
    events = EventsBlueprint("events", __name__)
    events.add("first", 1, lambda event: None, input=Item)
    app = Flask(__name__)
    app.config.update(TESTING=True, EVENTS_DOC_INLINE_MAX=0)
    app.register_blueprint(events)
    client = app.test_client()
    assert "zanzibar_code" not in client.get("/doc").get_data(as_text=True)
    events.add("second", 1, lambda event: None, input=FarInput)
    html = client.get("/doc").get_data(as_text=True)
    assert len(_sections(html)) == 2 and "zanzibar_code" in html


# -- the export -------------------------------------------------------------------------


def _export(app: Flask, tmp_path) -> str:
    target = tmp_path / "events.html"
    result = app.test_cli_runner().invoke(args=["events", "doc", "-o", str(target)])
    assert result.exit_code == 0, result.output
    return target.read_text(encoding="utf-8")


def test_the_export_of_a_large_app_holds_every_body_inline_and_no_snippet(tmp_path):
    page = _export(create_large_app(), tmp_path)
    sections = _sections(page)
    assert len(sections) == COUNT + 1
    main = page[page.index("<main>") : page.index("</main>")]
    assert "data-body-url" not in main and "aria-busy" not in main
    assert all('<div class="body">' in section for section in sections)
    assert sum('class="fields"' in section for section in sections) == COUNT
    assert 'class="snippets"' not in page and "localhost" not in page
    assert "&lt;script&gt;window.pwned=1" in page and "<script>window.pwned" not in page


def _pushing_app() -> Flask:
    app = Flask(__name__)
    app.config["TESTING"] = True
    for key in ("alpha", "beta"):
        events = EventsBlueprint(key, __name__)
        events.add(f"{key}:ask", 1, lambda event: None)
        events.pushes(f"{key}:told", 1, doc=f"Pushed by {key}.")
        app.register_blueprint(events, url_prefix=f"/{key}")
    return app


def test_the_export_of_several_blueprints_keeps_each_ones_pushes_table(tmp_path):
    page = _export(_pushing_app(), tmp_path)
    nav = page[page.index("<nav") : page.index("</nav>")]
    for key in ("alpha", "beta"):
        table = re.search(
            rf'<ul id="{key}/toc-pushes" aria-labelledby="([^"]*)">(.*?)</ul>', nav, re.DOTALL
        )
        assert table is not None, nav
        assert f'id="{table.group(1)}"' in nav
        assert re.findall(r'href="#([^"]*)"', table.group(2)) == [f"{key}/push/{key}:told/v1"]
        assert f'<section class="push" id="{key}/push/{key}:told/v1"' in page
    assert 'id="toc-pushes"' not in page


# -- in the browser ---------------------------------------------------------------------


@pytest.fixture
def large_page():
    with doc_page_of(create_large_app()) as page:
        page.wait_for_load_state("load")
        yield page


def _loaded(page, section: str):
    return page.locator(f'section[id="{section}"] > .body:not([data-body-url])')


@pytest.mark.e2e
def test_scrolling_loads_the_details_of_the_sections_it_reaches(large_page):
    _loaded(large_page, "lazy:e000/v1").locator("table.fields").first.wait_for()
    assert _loaded(large_page, "lazy:e060/v1").count() == 0
    target = large_page.locator('section[id="lazy:e060/v1"]')
    for _ in range(200):
        if target.evaluate("s => s.getBoundingClientRect().top < innerHeight"):
            break
        large_page.mouse.wheel(0, 800)
        large_page.wait_for_timeout(20)
    _loaded(large_page, "lazy:e060/v1").locator("table.fields").first.wait_for(timeout=30_000)


@pytest.mark.e2e
def test_a_deep_link_to_a_far_event_shows_its_details():
    app = create_large_app()
    with doc_page_of(app, f"#{FAR}") as page:
        body = _loaded(page, FAR)
        body.locator("table.fields code", has_text="zanzibar_code").wait_for(timeout=30_000)
        page.wait_for_load_state("networkidle")
        box = page.locator(f'section[id="{FAR}"]').evaluate(
            "s => { const r = s.getBoundingClientRect();"
            " return r.top < innerHeight && r.bottom > 0; }"
        )
        assert box, "the linked section is in view"
        # a link followed later (hashchange) loads its section too
        assert _loaded(page, "lazy:e010/v1").count() == 0
        page.evaluate("location.hash = '#lazy:e010/v1'")
        _loaded(page, "lazy:e010/v1").locator("table.fields").first.wait_for()


@pytest.mark.e2e
def test_the_filter_finds_a_far_event_by_a_field_name_and_shows_its_details(large_page):
    large_page.fill("#filter", "zanzibar")
    visible = large_page.locator("section.event:visible")
    visible.first.wait_for()
    assert visible.count() == 1 and visible.get_attribute("id") == FAR
    _loaded(large_page, FAR).locator("table.fields code", has_text="zanzibar_code").wait_for()


@pytest.mark.e2e
def test_keyboard_alone_reaches_a_lazy_events_send_and_sends(large_page):
    """Type into the filter, Tab to the far event's header link (its details load),
    then on to its Send button; Enter sends. Keys only, no clicks."""
    large_page.locator("#filter").focus()
    large_page.keyboard.type("zanzibar")
    section = None
    for _ in range(80):
        large_page.keyboard.press("Tab")
        where = large_page.evaluate(
            "() => { const e = document.activeElement, s = e && e.closest('section');"
            " return [s ? s.id : null, e.matches('form.try button[type=submit]')]; }"
        )
        if where[0] == FAR and section is None:
            section = where[0]  # the header link: its details come before the next Tab
            large_page.locator(f'section[id="{FAR}"] form.try').wait_for(timeout=30_000)
        if where[1]:
            break
    assert where == [FAR, True]
    large_page.keyboard.press("Enter")
    form = large_page.locator(f'section[id="{FAR}"] form.try')
    form.locator('.status:text("HTTP 200")').wait_for(timeout=30_000)
    assert form.get_attribute("data-outcome") == "response"


@pytest.mark.e2e
def test_a_fetched_bodys_copy_button_and_try_it_work(large_page):
    body = _loaded(large_page, "lazy:e001/v1")
    body.wait_for()
    snippet = body.locator("details.snippet").first
    snippet.locator("summary").click()
    snippet.locator("button.copy").click()
    snippet.locator(".copied", has_text=re.compile("Copied|Not copied")).wait_for()
    form = try_it(large_page, "lazy:e001/v1")
    assert form.get_attribute("data-outcome") == "response"


@pytest.mark.e2e
def test_axe_reports_no_violations_on_the_large_page(large_page):
    axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")
    _loaded(large_page, "lazy:e000/v1").wait_for()
    for scheme in ("light", "dark"):
        large_page.emulate_media(color_scheme=scheme)
        results = axe_playwright.Axe().run(large_page)
        summary = [(v["id"], len(v["nodes"])) for v in results.response["violations"]]
        assert summary == [], results.generate_report()


@pytest.mark.e2e
def test_the_example_app_under_a_small_inline_max_loads_its_details_and_sends():
    with doc_page_of(create_example_app({"TESTING": True, "EVENTS_DOC_INLINE_MAX": 1})) as page:
        anchor = page.locator("section.event").first.get_attribute("id")
        _loaded(page, anchor).locator("form.try").wait_for()
        form = try_it(page, anchor)
        assert form.get_attribute("data-state") == "done"


@pytest.mark.e2e
def test_the_exported_large_page_works_from_a_file(tmp_path):
    _export(create_large_app(), tmp_path)
    with file_page(tmp_path / "events.html", f"#{FAR}") as (page, errors, requests):
        page.fill("#filter", "zanzibar")
        visible = page.locator("section.event:visible")
        assert visible.count() == 1
        assert visible.locator("table.fields code", has_text="zanzibar_code").count() == 1
        assert errors == [] and requests == [(tmp_path / "events.html").as_uri()]
