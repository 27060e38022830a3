"""The AsyncAPI 3.0 document of an events blueprint's sockets: its WebSocket endpoint
and its Socket.IO namespace, built from a :class:`~flask_events.registry.Registry`
(no Flask import).

Each channel (one per transport) carries every event's request message and the
messages it can be answered; one ``receive`` operation per ``(event, version)`` and
channel has AsyncAPI 3's ``reply`` (the response, the declared errors and the protocol
outcomes, see :func:`~flask_events.outcomes.outcomes`); each pushed event is a
message of a ``send`` operation on the Socket.IO channel. Every message's payload is
the whole envelope (``components.schemas.Envelope``) with the event's payload schema
(a component too), and its ``correlationId`` is the envelope's ``id``.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Optional, Union

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from . import docs
from .openapi import payload_schema  # the OpenAPI document's schemas, as components
from .outcomes import ERROR_PAYLOAD, outcomes
from .registry import HandlerSpec, PushSpec, Registry
from .schemas import MarshmallowSchema, PayloadSchema

__all__ = ["ENVELOPE", "asyncapi_document", "component_key", "prefixed"]

#: The JSON Schema of an event envelope (docs/protocol.rst#envelope), the shared
#: component ``Envelope`` of every message's payload.
ENVELOPE: dict[str, Any] = {
    "type": "object",
    "title": "Event envelope",
    "required": ["name", "version", "id", "flowId", "payload"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "version": {"type": "integer", "minimum": 1},
        "id": {"type": "string", "minLength": 1},
        "flowId": {"type": "string", "minLength": 1},
        "payload": {},
        "identity": {"type": ["object", "null"]},
        "auth": {"type": ["object", "null"]},
        "metadata": {"type": ["object", "null"]},
    },
}

_ENVELOPE_REF = {"$ref": "#/components/schemas/Envelope"}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorPayload"}
_CORRELATION = {"$ref": "#/components/correlationIds/envelopeId"}
_INVALID = re.compile(r"[^A-Za-z0-9._-]")
_SHARED = frozenset({"eventNotFound", "badProtocol"})

_WEBSOCKET = (
    "The WebSocket endpoint: each text message is one envelope, and each answer one "
    "text message holding the event the HTTP endpoint would answer. Events of one "
    "connection run at once and are answered as they finish: match answers by `id`."
)
_SOCKETIO = (
    "The Socket.IO namespace: the client emits `event` with the envelope as one JSON "
    "object; the answer is the acknowledgement, or is emitted back as `event` when the "
    "client asked for none. Pushed events arrive as `event` too."
)


def component_key(text: str) -> str:
    """``text`` as an AsyncAPI component key (``^[a-zA-Z0-9.\\-_]+$``): ``:`` becomes
    ``.``, any other character but letters, digits, ``.``, ``-`` and ``_`` becomes
    ``_`` (``rates:get`` is ``rates.get``).
    """
    return _INVALID.sub(lambda m: "." if m.group(0) == ":" else "_", text)


def asyncapi_document(
    registry: Registry,
    *,
    title: str,
    websocket: Optional[str] = None,
    socketio: Optional[str] = None,
    authenticated: bool = False,
) -> dict[str, Any]:
    """An AsyncAPI 3.0.0 document of the events of ``registry`` over the WebSocket
    endpoint at ``websocket`` and the Socket.IO namespace ``socketio`` (each ``None``:
    not served, no channel).

    :param authenticated: whether the blueprint has an authenticator (its events but
        the public ones may be answered ``unauthorized`` / ``forbidden``).
    """
    builder = _Builder(registry, authenticated)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for key, address, description, pushes in (
        ("websocket", websocket, _WEBSOCKET, False),
        ("socketio", socketio, _SOCKETIO, True),
    ):
        if address is None:
            continue
        messages = builder.requests + builder.answers + (builder.pushes if pushes else [])
        channels[key] = {
            "address": address,
            "title": "WebSocket" if key == "websocket" else "Socket.IO namespace",
            "description": description,
            "messages": {m: {"$ref": f"#/components/messages/{m}"} for m in messages},
        }
        operations.update(builder.operations(key, pushes))
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": title,
            "version": "1",
            "description": (
                "The events of this service over its sockets: one envelope per message "
                "(name, version, id, flowId, payload, identity, auth, metadata)."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": builder.components(),
    }


def prefixed(document: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``document`` with its channels, operations and messages keyed ``<prefix>.<key>``
    (and every reference to them likewise), to merge it with another blueprint's.
    """
    prefix = component_key(prefix)
    for section in ("channels", "operations"):
        document[section] = {f"{prefix}.{k}": v for k, v in document[section].items()}
    messages = document["components"]["messages"]
    document["components"]["messages"] = {f"{prefix}.{k}": v for k, v in messages.items()}
    rewritten: dict[str, Any] = _rewrite(document, prefix)
    return rewritten


def _rewrite(value: Any, prefix: str) -> Any:
    if isinstance(value, dict):
        return {
            key: _prefixed_ref(item, prefix) if key == "$ref" else _rewrite(item, prefix)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_rewrite(item, prefix) for item in value]
    return value


def _prefixed_ref(ref: Any, prefix: str) -> Any:
    for section in ("#/channels/", "#/operations/", "#/components/messages/"):
        if isinstance(ref, str) and ref.startswith(section):
            return f"{section}{prefix}.{ref[len(section) :]}"
    return ref


class _Builder:
    """The messages and schemas of one document, keyed once."""

    def __init__(self, registry: Registry, authenticated: bool) -> None:
        self.plugin = MarshmallowPlugin()
        self.spec = APISpec("asyncapi", "1", "3.1.0", plugins=[self.plugin])
        self.spec.components.schema("Envelope", component=ENVELOPE)
        self.spec.components.schema("ErrorPayload", component=ERROR_PAYLOAD)
        handlers, pushes = list(registry), registry.pushes()
        self.keys = _event_keys([h.name for h in handlers] + [p.name for p in pushes])
        self.messages: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.answers: list[str] = []
        self.replies: dict[str, list[str]] = {}
        self.handlers = handlers
        batchable = docs.batch_example_spec(handlers, authenticated)
        for handler in handlers:
            needs_auth = authenticated and not handler.public
            entry = docs.entry(handler, [batchable] if batchable else [], authenticated)
            self._add_handler(handler, entry, needs_auth)
        self.pushes = [self._add_push(push) for push in pushes]
        self.push_specs = pushes

    # -- messages ----------------------------------------------------------------

    def _add_handler(self, handler: HandlerSpec, entry: dict[str, Any], auth: bool) -> None:
        base = f"{self.keys[handler.name]}.v{handler.version}"
        payload = self._envelope(handler.name, handler.version, self._schema(handler.input))
        if handler.deprecated:
            payload["deprecated"] = True
        examples = [{"name": "request", "payload": entry["request"]}]
        self.messages[f"{base}.request"] = _message(
            handler.name, handler.version, handler.summary, handler.doc, payload, examples
        )
        self.requests.append(f"{base}.request")
        output = docs.BATCH_OUTPUT if handler.is_batch else handler.output
        groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
        for answer in outcomes(handler, auth):
            groups.setdefault((answer["name"], answer["version"]), []).append(answer)
        replies = []
        for (name, version), answers in groups.items():
            if name in _SHARED:
                key = f"{name}.v{version}"
            else:
                key = f"{base}.{component_key(name[len(handler.name) + 1 :])}"
            if answers[0]["kind"] == "response":
                schema = self._envelope(name, version, self._schema(output))
                when = answers[0]["when"]
                message = _message(name, version, when, "", schema, [])
            else:
                message = self._error_message(name, version, answers)
            if key not in self.messages:
                self.messages[key] = message
                self.answers.append(key)
            replies.append(key)
        self.replies[base] = replies

    def _error_message(
        self, name: str, version: int, answers: list[dict[str, Any]]
    ) -> dict[str, Any]:
        payload: dict[str, Any] = _ERROR_REF
        codes = [a["code"] for a in answers]
        if all(a["kind"] == "error" and a["code"] is not None for a in answers):
            enum = {"properties": {"code": {"type": "string", "enum": sorted(set(codes))}}}
            payload = {"allOf": [_ERROR_REF, enum]}
        lines = [f"- `{a['code'] or 'any code'}`: {a['when']}" for a in answers]
        summary = answers[0]["when"] if len(answers) == 1 else f"{name}: one of {len(answers)}"
        schema = self._envelope(name, version, payload)
        return _message(name, version, summary, "\n".join(lines), schema, [])

    def _add_push(self, push: PushSpec) -> str:
        key = f"{self.keys[push.name]}.v{push.version}.push"
        payload = self._envelope(push.name, push.version, self._schema(push.schema))
        examples = []
        if push.example is not None:
            example = {"name": push.name, "version": push.version, "id": "1", "flowId": "1"}
            examples.append({"name": "push", "payload": {**example, "payload": push.example}})
        message = _message(push.name, push.version, push.summary, push.doc, payload, examples)
        del message["correlationId"]  # nothing asked for it
        self.messages[key] = message
        return key

    # -- operations ----------------------------------------------------------------

    def operations(self, channel: str, pushes: bool) -> dict[str, Any]:
        """The operations on ``channel``: one ``receive`` per event, one ``send`` per
        push when ``pushes``.
        """
        ref = {"$ref": f"#/channels/{channel}"}

        def messages(keys: Iterable[str]) -> list[dict[str, str]]:
            return [{"$ref": f"#/channels/{channel}/messages/{key}"} for key in keys]

        found: dict[str, Any] = {}
        for handler in self.handlers:
            base = f"{self.keys[handler.name]}.v{handler.version}"
            found[f"{channel}.{base}"] = {
                "action": "receive",
                "channel": ref,
                "title": f"{handler.name} v{handler.version}",
                **_texts(handler.summary, _deprecation(handler.deprecated) + handler.doc),
                "messages": messages([f"{base}.request"]),
                "reply": {"channel": ref, "messages": messages(self.replies[base])},
            }
        if pushes:
            for push, key in zip(self.push_specs, self.pushes):
                found[f"{channel}.{key}"] = {
                    "action": "send",
                    "channel": ref,
                    "title": f"{push.name} v{push.version} (pushed)",
                    **_texts(push.summary, push.doc),
                    "messages": messages([key]),
                }
        return found

    # -- schemas -------------------------------------------------------------------

    def _schema(self, payload: Optional[PayloadSchema]) -> dict[str, Any]:
        """``payload``'s JSON Schema: a reference to its component, ``{}`` for none."""
        if payload is None:
            return {}
        if payload is docs.BATCH_OUTPUT:
            return {"type": "array", "items": _ENVELOPE_REF}
        schema = payload_schema(payload, self.spec)  # pydantic's $defs: components
        if isinstance(payload, MarshmallowSchema):
            resolver = self.plugin.resolver
            assert resolver is not None  # set when the spec was made
            resolved: dict[str, Any] = resolver.resolve_schema_dict(schema)  # type: ignore[no-untyped-call]
            return resolved
        name = component_key(payload.name)
        known = self.spec.components.schemas.get(name)
        if known is None:
            self.spec.components.schema(name, component=schema)
        elif known != schema:  # another schema of that name: left inline
            return dict(schema)
        return {"$ref": f"#/components/schemas/{name}"}

    def _envelope(self, name: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "title": f"{name} v{version}",
            "allOf": [
                _ENVELOPE_REF,
                {
                    "type": "object",
                    "properties": {
                        "name": {"const": name},
                        "version": {"const": version},
                        "payload": payload,
                    },
                },
            ],
        }

    def components(self) -> dict[str, Any]:
        """The ``components`` object: schemas, messages and the correlation id."""
        schemas = self.spec.to_dict().get("components", {}).get("schemas", {})
        return {
            "schemas": schemas,
            "messages": self.messages,
            "correlationIds": {
                "envelopeId": {
                    "description": "An answer carries the id of the event it answers.",
                    "location": "$message.payload#/id",
                }
            },
        }


def _event_keys(names: Iterable[str]) -> dict[str, str]:
    """A distinct component key per event name (see :func:`component_key`; a name
    whose key another name has already gets ``_2``, ``_3``...).
    """
    keys: dict[str, str] = {}
    used: set[str] = set()
    for name in sorted(set(names)):
        key, n = component_key(name), 1
        while key in used:
            n += 1
            key = f"{component_key(name)}_{n}"
        keys[name] = key
        used.add(key)
    return keys


def _message(
    name: str,
    version: int,
    summary: str,
    description: str,
    payload: dict[str, Any],
    examples: list[dict[str, Any]],
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": name,
        "title": f"{name} v{version}",
        **_texts(summary, description),
        "contentType": "application/json",
        "correlationId": _CORRELATION,
        "payload": payload,
    }
    if examples:
        message["examples"] = examples
    return message


def _texts(summary: str, description: str) -> dict[str, str]:
    texts = {"summary": summary, "description": description.strip()}
    return {key: value for key, value in texts.items() if value}


def _deprecation(deprecated: Union[bool, str]) -> str:
    if not deprecated:
        return ""
    return "Deprecated.\n\n" if deprecated is True else f"Deprecated: {deprecated}\n\n"
