"""Payload JSON Schemas as readable field tables, for the /doc page.

:func:`fields` turns a JSON Schema as :mod:`flask_events.docs` gives it (apispec's
output for a marshmallow schema, pydantic's own with ``$defs`` and ``$ref``) into one
:class:`Field` row per field: nested objects and arrays of objects are expanded, so a
field inside an array's items has the path ``items[].amount``. References are followed
within the document; a reference met again inside itself (a recursive model) is listed
once and not expanded again. Transport-free: no Flask import.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Optional

__all__ = ["Field", "fields"]

#: Schemas nested deeper than this are not expanded (a guard, not a limit one meets).
MAX_DEPTH = 32

_SCALARS = {bool: "boolean", int: "integer", float: "number", str: "string"}


@dataclass(frozen=True)
class Field:
    """One row of a field table."""

    #: Where the field is: ``items[].amount``; ``""`` for a payload that is not an
    #: object (an array payload's items' fields are then ``[].name``).
    path: str
    #: How many objects or arrays the field is nested in (0: a top-level field).
    depth: int
    #: ``string``, ``array of object``, ``integer | null``, ``object (Account)``, ...
    type: str
    #: Whether the enclosing object requires the field.
    required: bool
    #: ``≥ 0``, ``length 1 to 20``, ``format date-time``, ``one of "a", "b"``, ...
    constraints: tuple[str, ...]
    description: str

    @property
    def name(self) -> str:
        """The last part of :attr:`path`, without ``[]`` (``amount`` for
        ``items[].amount``, ``*`` for a map's values)."""
        return self.path.rsplit(".", 1)[-1].replace("[]", "")


def fields(schema: Mapping[str, Any]) -> list[Field]:
    """The rows of the field table of the JSON Schema ``schema``, in document order
    (an object's fields in their declared order, each followed by its own fields).
    """
    walker = _Walker(schema)
    node, ref, _ = walker.view(schema)
    if _is_object(node):
        return list(walker.children(node, "", 0, (ref or id(schema),)))
    return list(walker.rows("", schema, True, 0, ()))


class _Walker:
    """Walks one JSON Schema document, resolving its local ``$ref`` pointers."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def resolve(self, node: Any) -> tuple[Mapping[str, Any], Optional[str]]:
        """``node`` with its ``$ref`` (and single-item ``allOf``) followed, sibling
        keywords kept; the reference followed (``None``: none)."""
        if not isinstance(node, Mapping):
            return {}, None
        ref = None
        for _ in range(MAX_DEPTH):  # a chain of references, followed a bounded time
            if isinstance(node.get("$ref"), str):
                ref = node["$ref"]
                target = self.lookup(ref)
                node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            elif isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
                (only,) = node["allOf"]
                node = {**(only if isinstance(only, Mapping) else {}), **_without(node, "allOf")}
            else:
                break
        return node, ref

    def lookup(self, ref: str) -> Mapping[str, Any]:
        """The part of the document a local reference (``#/$defs/Name``) points at."""
        if not ref.startswith("#"):
            return {}
        node: Any = self.document
        for part in ref[1:].split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part) if isinstance(node, Mapping) else None
        return node if isinstance(node, Mapping) else {}

    def view(self, raw: Any) -> tuple[Mapping[str, Any], Optional[str], bool]:
        """:meth:`resolve` of ``raw`` without its ``null`` alternative (see
        :func:`_non_null`): the schema, the reference followed, whether it is nullable."""
        node, ref = self.resolve(raw)
        node, variant, nullable = _non_null(node)
        if variant is not None:
            sub, sub_ref = self.resolve(variant)
            node, ref = {**sub, **node}, sub_ref or ref
        return node, ref, nullable

    def rows(
        self, path: str, raw: Any, required: bool, depth: int, seen: tuple[Any, ...]
    ) -> Iterator[Field]:
        """The row of the field at ``path`` (schema ``raw``), then its own fields'."""
        node, ref, nullable = self.view(raw)
        key = ref or id(raw)
        recursive = key in seen or depth >= MAX_DEPTH
        constraints = list(_constraints(node))
        constraints.extend(self.item_constraints(node))
        if recursive:
            constraints.append(f"recursive: as {_ref_name(ref)} above" if ref else "not expanded")
        type_ = self.type_name(node, ref)
        description = _description(node)
        yield Field(
            path,
            depth,
            f"{type_} | null" if nullable else type_,
            required,
            tuple(constraints),
            description,
        )
        if not recursive:
            yield from self.inside(node, path, depth, (*seen, key))

    def item_constraints(self, node: Mapping[str, Any]) -> Iterator[str]:
        """The constraints of an array's items when they get no rows of their own
        (scalars): ``each length ≤ 5``."""
        if _type_names(node) != ["array"] or not isinstance(node.get("items"), Mapping):
            return
        items, _, _ = self.view(node["items"])
        if not _is_object(items) and _type_names(items) != ["array"]:
            yield from (f"each {text}" for text in _constraints(items))

    def inside(
        self, node: Mapping[str, Any], path: str, depth: int, seen: tuple[Any, ...]
    ) -> Iterator[Field]:
        """The rows nested in the field at ``path``: an object's fields, an array's
        items' fields (``path[].name``), an array of arrays' items (``path[]``)."""
        if _is_object(node):
            yield from self.children(node, path, depth + 1, seen)
            return
        if _type_names(node) != ["array"] or not isinstance(node.get("items"), Mapping):
            return
        items, ref, _ = self.view(node["items"])
        if _type_names(items) == ["array"]:
            yield from self.rows(f"{path}[]", node["items"], True, depth + 1, seen)
        elif _is_object(items) and (ref is None or ref not in seen):
            yield from self.children(items, f"{path}[]", depth + 1, (*seen, ref) if ref else seen)

    def children(
        self, node: Mapping[str, Any], path: str, depth: int, seen: tuple[Any, ...]
    ) -> Iterator[Field]:
        """The rows of an object's properties, and of its map values when they are
        objects with properties themselves (path ``name.*``)."""
        required = set(node.get("required") or ())
        prefix = f"{path}." if path else ""
        for name, sub in (node.get("properties") or {}).items():
            yield from self.rows(f"{prefix}{name}", sub, name in required, depth, seen)
        extra = node.get("additionalProperties")
        if isinstance(extra, Mapping):
            values, _, _ = self.view(extra)
            if _is_object(values) and values.get("properties"):
                yield from self.rows(f"{prefix}*", extra, False, depth, seen)

    def type_name(self, node: Mapping[str, Any], ref: Optional[str]) -> str:
        """A readable type: ``array of object (Item)``, ``integer | string``, ..."""
        variants = node.get("anyOf") or node.get("oneOf")
        if isinstance(variants, list) and variants:
            names = []
            for variant in variants:
                sub, sub_ref = self.resolve(variant)
                names.append(self.type_name(sub, sub_ref))
            return " | ".join(dict.fromkeys(names))
        names = _type_names(node)
        if not names and "enum" in node:
            names = sorted({_SCALARS.get(type(v), "null") for v in node["enum"]})
        if not names and "const" in node:
            names = [_SCALARS.get(type(node["const"]), "null")]
        if names == ["array"]:
            items, items_ref, nullable = self.view(node.get("items"))
            of = self.type_name(items, items_ref) if items else "any"
            return f"array of {of} | null" if nullable else f"array of {of}"
        if names == ["object"]:
            extra = node.get("additionalProperties")
            if isinstance(extra, Mapping) and extra and not node.get("properties"):
                values, values_ref = self.resolve(extra)
                return f"object of {self.type_name(values, values_ref)}"
            return f"object ({_ref_name(ref)})" if ref else "object"
        return " | ".join(names) if names else "any"


def _non_null(node: Mapping[str, Any]) -> tuple[Mapping[str, Any], Optional[Any], bool]:
    """``node`` without its ``null`` alternative, the one other alternative left to
    merge into it (``None``: none), and whether it had a ``null`` one: a type list
    ``["string", "null"]``, an ``anyOf``/``oneOf`` with a ``{"type": "null"}`` item, or
    OpenAPI 3.0's ``nullable``. Outer keywords (``default``, ``description``) stay.
    """
    types = node.get("type")
    if isinstance(types, list) and "null" in types:
        rest = [t for t in types if t != "null"]
        return {**node, "type": rest[0] if len(rest) == 1 else rest}, None, True
    for keyword in ("anyOf", "oneOf"):
        variants = node.get(keyword)
        if not isinstance(variants, list):
            continue
        rest = [v for v in variants if not (isinstance(v, Mapping) and v.get("type") == "null")]
        if len(rest) == len(variants):
            continue
        if len(rest) == 1:
            return _without(node, keyword), rest[0], True
        return {**node, keyword: rest}, None, True
    if node.get("nullable") is True:
        return _without(node, "nullable"), None, True
    return node, None, False


def _constraints(node: Mapping[str, Any]) -> Iterator[str]:
    """The validation keywords of ``node``, readable, in a fixed order."""
    yield from _bounds(node)
    yield from _range(node, "minLength", "maxLength", "length")
    yield from _range(node, "minItems", "maxItems", "count")
    yield from _range(node, "minProperties", "maxProperties", "properties")
    if "multipleOf" in node:
        yield f"multiple of {_show(node['multipleOf'])}"
    if node.get("uniqueItems"):
        yield "unique items"
    if "pattern" in node:
        yield f"pattern {node['pattern']}"
    if "format" in node:
        yield f"format {node['format']}"
    if isinstance(node.get("enum"), list):
        yield "one of " + ", ".join(_json(value) for value in node["enum"])
    if "const" in node:
        yield f"always {_json(node['const'])}"
    if "default" in node:
        yield f"default {_json(node['default'])}"
    for keyword, text in (("readOnly", "read-only"), ("writeOnly", "write-only")):
        if node.get(keyword):
            yield text
    if node.get("deprecated"):
        yield "deprecated"


def _bounds(node: Mapping[str, Any]) -> Iterator[str]:
    low, high = node.get("minimum"), node.get("maximum")
    exclusive_low, exclusive_high = node.get("exclusiveMinimum"), node.get("exclusiveMaximum")
    if isinstance(exclusive_low, bool):  # draft 4 / OpenAPI 3.0: a flag on minimum
        exclusive_low = low if exclusive_low else None
        low = None if exclusive_low is not None else low
    if isinstance(exclusive_high, bool):
        exclusive_high = high if exclusive_high else None
        high = None if exclusive_high is not None else high
    for value, sign in ((low, "≥"), (exclusive_low, ">"), (high, "≤"), (exclusive_high, "<")):
        if value is not None:
            yield f"{sign} {_show(value)}"


def _range(node: Mapping[str, Any], low_key: str, high_key: str, label: str) -> Iterator[str]:
    """``length 1 to 20``, ``length ≥ 1``, ``length 5``, ..."""
    low, high = node.get(low_key), node.get(high_key)
    if low is not None and high is not None:
        yield f"{label} {_show(low)}" if low == high else f"{label} {_show(low)} to {_show(high)}"
    elif low is not None:
        yield f"{label} ≥ {_show(low)}"
    elif high is not None:
        yield f"{label} ≤ {_show(high)}"


def _description(node: Mapping[str, Any]) -> str:
    description = node.get("description")
    return description.strip() if isinstance(description, str) else ""


def _is_object(node: Mapping[str, Any]) -> bool:
    return _type_names(node) == ["object"] or (
        "type" not in node and isinstance(node.get("properties"), Mapping)
    )


def _type_names(node: Mapping[str, Any]) -> list[str]:
    types = node.get("type")
    if isinstance(types, str):
        return [types]
    return [t for t in types if isinstance(t, str)] if isinstance(types, list) else []


def _ref_name(ref: Optional[str]) -> str:
    return (ref or "").rsplit("/", 1)[-1]


def _without(node: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k != key}


def _show(value: Any) -> str:
    """A number as written (a ``Decimal`` from apispec included), else its JSON."""
    return str(value) if not isinstance(value, (str, bool)) and value is not None else _json(value)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
