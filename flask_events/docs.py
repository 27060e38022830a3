"""The documentation model: what /doc, /doc.json and the OpenAPI documents show.

Built from a :class:`~flask_events.registry.Registry` only (no Flask import): each
event with its doc text, JSON Schemas generated from its declared schemas (apispec's
marshmallow plugin, or pydantic's own), examples, and a ready-to-send example envelope.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Optional
from urllib.parse import quote

import marshmallow as ma
from markupsafe import Markup, escape

from .declarations import PushSpec
from .outcomes import ERROR_PAYLOAD, outcomes
from .registry import HandlerSpec, Registry
from .schemas import MarshmallowSchema, PayloadSchema

__all__ = [
    "ERROR_PAYLOAD",
    "EnvelopeSchema",
    "anchor",
    "batch_example_spec",
    "catalogue",
    "push_catalogue",
]


class EnvelopeSchema(ma.Schema):
    """An event envelope (docs/protocol.rst#envelope), for documentation."""

    name = ma.fields.String(required=True)
    version = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1))
    id = ma.fields.String(required=True)
    flowId = ma.fields.String(required=True)
    payload = ma.fields.Raw(required=True, allow_none=True)
    identity = ma.fields.Dict()
    auth = ma.fields.Dict()
    metadata = ma.fields.Dict()


#: What a batch answers: one response event per sub-event (shown in the docs).
BATCH_OUTPUT = MarshmallowSchema(EnvelopeSchema(many=True))


def anchor(name: str, version: int) -> str:
    """The unique HTML id of an event's section on /doc (``name/vN``, percent-encoded)."""
    return quote(f"{name}/v{version}", safe=":/")


def catalogue(registry: Registry, authenticated: bool = False) -> list[dict[str, Any]]:
    """Every event, sorted by name then version, as JSON-able documentation.

    :param authenticated: whether the blueprint has an authenticator.
    """
    specs = list(registry)
    sub = batch_example_spec(specs, authenticated)
    batchable = [sub] if sub is not None else []
    return [entry(spec, batchable, authenticated) for spec in specs]


def entry(
    spec: HandlerSpec, batchable: Optional[list[HandlerSpec]] = None, authenticated: bool = False
) -> dict[str, Any]:
    """One event's documentation; a batch's examples hold ``batchable`` events."""
    output = BATCH_OUTPUT if spec.is_batch else spec.output
    input_example, output_example = spec.example if spec.example else (None, None)
    request = example_request(spec)
    if spec.is_batch and batchable:
        request["payload"] = {"parallel": True, "events": [example_request(s) for s in batchable]}
        if isinstance(input_example, dict) and input_example.get("events") == [
            example_batch_item()
        ]:  # add_batch's placeholder: shown with the real events instead
            input_example = request["payload"]
    needs_auth = authenticated and not spec.public
    answers = outcomes(spec, needs_auth)
    for answer in answers:
        answer["payload"] = _schema_doc(output) if answer["kind"] == "response" else None
    return {
        "name": spec.name,
        "version": spec.version,
        "anchor": anchor(spec.name, spec.version),
        "summary": spec.summary,
        "doc": spec.doc,
        "async": spec.is_async,
        "auth": needs_auth,
        "batch": spec.is_batch,
        "deprecated": spec.deprecated,
        "input": _schema_doc(spec.input),
        "output": _schema_doc(output),
        "outcomes": answers,
        "example": None
        if spec.example is None
        else {
            "input": input_example,
            "output": output_example,
        },
        "request": request,
    }


def push_catalogue(registry: Registry) -> list[dict[str, Any]]:
    """Every declared push, sorted by name then version, as JSON-able documentation:
    ``name``, ``version``, ``anchor`` (``push/`` and :func:`anchor`), ``summary``,
    ``doc``, ``payload`` (``{"name", "jsonSchema"}`` or ``None``) and ``example``.
    """
    return [push_entry(push) for push in registry.pushes()]


def push_entry(push: PushSpec) -> dict[str, Any]:
    """One push's documentation (see :func:`push_catalogue`)."""
    return {
        "name": push.name,
        "version": push.version,
        "anchor": "push/" + anchor(push.name, push.version),
        "summary": push.summary,
        "doc": push.doc,
        "payload": _schema_doc(push.schema),
        "example": push.example,
    }


def example_request(spec: HandlerSpec) -> dict[str, Any]:
    """A request envelope for ``spec``, with the input example as payload."""
    return {
        "name": spec.name,
        "version": spec.version,
        "id": "00000000-0000-4000-8000-000000000001",
        "flowId": "00000000-0000-4000-8000-000000000002",
        "payload": spec.example[0] if spec.example else {},
        "identity": {},
        "auth": {},
        "metadata": {"origin": "doc"},
    }


_LITERAL = re.compile(r"``(.+?)``|`([^`]+?)`")


def doc_html(text: str) -> Markup:
    """Doc text as safe HTML: everything escaped, then ````literals```` as ``<code>``."""
    escaped = str(escape(text))
    return Markup(_LITERAL.sub(lambda m: f"<code>{m.group(1) or m.group(2)}</code>", escaped))


def pretty(value: Any) -> str:
    """``value`` as indented JSON, keys in their own order (for the page to escape)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def example_batch_item(
    specs: Iterable[HandlerSpec] = (), authenticated: bool = False
) -> dict[str, Any]:
    """A sub-event for a batch's example: :func:`example_request` of
    :func:`batch_example_spec` of ``specs``; a generic placeholder when there is none
    (before the blueprint's other events are registered).
    """
    spec = batch_example_spec(specs, authenticated)
    if spec is None:
        return {"name": "some event", "version": 1, "id": "1", "flowId": "f", "payload": {}}
    return example_request(spec)


def batch_example_spec(
    specs: Iterable[HandlerSpec], authenticated: bool = False
) -> Optional[HandlerSpec]:
    """The event a batch's example sends, so that sending it gets an answer of that
    event rather than ``eventNotFound``: a non-batch event with an example input (one
    whose example input is empty first, as it asks nothing of the caller), else one
    without an input schema (sent with ``{}``); events that need no credentials first
    when the blueprint has an authenticator; by name then version among equals.
    ``None`` when no event qualifies.
    """

    def rank(spec: HandlerSpec) -> tuple[bool, int]:
        if spec.example is None:
            return (authenticated and not spec.public, 2)
        return (authenticated and not spec.public, 0 if spec.example[0] in ({}, None) else 1)

    usable = [
        spec
        for spec in specs
        if not spec.is_batch and (spec.example is not None or spec.input is None)
    ]
    return min(usable, key=rank, default=None)


def _schema_doc(schema: Optional[PayloadSchema]) -> Optional[dict[str, Any]]:
    if schema is None:
        return None
    return {"name": schema.name, "jsonSchema": schema.json_schema()}
