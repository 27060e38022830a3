"""flask_events.doc_fields: payload JSON Schemas as the /doc page's field tables."""

from __future__ import annotations

import enum
from typing import Literal, Optional, Union

import marshmallow as ma
import pydantic

from flask_events.doc_fields import Field, fields
from flask_events.schemas import adapt

from .helpers import DeclaredOrder


class Item(DeclaredOrder):
    amount = ma.fields.Decimal(
        required=True, validate=ma.validate.Range(min=0), metadata={"description": "in cents"}
    )
    tags = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=5)))


class Order(DeclaredOrder):
    name = ma.fields.String(
        required=True, validate=[ma.validate.Length(1, 20), ma.validate.Regexp("^a")]
    )
    kind = ma.fields.String(validate=ma.validate.OneOf(["a", "b"]), load_default="a")
    when = ma.fields.DateTime(allow_none=True)
    items = ma.fields.List(ma.fields.Nested(Item), required=True)
    one = ma.fields.Nested(Item, allow_none=True)
    counts = ma.fields.Dict(keys=ma.fields.Str(), values=ma.fields.Int())
    total = ma.fields.Int(dump_only=True)


def rows_of(schema):
    return {row.path: row for row in fields(adapt(schema).json_schema())}


def test_marshmallow_fields_nested_and_array_items_expanded():
    rows = rows_of(Order)
    assert list(rows) == [
        "name",
        "kind",
        "when",
        "items",
        "items[].amount",
        "items[].tags",
        "one",
        "one.amount",
        "one.tags",
        "counts",
        "total",
    ]
    assert rows["items"] == Field("items", 0, "array of object", True, (), "")
    assert rows["items[].amount"] == Field(
        "items[].amount", 1, "number", True, ("≥ 0",), "in cents"
    )
    assert rows["items[].tags"].type == "array of string"
    assert rows["items[].tags"].constraints == ("each length ≤ 5",)
    assert rows["one.amount"].depth == 1
    # apispec 6.0 leaves a nested schema's allow_none out of its JSON Schema; newer
    # ones write it, and the table shows what the JSON Schema says
    nullable = "null" in adapt(Order).json_schema()["properties"]["one"].get("type", ())
    assert rows["one"].type == ("object | null" if nullable else "object")


def test_marshmallow_constraints_defaults_formats_and_nullable():
    rows = rows_of(Order)
    assert rows["name"].constraints == ("length 1 to 20", "pattern ^a")
    assert rows["name"].required and not rows["kind"].required
    assert rows["kind"].constraints == ('one of "a", "b"', 'default "a"')
    assert rows["when"].type == "string | null"
    assert rows["when"].constraints == ("format date-time",)
    assert rows["counts"].type == "object of integer"
    assert rows["total"].constraints == ("read-only",)


def test_a_many_schema_lists_its_items_fields():
    rows = [(row.path, row.type) for row in fields(adapt(Item(many=True)).json_schema())]
    assert rows == [
        ("", "array of object"),
        ("[].amount", "number"),
        ("[].tags", "array of string"),
    ]


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Node(pydantic.BaseModel):
    """A node of a tree."""

    value: int = pydantic.Field(ge=0, lt=10, description="the value")
    child: Optional[Node] = None


class Tree(pydantic.BaseModel):
    name: str = pydantic.Field(min_length=1, pattern="^a")
    nodes: list[Node] = pydantic.Field(min_length=1)
    root: Optional[Node] = None
    mode: Literal["a", "b"] = "a"
    colour: Colour
    either: Union[int, str]
    grid: list[list[Node]] = []
    by_name: dict[str, Node] = {}


def test_pydantic_refs_followed_and_a_recursive_model_not_expanded_again():
    rows = {row.path: row for row in fields(adapt(Tree).json_schema())}
    assert list(rows) == [
        "name",
        "nodes",
        "nodes[].value",
        "nodes[].child",
        "root",
        "root.value",
        "root.child",
        "mode",
        "colour",
        "either",
        "grid",
        "grid[]",
        "grid[][].value",
        "grid[][].child",
        "by_name",
        "by_name.*",
        "by_name.*.value",
        "by_name.*.child",
    ]
    assert rows["nodes"].type == "array of object (Node)"
    assert rows["nodes"].constraints == ("count ≥ 1",)
    assert rows["nodes[].value"] == Field(
        "nodes[].value", 1, "integer", True, ("≥ 0", "< 10"), "the value"
    )
    assert rows["nodes[].child"].type == "object (Node) | null"
    assert rows["nodes[].child"].constraints == ("default null", "recursive: as Node above")
    # a $ref's target description stands in for a field's own
    assert rows["root"].description == "A node of a tree."
    assert rows["root"].type == "object (Node) | null" and not rows["root"].required


def test_pydantic_enums_literals_unions_and_maps():
    rows = {row.path: row for row in fields(adapt(Tree).json_schema())}
    assert rows["mode"].constraints == ('one of "a", "b"', 'default "a"')
    assert rows["colour"].type == "string" and rows["colour"].required
    assert rows["colour"].constraints == ('one of "red", "blue"',)
    assert rows["either"].type == "integer | string"
    assert rows["by_name"].type == "object of object (Node)"
    assert rows["grid[]"].type == "array of object (Node)"


def test_cycles_and_odd_schemas_do_not_loop():
    loop = {"$ref": "#/$defs/A", "$defs": {"A": {"$ref": "#/$defs/A"}}}
    assert [row.type for row in fields(loop)] == ["any"]
    shared: dict = {"type": "object", "properties": {}}
    shared["properties"]["self"] = shared  # a Python-level cycle
    assert [row.path for row in fields(shared)] == ["self"]
    assert fields({"$ref": "#/nowhere"}) == [Field("", 0, "any", True, (), "")]
    assert fields({"type": "string"}) == [Field("", 0, "string", True, (), "")]
    assert fields({}) == [Field("", 0, "any", True, (), "")]


def test_openapi_30_spellings():
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "number", "minimum": 1, "exclusiveMinimum": True, "nullable": True},
            "v": {"allOf": [{"type": "string", "format": "uuid"}], "description": "an id"},
        },
    }
    rows = fields(schema)
    assert rows[0] == Field("n", 0, "number | null", False, ("> 1",), "")
    assert rows[1] == Field("v", 0, "string", False, ("format uuid",), "an id")
