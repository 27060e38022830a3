"""The documentation routes of an events blueprint: ``<prefix>/doc`` (the page),
``/doc.json``, ``/openapi.json`` and ``/asyncapi.json``, built from its registry when
asked (docs/protocol.rst#doc-page).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import Response, current_app, jsonify, render_template, request, url_for

from . import doc_fields, docs, snippets
from .asyncapi import asyncapi_document
from .config import setting
from .smorest import add_undocumented_rule
from .state import registrations

if TYPE_CHECKING:
    from .blueprint import EventsBlueprint

__all__ = ["DocViews"]


class DocViews:
    """The documentation views of ``events`` (an events blueprint)."""

    def __init__(self, events: EventsBlueprint) -> None:
        self.events = events

    @property
    def authenticated(self) -> bool:
        """Whether the blueprint has an authenticator (the docs mark what needs it)."""
        return self.events.dispatcher.authenticator is not None

    def add_to(self, doc_url: str) -> None:
        """Add the routes: the page at ``doc_url``, ``doc.json`` beside it, and
        ``openapi.json`` and ``asyncapi.json`` in its folder; kept out of OpenAPI.
        """
        base = doc_url.rstrip("/")
        folder = base.rsplit("/", 1)[0]
        add_undocumented_rule(self.events, doc_url, "doc", self.page)
        add_undocumented_rule(self.events, base + ".json", "doc_json", self.doc_json)
        add_undocumented_rule(self.events, folder + "/openapi.json", "openapi", self.openapi)
        add_undocumented_rule(self.events, folder + "/asyncapi.json", "asyncapi", self.asyncapi)

    def page(self) -> str:
        return render_template(
            "flask_events/doc.html",
            title=self.events.name,
            events=docs.catalogue(self.events.registry, self.authenticated),
            pushes=docs.push_catalogue(self.events.registry),
            events_url=url_for(".events"),
            try_it=bool(setting(current_app, "EVENTS_DOC_TRY_IT", self.events.config_prefix)),
            pretty=docs.pretty,
            doc_html=docs.doc_html,
            fields=doc_fields.fields,
            error_payload=docs.ERROR_PAYLOAD,
            endpoints=self._endpoints(),
            snippets=snippets.snippets,
        )

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
        document = docs.openapi_document(
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
