"""The documentation routes of an events blueprint: ``<prefix>/doc`` (the page),
``/doc/event`` (one event's details, for a page above ``EVENTS_DOC_INLINE_MAX``
events), ``/doc.json``, ``/openapi.json`` and ``/asyncapi.json``, built from its
registry when asked (docs/protocol.rst#doc-page).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Optional
from urllib.parse import urlsplit

from flask import Response, abort, current_app, jsonify, render_template, request, url_for

from . import doc_fields, docs, openapi, snippets
from .asyncapi import asyncapi_document
from .config import setting
from .registry import HandlerSpec
from .smorest import add_undocumented_rule
from .state import registrations

if TYPE_CHECKING:
    from .blueprint import EventsBlueprint

__all__ = ["DocViews"]


class DocViews:
    """The documentation views of ``events`` (an events blueprint)."""

    def __init__(self, events: EventsBlueprint) -> None:
        self.events = events
        #: ``(key, headers)``: :meth:`headers` as last built, and what it was built
        #: from (the registry's handlers, by identity, and :attr:`authenticated`).
        self._headers: Optional[tuple[tuple[Any, ...], list[dict[str, Any]]]] = None

    @property
    def authenticated(self) -> bool:
        """Whether the blueprint has an authenticator (the docs mark what needs it)."""
        return self.events.dispatcher.authenticator is not None

    def add_to(self, doc_url: str) -> None:
        """Add the routes: the page at ``doc_url``, ``doc.json`` beside it, and
        ``openapi.json`` and ``asyncapi.json`` in its folder, and ``<doc_url>/event``
        (one event's details); kept out of OpenAPI.
        """
        base = doc_url.rstrip("/")
        folder = base.rsplit("/", 1)[0]
        add_undocumented_rule(self.events, doc_url, "doc", self.page)
        add_undocumented_rule(self.events, base + "/event", "doc_event", self.event)
        add_undocumented_rule(self.events, base + ".json", "doc_json", self.doc_json)
        add_undocumented_rule(self.events, folder + "/openapi.json", "openapi", self.openapi)
        add_undocumented_rule(self.events, folder + "/asyncapi.json", "asyncapi", self.asyncapi)

    def page(self) -> str:
        """The page: every event's details inline, or, above ``EVENTS_DOC_INLINE_MAX``
        events, only each event's header and search text (doc.js fetches the rest
        from :meth:`event`).
        """
        headers = self.headers()
        limit = setting(current_app, "EVENTS_DOC_INLINE_MAX", self.events.config_prefix)
        lazy = limit is not None and len(headers) > limit
        events = headers
        if not lazy:
            catalogue = docs.catalogue(self.events.registry, self.authenticated)
            events = [dict(item, search=head["search"]) for item, head in zip(catalogue, headers)]
        return render_template(
            "flask_events/doc.html",
            title=self.events.name,
            events=events,
            lazy=lazy,
            pushes=docs.push_catalogue(self.events.registry),
            events_url=url_for(".events"),
            push_search=lambda push, rows: search_text(push["name"], push["doc"], rows),
            error_payload=docs.ERROR_PAYLOAD,
            **self._body_context(),
        )

    def event(self) -> str:
        """The details of the event ``?name=&version=`` (``_event_body.html``), as
        the page shows them inline.

        :raises NotFound: no such event.
        """
        version = request.args.get("version", type=int)
        spec = None
        if version is not None:
            spec = self.events.registry.get(request.args.get("name", ""), version)
        if spec is None:
            abort(404)
        sub = docs.batch_example_spec(self.events.registry, self.authenticated)
        item = docs.entry(spec, [sub] if sub is not None else [], self.authenticated)
        return render_template("flask_events/_event_body.html", item=item, **self._body_context())

    def _body_context(self) -> dict[str, Any]:
        """What ``_event_body.html`` needs beside its event."""
        return {
            "try_it": bool(setting(current_app, "EVENTS_DOC_TRY_IT", self.events.config_prefix)),
            "pretty": docs.pretty,
            "doc_html": docs.doc_html,
            "fields": doc_fields.fields,
            "endpoints": self._endpoints(),
            "snippets": snippets.snippets,
        }

    def headers(self) -> list[dict[str, Any]]:
        """What the page shows of each event without its details (name, version,
        ``anchor``, ``summary``, badges) and its ``search`` text, sorted as the
        registry; built again only when the registry's handlers (it takes more until
        its first event is handled) or the authenticator changed.
        """
        specs = list(self.events.registry)
        authenticated = self.authenticated
        key = (authenticated, *map(id, specs))
        cached = self._headers
        if cached is not None and cached[0] == key:
            return cached[1]
        headers = [_header(spec, authenticated) for spec in specs]
        # the key holds ids: the specs stay alive in the registry, which never drops one
        self._headers = (key, headers)
        return headers

    def _endpoints(self) -> snippets.Endpoints:
        """The absolute URLs of this registration, as the page was asked for: where
        its snippets and try-it panels send (ws:// or wss:// for the WebSocket).
        """
        state = registrations(current_app).get(request.blueprint or "")
        websocket = None
        if self.events.websocket_url is not None:
            websocket = url_for(".events_websocket", _external=True)
        socketio, path = None, "/socket.io"
        if state is not None and state.socketio is not None:
            socketio = request.host_url.rstrip("/") + (state.namespace or "/")
            middleware = getattr(state.socketio, "sockio_mw", None)
            path = getattr(middleware, "engineio_path", path).rstrip("/") or path
        return snippets.Endpoints(url_for(".events", _external=True), websocket, socketio, path)

    def doc_json(self) -> Response:
        return jsonify(docs.catalogue(self.events.registry, self.authenticated))

    def openapi(self) -> Response:
        document = openapi.openapi_document(
            self.events.registry,
            path=url_for(".events"),
            title=f"{self.events.name} events",
            authenticated=self.authenticated,
        )
        return jsonify(document)

    def asyncapi(self) -> Response:
        state = registrations(current_app).get(request.blueprint or "")
        websocket = None
        if self.events.websocket_url is not None:  # a path: url_for gives a ws:// URL
            websocket = urlsplit(url_for(".events_websocket", _external=True)).path
        socketio = None
        if state is not None and state.socketio is not None:
            socketio = state.namespace or "/"
        document = asyncapi_document(
            self.events.registry,
            title=f"{self.events.name} events",
            websocket=websocket,
            socketio=socketio,
            authenticated=self.authenticated,
        )
        return jsonify(document)


def _header(spec: HandlerSpec, authenticated: bool) -> dict[str, Any]:
    """An event's header on the page (see :meth:`DocViews.headers`)."""
    output = docs.BATCH_OUTPUT if spec.is_batch else spec.output
    rows = [doc_fields.fields(schema.json_schema()) for schema in (spec.input, output) if schema]
    return {
        "name": spec.name,
        "version": spec.version,
        "anchor": docs.anchor(spec.name, spec.version),
        "summary": spec.summary,
        "async": spec.is_async,
        "auth": authenticated and not spec.public,
        "batch": spec.is_batch,
        "deprecated": spec.deprecated,
        "search": search_text(spec.name, spec.doc, *rows),
    }


def search_text(name: str, doc: str, *rows: Iterable[doc_fields.Field]) -> str:
    """A section's search text for the filter (doc.js): its name, doc text and field
    names, lowercase.
    """
    return " ".join(
        [name, doc or "", *(" ".join(row.name for row in table) for table in rows)]
    ).lower()
