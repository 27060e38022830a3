"""Payload schemas: marshmallow (and pydantic 2, the ``pydantic`` extra) behind one interface.

A handler may declare an ``input`` schema (the payload is loaded through it before the
handler runs) and an ``output`` schema (the handler's result is dumped through it).
:func:`adapt` wraps either kind in a :class:`PayloadSchema`, which loads, dumps,
checks examples and describes itself as JSON Schema. Transport-free: no Flask import.
"""

from __future__ import annotations

import functools
from typing import Any, Optional

import marshmallow as ma
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from .errors import MissingDependency, PayloadValidationError
from .extras import require

__all__ = ["PayloadSchema", "PayloadValidationError", "adapt"]

#: ``{field path: [messages]}``, nested for nested fields (marshmallow's shape).
FieldErrors = dict[str, Any]


class PayloadSchema:
    """One schema, whatever library it comes from."""

    #: A name for documentation (the class name).
    name: str

    def load(self, value: Any) -> Any:
        """Validate and deserialize ``value`` (a payload).

        :raises PayloadValidationError: with the field errors.
        """
        raise NotImplementedError

    def dump(self, value: Any) -> Any:
        """Serialize a handler's result to JSON-able data."""
        raise NotImplementedError

    def check(self, data: Any, *, output: bool = False) -> None:
        """Check that JSON-able ``data`` (an example, a dumped result) is valid.

        :param output: ``data`` is output (dumped) data, not input.
        :raises PayloadValidationError: with the field errors.
        """
        self.load(data)

    def json_schema(self) -> dict[str, Any]:
        """A self-contained JSON Schema of the payload (nested schemas inlined)."""
        raise NotImplementedError


class MarshmallowSchema(PayloadSchema):
    """A marshmallow ``Schema`` class or instance."""

    def __init__(self, schema: ma.Schema | type[ma.Schema]) -> None:
        self.schema = schema() if isinstance(schema, type) else schema
        self.name = type(self.schema).__name__

    def load(self, value: Any) -> Any:
        try:
            return self.schema.load(value)
        except ma.ValidationError as exc:
            raise _field_errors(exc) from None

    def dump(self, value: Any) -> Any:
        return self.schema.dump(value)

    def check(self, data: Any, *, output: bool = False) -> None:
        if not output:
            self.load(data)
            return
        # Dumped data holds dump-only fields (unknown to load) and lacks load-only ones.
        load_only = tuple(name for name, field in self.schema.fields.items() if field.load_only)
        try:
            self.schema.load(data, unknown=ma.INCLUDE, partial=load_only)
        except ma.ValidationError as exc:
            raise _field_errors(exc) from None

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = _inline_converter().schema2jsonschema(self.schema)
        return {"type": "array", "items": schema} if self.schema.many else schema


def _field_errors(exc: ma.ValidationError) -> PayloadValidationError:
    """marshmallow's messages as the error (a bare list is the ``_schema`` field's)."""
    messages = exc.messages
    return PayloadValidationError(
        messages if isinstance(messages, dict) else {"_schema": messages}
    )


class PydanticSchema(PayloadSchema):
    """A pydantic (v2) model class."""

    def __init__(self, model: type[Any]) -> None:
        self.model = model
        self.name = model.__name__

    def load(self, value: Any) -> Any:
        import pydantic

        try:
            return self.model.model_validate(value)
        except pydantic.ValidationError as exc:
            raise PayloadValidationError(_pydantic_errors(exc)) from None

    def dump(self, value: Any) -> Any:
        if not isinstance(value, self.model):
            value = self.load(value)
        return value.model_dump(mode="json")

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = self.model.model_json_schema()
        return schema


def adapt(schema: Any) -> Optional[PayloadSchema]:
    """Wrap a marshmallow schema (class or instance) or a pydantic model.

    :returns: ``None`` for ``None``.
    :raises ~flask_events.MissingDependency: a pydantic model, and pydantic 2 cannot
        be imported.
    :raises TypeError: for anything else (a ``pydantic.v1`` model included).
    """
    if schema is None or isinstance(schema, PayloadSchema):
        return schema
    if isinstance(schema, ma.Schema) or (
        isinstance(schema, type) and issubclass(schema, ma.Schema)
    ):
        return MarshmallowSchema(schema)
    if _is_pydantic_model(schema):
        return PydanticSchema(schema)
    raise TypeError(
        f"a payload schema must be a marshmallow Schema or a pydantic model, got {schema!r}"
    )


def _is_pydantic_model(value: Any) -> bool:
    """Whether ``value`` is a pydantic 2 model class. pydantic is imported only for a
    class that derives from one of its classes.

    :raises ~flask_events.MissingDependency: it is one, and pydantic 2 cannot be used.
    :raises TypeError: it is a ``pydantic.v1`` model.
    """
    if not isinstance(value, type) or not any(map(_from_pydantic, value.__mro__[1:])):
        return False
    feature = f"The payload schema {value.__qualname__}"
    pydantic = require("pydantic", feature)
    if not hasattr(pydantic.BaseModel, "model_validate"):
        version = getattr(pydantic, "VERSION", "?")
        reason = f"pydantic 2 is needed, {version} is installed"
        raise MissingDependency(feature, "pydantic", "pydantic", reason=reason)
    if not issubclass(value, pydantic.BaseModel):
        raise TypeError(
            f"{feature} is a pydantic v1 model: payload schemas are pydantic 2 models "
            "(pydantic.BaseModel)"
        )
    return True


def _from_pydantic(cls: type) -> bool:
    module = getattr(cls, "__module__", None) or ""
    return module == "pydantic" or module.startswith("pydantic.")


def _pydantic_errors(exc: Any) -> FieldErrors:
    """pydantic's error list as marshmallow-shaped ``{"a": {"b": ["msg"]}}``."""
    errors: FieldErrors = {}
    for error in exc.errors(include_url=False):
        path = [str(part) for part in error["loc"]] or ["_schema"]
        node = errors
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # a field with messages and sub-fields
                child = node[part] = {"_schema": child}
            node = child
        node.setdefault(path[-1], []).append(error["msg"])
    return errors


@functools.cache
def _inline_converter() -> Any:
    """apispec's marshmallow converter, set to inline nested schemas (built once)."""
    plugin = MarshmallowPlugin(schema_name_resolver=lambda schema: None)  # type: ignore[arg-type,return-value]
    APISpec("payloads", "1", "3.1.0", plugins=[plugin])  # JSON Schema 2020-12
    return plugin.converter
