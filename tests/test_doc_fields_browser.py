"""/doc in a real headless Chromium: field tables, outcomes, pushes, deprecated
versions and the filter box over names, doc text and field names.
"""

from __future__ import annotations

from typing import Optional

import marshmallow as ma
import pydantic
import pytest
from flask import Flask

from flask_events import EventsBlueprint, NotFound, Unprocessable

from .browser import doc_page_of, require_chromium
from .helpers import DeclaredOrder

pytestmark = pytest.mark.e2e

require_chromium()


class LineSchema(DeclaredOrder):
    sku = ma.fields.String(required=True, metadata={"description": "the article"})
    amount = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1))


class OrderSchema(DeclaredOrder):
    customer = ma.fields.String(required=True, validate=ma.validate.Length(1, 40))
    lines = ma.fields.List(ma.fields.Nested(LineSchema), required=True)
    shipping = ma.fields.Nested(
        DeclaredOrder.from_dict({"street": ma.fields.String(), "zipcode": ma.fields.String()})
    )


class Receipt(pydantic.BaseModel):
    """What an order cost."""

    total: int = pydantic.Field(ge=0, description="in cents")
    previous: Optional[Receipt] = None


class StockSchema(DeclaredOrder):
    sku = ma.fields.String(required=True)
    warehouse_level = ma.fields.Integer(required=True)


def make_app() -> Flask:
    events = EventsBlueprint("shop", __name__)

    @events.handler(
        "order:place",
        1,
        input=OrderSchema,
        output=Receipt,
        doc="Places an order; the kitchen-sink of payloads.",
        errors=[NotFound("No such article", code="UNKNOWN_SKU"), Unprocessable],
        deprecated="use version 2",
    )
    def place_v1(event, order):
        return Receipt(total=1)

    @events.handler("order:place", 2, input=OrderSchema, doc="Places an order.")
    def place_v2(event, order):
        return {}

    @events.handler("order:cancel", 1, doc="Cancels an order before it ships by courier.")
    def cancel(event):
        return {}

    events.pushes(
        "stock:changed",
        1,
        schema=StockSchema,
        doc="Sent when the stock of an article changes.",
        example={"sku": "A-1", "warehouse_level": 3},
    )
    app = Flask(__name__)
    app.config["TESTING"] = True
    app.register_blueprint(events)
    return app


@pytest.fixture(scope="module")
def page():
    with doc_page_of(make_app()) as page:
        yield page


@pytest.fixture(autouse=True)
def cleared_filter(page):
    page.fill("#filter", "")
    yield


def section(page, anchor):
    return page.locator(f'section[id="{anchor}"]')


def field_rows(table):
    return table.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].slice(0, 3).map(c => c.textContent.trim()))"
    )


def test_field_tables_show_nested_objects_and_array_items(page):
    tables = section(page, "order:place/v1").locator("table.fields")
    assert tables.count() == 2
    inputs = tables.nth(0)
    assert inputs.is_visible()
    assert field_rows(inputs) == [
        ["customer", "string", "required"],
        ["lines", "array of object", "required"],
        ["lines[].sku", "string", "required"],
        ["lines[].amount", "integer", "required"],
        ["shipping", "object", "optional"],
        ["shipping.street", "string", "optional"],
        ["shipping.zipcode", "string", "optional"],
    ]
    assert inputs.locator("tr", has_text="lines[].amount").locator("td").nth(3).inner_text() == (
        "≥ 1"
    )
    assert "the article" in inputs.locator("tr", has_text="lines[].sku").inner_text()
    # a nested row is indented under its parent
    parent = inputs.locator("tr", has_text="lines").first.locator("code")
    child = inputs.locator("tr", has_text="lines[].sku").locator("code")
    assert child.bounding_box()["x"] > parent.bounding_box()["x"]
    # pydantic output: $ref'd and recursive
    outputs = field_rows(tables.nth(1))
    assert outputs == [
        ["total", "integer", "required"],
        ["previous", "object (Receipt) | null", "optional"],
    ]


def test_raw_json_schema_is_behind_a_toggle(page):
    raw = section(page, "order:place/v1").locator("details.raw").first
    schema = raw.locator("pre")
    assert not schema.is_visible()
    raw.locator("summary").click()
    assert schema.is_visible() and '"customer"' in schema.text_content()
    raw.locator("summary").click()
    assert not schema.is_visible()


def test_outcomes_list_the_response_declared_errors_and_protocol_errors(page):
    rows = (
        section(page, "order:place/v1")
        .locator(".outcomes tbody tr")
        .evaluate_all(
            "rows => rows.map(r => [r.className, ...[...r.cells].map(c => c.textContent.trim())])"
        )
    )
    by_name = {row[1].split(" v")[0]: row for row in rows}
    assert rows[0][:3] == ["response", "order:place:response v1", "response"]
    assert by_name["order:place:notFound"] == [
        "error",
        "order:place:notFound v1",
        "declared error",
        "UNKNOWN_SKU",
        "No such article",
    ]
    assert by_name["order:place:unprocessable"][3] == "any"
    assert by_name["eventNotFound"][3] == "NO_EVENT_HANDLER_FOUND"
    assert by_name["order:place:badRequest"][3] == "INVALID_PAYLOAD"
    assert section(page, "order:place/v1").locator(".outcomes .error").first.is_visible()


def test_pushes_have_their_section_and_toc_entries(page):
    push = section(page, "push/stock:changed/v1")
    assert push.is_visible()
    assert "Sent when the stock of an article changes." in push.locator(".doc").inner_text()
    assert field_rows(push.locator("table.fields")) == [
        ["sku", "string", "required"],
        ["warehouse_level", "integer", "required"],
    ]
    assert '"warehouse_level": 3' in push.locator("pre.json").last.text_content()
    link = page.locator('#toc-pushes a[href="#push/stock:changed/v1"]')
    assert link.is_visible()
    link.click()
    page.wait_for_function("location.hash === '#push/stock:changed/v1'")
    assert page.locator("h2#pushes").is_visible()
    assert page.locator("section.event").count() == 3  # pushes are not events


def test_deprecated_version_is_marked_in_its_section_and_the_toc(page):
    badge = section(page, "order:place/v1").locator("h2 .badge.deprecated")
    assert badge.inner_text() == "deprecated: use version 2"
    assert section(page, "order:place/v2").locator(".badge.deprecated").count() == 0
    toc = page.locator('#toc li:has(a[href="#order:place/v1"]) .badge.deprecated')
    assert toc.is_visible() and toc.get_attribute("title") == "use version 2"


def visible_sections(page):
    return page.locator("main section.event:visible, main section.push:visible").evaluate_all(
        "sections => sections.map(s => s.id)"
    )


def test_filter_by_a_field_name(page):
    page.fill("#filter", "zipcode")
    assert visible_sections(page) == ["order:place/v1", "order:place/v2"]
    assert page.locator("#toc li:visible").count() == 2
    page.fill("#filter", "WAREHOUSE_level")
    assert visible_sections(page) == ["push/stock:changed/v1"]
    assert page.locator("#toc li:visible").count() == 0
    assert page.locator("#toc-pushes li:visible").count() == 1


def test_filter_by_doc_text_and_the_no_match_note(page):
    page.fill("#filter", "ships  by courier")
    assert visible_sections(page) == ["order:cancel/v1"]
    assert not page.locator("h2#pushes").is_visible()
    page.fill("#filter", "nothing like this")
    assert visible_sections(page) == []
    assert page.locator("#no-match").is_visible()
    page.fill("#filter", "")
    assert len(visible_sections(page)) == 4  # 3 events, 1 push


def test_the_header_links_every_machine_readable_document(page):
    links = page.locator("header a").evaluate_all("links => links.map(a => a.textContent)")
    assert links == ["doc.json", "openapi.json", "asyncapi.json"]
    assert page.locator('header a[href="/asyncapi.json"]').is_visible()
