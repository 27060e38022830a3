"""The OpenAPI description of an events endpoint (``<prefix>/openapi.json``, and the
operation flask-smorest's ``Api`` documents): the request body is one of the events'
envelopes, the 200 answer one of every outcome of every event.
"""

from __future__ import annotations

from typing import Any, Optional

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from .docs import BATCH_OUTPUT
from .outcomes import ERROR_PAYLOAD, outcomes
from .registry import Registry
from .schemas import MarshmallowSchema, PayloadSchema

__all__ = ["events_operation", "openapi_document", "payload_schema"]


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
