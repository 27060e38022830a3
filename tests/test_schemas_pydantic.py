"""Declared handlers with pydantic models (skipped only where pydantic is absent)."""

from __future__ import annotations

import pytest

from flask_events import EventsBlueprint, ExampleError

from .helpers import make_app, send

pydantic = pytest.importorskip("pydantic")


@pytest.fixture
def events():
    return EventsBlueprint("events", __name__)


class Item(pydantic.BaseModel):
    sku: str
    quantity: int = pydantic.Field(gt=0)


class Order(pydantic.BaseModel):
    customer: str
    items: list[Item]


class OrderOut(pydantic.BaseModel):
    id: int
    total: int


def test_pydantic_input_and_output(events):
    @events.handler(
        "order:create",
        1,
        input=Order,
        output=OrderOut,
        example=({"customer": "c", "items": [{"sku": "a", "quantity": 1}]}, {"id": 1, "total": 1}),
    )
    def create(event, order):
        assert isinstance(order, Order)
        return OrderOut(id=7, total=sum(item.quantity for item in order.items))

    app = make_app(events, TESTING=True)
    payload = {
        "customer": "c",
        "items": [{"sku": "a", "quantity": 2}, {"sku": "b", "quantity": 3}],
    }
    assert send(app, "order:create", payload)["payload"] == {"id": 7, "total": 5}


def test_pydantic_nested_errors(events):
    events.add("order:create", 1, lambda event, order: None, input=Order)
    body = send(make_app(events), "order:create", {"items": [{"sku": "a", "quantity": 0}]})
    assert body["name"] == "order:create:badRequest"
    errors = body["payload"]["parameters"]["errors"]
    assert errors["customer"] == ["Field required"]
    assert errors["items"]["0"]["quantity"] == ["Input should be greater than 0"]


def test_pydantic_output_from_a_dict_and_a_bad_example(events):
    with pytest.raises(ExampleError):  # declared before the app serves events
        events.add("order:make", 1, print, input=Order, example=({"customer": 1}, None))
    events.add("order:get", 1, lambda event: {"id": 1, "total": 2}, output=OrderOut)
    assert send(make_app(events, TESTING=True), "order:get", {})["payload"] == {
        "id": 1,
        "total": 2,
    }
