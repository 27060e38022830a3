"""EventsBlueprint: the HTTP binding of the protocol, and the documentation routes."""

from __future__ import annotations

import os
from typing import Any, Callable, Optional, TypeVar

from flask import Blueprint as FlaskBlueprint
from flask import Flask, Response, current_app, has_app_context, jsonify, render_template, url_for
from flask.blueprints import BlueprintSetupState
from flask_smorest import Blueprint as SmorestBlueprint

from . import docs
from .batch import BatchHandler, BatchPayload
from .dispatch import Dispatcher, Settings
from .event import Event
from .http import events_view_for
from .registry import HandlerSpec, Registry
from .transports.socketio import PUSH_TIMEOUT, push

__all__ = ["DEFAULT_CONFIG", "EventsBlueprint"]

F = TypeVar("F", bound=Callable[..., Any])

#: Every configuration key with its default (set with ``app.config.setdefault``).
DEFAULT_CONFIG: dict[str, Any] = {
    # Largest request body accepted, in bytes; larger gets HTTP 413 + badProtocol.
    "EVENTS_MAX_CONTENT_LENGTH": 1024 * 1024,
    # Check handlers' results against their output schema; None: in debug or testing.
    "EVENTS_VALIDATE_OUTPUT": None,
    # Most sub-events in one batch; more is answered <batch>:badRequest.
    "EVENTS_BATCH_MAX_EVENTS": 100,
    # Most sub-events of a parallel batch running at once (a cap per batch).
    "EVENTS_BATCH_MAX_WORKERS": 16,
    # Seconds a batch may take: sub-events not started by then are answered
    # <name>:error (BATCH_TIMEOUT) without running. None: no limit.
    "EVENTS_BATCH_TIMEOUT": 30,
    # Deepest nesting of arrays and objects in an envelope (itself level 1); deeper
    # is answered badProtocol. None: the interpreter's recursion limit (~1000).
    "EVENTS_MAX_DEPTH": 128,
    # Largest WebSocket message accepted, in bytes; larger: badProtocol, close 1009.
    "EVENTS_WEBSOCKET_MAX_MESSAGE_SIZE": 1024 * 1024,
    # Most events handled at once on one WebSocket or Socket.IO connection; more are
    # answered <name>:error (TOO_MANY_IN_FLIGHT) without running.
    "EVENTS_SOCKET_MAX_IN_FLIGHT": 100,
    # Seconds a push through a Redis message queue may take to connect, send and get
    # Redis's answer, together; past that it raises PushFailed. None: no limit.
    "EVENTS_PUSH_TIMEOUT": PUSH_TIMEOUT,
}

_PACKAGE = os.path.dirname(os.path.abspath(__file__))

_BATCH_DOC = """Run several events in one round trip.

The payload is ``{"parallel": bool, "events": [envelope, ...]}``; the answer's payload
is the list of the sub-events' response events, in input order, failures included.
With ``"parallel": true`` the sub-events run at once. A batch cannot contain a batch."""


class EventsBlueprint(SmorestBlueprint):  # type: ignore[misc]
    """A blueprint that serves events: ``POST <prefix>/events`` and its documentation
    (``GET <prefix>/doc``, ``/doc.json`` and ``/openapi.json``).

    It is a :class:`flask_smorest.Blueprint`, so it can be registered on a Flask app
    or on a flask-smorest ``Api`` (whose OpenAPI document then describes every event);
    register it under any ``url_prefix``, or several times under different names.

    :param name: the blueprint's name.
    :param import_name: usually ``__name__``.
    :param events_url: the rule of the events endpoint (also served with a trailing
        slash, without redirect).
    :param doc_url: the rule of the documentation page, or ``None`` for no
        documentation routes at all.
    :param websocket_url: the rule of the WebSocket endpoint (the same protocol, one
        envelope per text message), or ``None`` for none.
    :param kwargs: passed on to :class:`flask_smorest.Blueprint`.
    """

    def __init__(
        self,
        name: str,
        import_name: str,
        *,
        events_url: str = "/events",
        doc_url: Optional[str] = "/doc",
        websocket_url: Optional[str] = "/events/ws",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("template_folder", os.path.join(_PACKAGE, "templates"))
        kwargs.setdefault("static_folder", os.path.join(_PACKAGE, "static"))
        kwargs.setdefault("static_url_path", "/events-static")
        super().__init__(name, import_name, **kwargs)
        self.registry = Registry()
        #: The Socket.IO namespace given to :meth:`attach_socketio`.
        self.socketio_namespace = "/events"
        self.dispatcher = Dispatcher(self.registry, _settings)
        events_view = events_view_for(self.dispatcher)
        events_rule = events_url.rstrip("/") or "/"
        self.add_url_rule(events_rule, "events", events_view, methods=["POST"])
        if events_rule != "/":
            # The trailing-slash twin is served directly, kept out of the OpenAPI spec.
            FlaskBlueprint.add_url_rule(
                self, events_rule + "/", "events_slash", events_view, methods=["POST"]
            )
        if doc_url is not None:
            base = doc_url.rstrip("/")
            FlaskBlueprint.add_url_rule(self, doc_url, "doc", self._doc_view)
            FlaskBlueprint.add_url_rule(self, base + ".json", "doc_json", self._doc_json_view)
            FlaskBlueprint.add_url_rule(
                self, base.rsplit("/", 1)[0] + "/openapi.json", "openapi", self._openapi_view
            )
        self.websocket_url = websocket_url
        if websocket_url is not None:
            from .transports.websocket import add_websocket_route

            add_websocket_route(self, websocket_url)
        self.record(self._on_register)

    # -- registration ----------------------------------------------------------

    def handler(
        self,
        name: str,
        version: int,
        *,
        input: Any = None,
        output: Any = None,
        example: Optional[tuple[Any, Any]] = None,
        doc: Optional[str] = None,
        public: bool = False,
    ) -> Callable[[F], F]:
        """Decorator: register the function as the handler of ``(name, version)``.

        The handler receives the request :class:`~flask_events.Event` — and, when an
        ``input`` schema is declared, the payload loaded through it as a second
        argument — and returns a JSON-able payload (answered ``<name>:response``), an
        ``Event`` (sent as is), or raises an :class:`~flask_events.EventError`. It may
        be ``async def``. The function is returned unchanged.

        :param input: a marshmallow schema (class or instance) or a pydantic model
            the payload must match; a payload that does not is answered
            ``<name>:badRequest`` / ``INVALID_PAYLOAD`` and the handler does not run.
        :param output: likewise, for the result, which is dumped through it.
        :param example: ``(input_example, output_example)``, checked against the
            schemas at registration and shown on /doc.
        :param doc: documentation for /doc; the function's docstring by default.
        :param public: skip the :meth:`authenticator` for this event.
        :raises DuplicateHandlerError: if ``(name, version)`` is taken.
        :raises ExampleError: if an example does not match its schema.
        """

        def decorator(func: F) -> F:
            self.add(
                name,
                version,
                func,
                input=input,
                output=output,
                example=example,
                doc=doc,
                public=public,
            )
            return func

        return decorator

    def add(
        self,
        name: str,
        version: int,
        func: Callable[..., Any],
        *,
        input: Any = None,
        output: Any = None,
        example: Optional[tuple[Any, Any]] = None,
        doc: Optional[str] = None,
        public: bool = False,
    ) -> HandlerSpec:
        """Register ``func`` for ``(name, version)``: the twin of :meth:`handler` and
        of the Go library's ``mux.Add``.
        """
        return self.registry.add(
            name,
            version,
            func,
            input=input,
            output=output,
            example=example,
            doc=doc,
            public=public,
        )

    def authenticator(self, func: F) -> F:
        """Decorator: authenticate every event of a non-``public`` handler.

        ``func(event)`` reads ``event.auth`` and ``event.identity``, raises
        :class:`~flask_events.Unauthorized` or :class:`~flask_events.Forbidden` to
        refuse (answered ``<name>:unauthorized`` / ``<name>:forbidden``; the handler
        does not run), and returns the principal, which the handler reads as
        ``current_handling().principal``. Batch sub-events are authenticated one by
        one, each with its own ``auth``. The function is returned unchanged.
        """
        self.dispatcher.authenticator = func
        return func

    def add_batch(
        self,
        name: str = "batch",
        version: int = 1,
        *,
        doc: Optional[str] = None,
        public: bool = True,
    ) -> HandlerSpec:
        """Register the batch event (the Go library's ``mux.Add("batch", 1, Batch(mux))``).

        Its sub-events are any events of this blueprint except batches; their number
        is capped by ``EVENTS_BATCH_MAX_EVENTS``, and a parallel batch runs at most
        ``EVENTS_BATCH_MAX_WORKERS`` of them at once.
        """
        example = ({"parallel": True, "events": [docs.example_batch_item()]}, None)
        return self.registry.add(
            name,
            version,
            BatchHandler(self.dispatcher),
            input=BatchPayload,
            example=example,
            doc=doc if doc is not None else _BATCH_DOC,
            is_batch=True,
            public=public,
        )

    def attach_socketio(self, socketio: Any, namespace: str = "/events") -> None:
        """Serve these events on ``namespace`` of a Flask-SocketIO ``SocketIO``.

        Clients emit ``event`` with an envelope and get the response event as the
        acknowledgement (or emitted back as ``event`` without one); :meth:`push` sends
        events to them. Call it once per ``SocketIO`` (per app).
        """
        from .transports.socketio import bind_socketio

        bind_socketio(self.dispatcher, socketio, namespace)
        self.socketio_namespace = namespace

    def push(self, event: Event, to: Optional[str] = None, *, socketio: Any = None) -> None:
        """Send ``event`` to Socket.IO clients: one client (its sid), a room, or every
        client of the namespace (``to=None``). ``auth`` is never sent.

        Works inside a request or any app context (it uses the app's ``SocketIO``), or
        anywhere with ``socketio`` given. With a message queue, the client may be
        connected to any server process; see also :class:`~flask_events.EventPusher`.
        Delivery is at most once (see :doc:`transports`).

        :raises ~flask_events.PushFailed: with a Redis message queue, Redis could not
            be reached, did not answer within ``EVENTS_PUSH_TIMEOUT`` seconds, or no
            server process is subscribed to it; also sent to
            :data:`~flask_events.signals.error_noticed`. Clients of this process
            got the event all the same.
        """
        socketio = socketio if socketio is not None else current_app.extensions["socketio"]
        timeout = DEFAULT_CONFIG["EVENTS_PUSH_TIMEOUT"]
        if has_app_context():
            timeout = current_app.config.get("EVENTS_PUSH_TIMEOUT", timeout)
        push(socketio, event, to=to, namespace=self.socketio_namespace, timeout=timeout)

    def _on_register(self, state: BlueprintSetupState) -> None:
        app = state.app
        for key, value in DEFAULT_CONFIG.items():
            app.config.setdefault(key, value)
        options = app.config.setdefault("SOCK_SERVER_OPTIONS", {})
        options.setdefault("ping_interval", 25)
        if self.websocket_url is not None:
            from .transports.websocket import ArrivalEvent

            options.setdefault("event_class", ArrivalEvent)
        # simple-websocket's own cap on a message, far above ours: past ours we still
        # read the message to answer badProtocol, past this the socket just closes.
        limit = app.config["EVENTS_WEBSOCKET_MAX_MESSAGE_SIZE"]
        if limit is not None:
            options.setdefault("max_message_size", 4 * limit + 1024)
        app.extensions.setdefault("events", {})[state.name] = self
        if "events" not in app.cli.commands:
            from .cli import events_cli

            app.cli.add_command(events_cli)

    def register_views_in_doc(self, api: Any, app: Flask, spec: Any, **kwargs: Any) -> None:
        """Describe every event in the OpenAPI document of a flask-smorest ``Api``."""
        operation = docs.events_operation(self.registry, spec)
        self._docs["events"]["post"]["manual_doc"] = operation
        super().register_views_in_doc(api, app, spec, **kwargs)

    # -- documentation views ---------------------------------------------------------

    def _doc_view(self) -> str:
        return render_template(
            "flask_events/doc.html",
            title=self.name,
            events=docs.catalogue(self.registry, self.dispatcher.authenticator is not None),
            events_url=url_for(".events"),
            pretty=docs.pretty,
            doc_html=docs.doc_html,
        )

    def _doc_json_view(self) -> Response:
        return jsonify(docs.catalogue(self.registry, self.dispatcher.authenticator is not None))

    def _openapi_view(self) -> Response:
        document = docs.openapi_document(
            self.registry, path=url_for(".events"), title=f"{self.name} events"
        )
        return jsonify(document)


def _settings(app: Flask) -> Settings:
    """The dispatcher's settings, from the app's configuration."""
    config = app.config
    validate = config["EVENTS_VALIDATE_OUTPUT"]
    return Settings(
        validate_output=bool(app.debug or app.testing) if validate is None else bool(validate),
        batch_max_events=config["EVENTS_BATCH_MAX_EVENTS"],
        batch_max_workers=config["EVENTS_BATCH_MAX_WORKERS"],
        batch_timeout=config["EVENTS_BATCH_TIMEOUT"],
    )
