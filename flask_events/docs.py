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
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
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
    "events_operation",
    "openapi_document",
    "payload_schema",
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


# -- OpenAPI ----------------------------------------------------------------------


def events_operation(
    registry: Registry, spec: APISpec, authenticated: bool = False
) -> dict[str, Any]:
    """The OpenAPI operation of ``POST <prefix>/events``: the request body is one of
    the registered events' envelopes with its payload schema (a deprecated version's
    marked ``deprecated``); the 200 answer is one of every outcome of every event
    (see :func:`~flask_events.outcomes.outcomes`), each an envelope whose ``name``
    and ``version`` are enums and whose error payload's ``code`` is one when declared.

    Marshmallow schemas are left as schema objects for apispec's marshmallow plugin to
    resolve into components; pydantic schemas are added to ``spec``'s components.
    """
    requests, responses = [], []
    for handler in registry:
        output = BATCH_OUTPUT if handler.is_batch else handler.output
        request = _envelope(handler.name, handler.version, handler.input, spec)
        if handler.deprecated:
            request["deprecated"] = True
        requests.append(request)
        for answer in outcomes(handler, authenticated):
            if answer["kind"] == "response":
                responses.append(_envelope(answer["name"], answer["version"], output, spec))
            else:  # eventNotFound and badProtocol: merged into one by _merged
                responses.append(_error_envelope(answer))
    return {
        "summary": "Receive one event envelope and answer with its response event",
        "description": (
            "Every protocol outcome is HTTP 200 with an event body: a response, a "
            "redirect or a typed error (`<name>:<type>`), `eventNotFound`, `badProtocol`."
        ),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _one_of(requests)}},
        },
        "responses": {
            "200": _json_response(
                "The response event",
                _one_of(_merged(responses) + ([_REDIRECT] if requests else [])),
            ),
            "413": _json_response("The body is too large: a badProtocol event", _BAD_PROTOCOL),
            "500": _json_response(
                "The response could not be serialized: an <name>:error event", _ANY_ERROR
            ),
        },
    }


def openapi_document(
    registry: Registry, *, path: str, title: str, authenticated: bool = False
) -> dict[str, Any]:
    """A standalone OpenAPI 3.1 document describing the events endpoint at ``path``."""
    spec = APISpec(title, "1", "3.1.0", plugins=[MarshmallowPlugin()])
    spec.path(path=path, operations={"post": events_operation(registry, spec, authenticated)})
    document: dict[str, Any] = spec.to_dict()
    return document


def _envelope(
    name: str, version: int, payload: Optional[PayloadSchema], spec: APISpec
) -> dict[str, Any]:
    return {
        "type": "object",
        "title": f"{name} v{version}",
        "required": ["name", "version", "id", "flowId", "payload"],
        "properties": {
            "name": {"type": "string", "enum": [name]},
            "version": {"type": "integer", "enum": [version]},
            "id": {"type": "string", "minLength": 1},
            "flowId": {"type": "string", "minLength": 1},
            "payload": payload_schema(payload, spec),
            "identity": {"type": "object"},
            "auth": {"type": "object"},
            "metadata": {"type": "object"},
        },
    }


def payload_schema(payload: Optional[PayloadSchema], spec: APISpec) -> Any:
    """The JSON Schema of ``payload`` in ``spec``: a marshmallow schema as its schema
    object (apispec's marshmallow plugin makes it a component), pydantic's with its
    ``$defs`` added to the components; ``{}`` (anything) for ``None``.
    """
    if payload is None:
        return {}
    if isinstance(payload, MarshmallowSchema):
        return payload.schema  # resolved into a component by the marshmallow plugin
    schema = dict(payload.json_schema())
    for name, definition in schema.pop("$defs", {}).items():
        if name not in spec.components.schemas:
            spec.components.schema(name, component=definition)
    return _rewrite_refs(schema)


def _rewrite_refs(value: Any) -> Any:
    """Point JSON Schema ``$defs`` references at OpenAPI components."""
    if isinstance(value, dict):
        return {
            key: item.replace("#/$defs/", "#/components/schemas/")
            if key == "$ref" and isinstance(item, str)
            else _rewrite_refs(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rewrite_refs(item) for item in value]
    return value


def _error_envelope(answer: dict[str, Any]) -> dict[str, Any]:
    """The envelope of an error outcome: its name and version as enums, and its code
    when it is a declared error's (a protocol outcome may carry other codes: a
    handler's ``EventError("...", code="X")`` is ``<name>:error`` too).
    """
    payload = ERROR_PAYLOAD
    if answer["kind"] == "error" and answer["code"] is not None:  # a declared code
        code = {"type": "string", "enum": [answer["code"]]}
        payload = {**payload, "properties": {**payload["properties"], "code": code}}
    return {
        "type": "object",
        "title": f"{answer['name']} v{answer['version']}",
        "description": answer["when"],
        "required": ["name", "version", "id", "flowId", "payload"],
        "properties": {
            "name": {"type": "string", "enum": [answer["name"]]},
            "version": {"type": "integer", "enum": [answer["version"]]},
            "id": {"type": "string"},
            "flowId": {"type": "string"},
            "payload": payload,
            "identity": {"type": "object"},
            "auth": {"type": "object"},
            "metadata": {"type": "object"},
        },
    }


_BAD_PROTOCOL = _error_envelope(
    {
        "name": "badProtocol",
        "version": 1,
        "kind": "protocol",
        "code": None,
        "when": "The request is not an event",
    }
)
#: A handler's redirect (``redirect_event``): ``<name>:redirect``, any event's.
_REDIRECT: dict[str, Any] = {
    **_BAD_PROTOCOL,
    "title": "redirect event",
    "description": "The handler redirects the caller to url",
    "properties": {
        **_BAD_PROTOCOL["properties"],
        "name": {"type": "string", "pattern": ":redirect$"},
        "version": {"type": "integer"},
        "payload": {
            "type": "object",
            "required": ["url", "queryParameters"],
            "properties": {"url": {"type": "string"}, "queryParameters": {"type": "object"}},
        },
    },
}
_ANY_ERROR: dict[str, Any] = {
    **_BAD_PROTOCOL,
    "title": "error event",
    "description": "An error event",
    "properties": {
        **_BAD_PROTOCOL["properties"],
        "name": {"type": "string"},
        "version": {"type": "integer"},
    },
}


def _merged(responses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``responses`` with the error envelopes of one name and version merged (two
    declared codes of one type, say), so that an answer matches exactly one.
    """
    merged: dict[tuple[str, Any], dict[str, Any]] = {}
    for envelope in responses:
        key = (
            envelope["properties"]["name"]["enum"][0],
            envelope["properties"]["version"]["enum"][0],
        )
        seen = merged.get(key)
        if seen is None:
            merged[key] = envelope
            continue
        if envelope != seen:  # two error outcomes (eventNotFound: the same, once)
            codes = [e["properties"]["payload"]["properties"]["code"] for e in (seen, envelope)]
            seen["description"] += "; " + envelope["description"]
            if all("enum" in code for code in codes):
                enum = sorted(set(codes[0]["enum"]) | set(codes[1]["enum"]))
                payload = seen["properties"]["payload"]
                seen["properties"]["payload"] = {
                    **payload,
                    "properties": {
                        **payload["properties"],
                        "code": {"type": "string", "enum": enum},
                    },
                }
            else:
                seen["properties"]["payload"] = ERROR_PAYLOAD
    return list(merged.values())


def _one_of(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    if not schemas:
        return {"type": "object"}
    return {"oneOf": schemas} if len(schemas) > 1 else schemas[0]


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}
