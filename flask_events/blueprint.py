"""EventsBlueprint: the HTTP binding of the protocol, and the documentation routes."""

from __future__ import annotations

import functools
import logging
import os
from typing import Any, Callable, Iterable, Optional, Type, TypeVar, Union

from flask import (
    Flask,
    current_app,
    has_app_context,
)
from flask.blueprints import BlueprintSetupState
from flask_smorest import Blueprint as SmorestBlueprint

from . import docs, openapi
from .batch import BatchHandler, BatchPayload
from .cli import events_cli
from .config import DEFAULT_CONFIG, DEFAULT_PREFIX, setting, settings_of
from .dispatch import Dispatcher
from .doc_views import DocViews
from .errors import EventsError
from .event import Event
from .failures import qualname
from .http import events_view_for
from .registry import HandlerSpec, PushSpec, Registry
from .smorest import add_undocumented_rule, set_operation
from .state import (
    EventsState,
    attached_state,
    check_collisions,
    registrations,
    rules_of,
    socketio_app,
    state_for,
)
from .transports.socketio import bind_socketio, push, require_socketio
from .transports.websocket import websocket_view_for

__all__ = ["DEFAULT_CONFIG", "EventsBlueprint"]

F = TypeVar("F", bound=Callable[..., Any])

logger = logging.getLogger("flask_events")

_PACKAGE = os.path.dirname(os.path.abspath(__file__))

_BATCH_DOC = """Run several events in one round trip.

The payload is ``{"parallel": bool, "events": [envelope, ...]}``; the answer's payload
is the list of the sub-events' response events, in input order, failures included.
With ``"parallel": true`` the sub-events run at once. A batch cannot contain a batch."""


class EventsBlueprint(SmorestBlueprint):  # type: ignore[misc]
    """A blueprint that serves events: ``POST <prefix>/events`` and its documentation
    (``GET <prefix>/doc``, ``/doc.json``, ``/openapi.json`` and ``/asyncapi.json``).

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
    :param config_prefix: the prefix of the configuration keys read for this
        blueprint, as flask-smorest's ``config_prefix``: with ``"PUBLIC_EVENTS_"``,
        ``PUBLIC_EVENTS_MAX_DEPTH`` when the app sets it, else ``EVENTS_MAX_DEPTH``
        (``EVENTS_SERVICES`` is the app's, read as it is).
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
        config_prefix: str = DEFAULT_PREFIX,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("template_folder", os.path.join(_PACKAGE, "templates"))
        if doc_url is not None:  # the page's assets: no static route without the page
            kwargs.setdefault("static_folder", os.path.join(_PACKAGE, "static"))
            kwargs.setdefault("static_url_path", "/events-static")
        super().__init__(name, import_name, **kwargs)
        self.registry = Registry()
        self._undeclared_pushes: set[tuple[str, int]] = set()  # logged once each
        if not isinstance(config_prefix, str) or not config_prefix.endswith("_"):
            raise ValueError(
                f"config_prefix of events blueprint {name!r} must be a string ending "
                f"with '_', such as 'PUBLIC_EVENTS_', got {config_prefix!r}"
            )
        #: The prefix of the configuration keys read for this blueprint.
        self.config_prefix = config_prefix
        self.dispatcher = Dispatcher(
            self.registry, functools.partial(settings_of, prefix=config_prefix), scope=_app_context
        )
        self.dispatcher.config_prefix = config_prefix
        events_view = events_view_for(self.dispatcher)
        events_rule = events_url.rstrip("/") or "/"
        self.add_url_rule(events_rule, "events", events_view, methods=["POST"])
        if events_rule != "/":
            # The trailing-slash twin is served directly, kept out of the OpenAPI spec.
            add_undocumented_rule(
                self, events_rule + "/", "events_slash", events_view, methods=["POST"]
            )
        if doc_url is not None:
            DocViews(self).add_to(doc_url)
        self.websocket_url = websocket_url
        if websocket_url is not None:
            websocket_view = websocket_view_for(self.dispatcher)
            add_undocumented_rule(
                self, websocket_url, "events_websocket", websocket_view, websocket=True
            )
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
        deprecated: Union[bool, str] = False,
        errors: Iterable[Any] = (),
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
        :param deprecated: ``True``, or a message such as ``"use v2"``: this version
            is deprecated: /doc, OpenAPI, AsyncAPI and ``flask events list`` mark it,
            and its first call in the process logs a warning.
        :param errors: the typed errors the handler may answer, shown on /doc and in
            the OpenAPI and AsyncAPI documents: :class:`~flask_events.EventError`
            subclasses (``NotFound``: any code) or instances
            (``NotFound("No such account", code="ACCOUNT_NOT_FOUND")``: that code).
            In debug or testing, answering a typed error not declared logs a warning,
            once per event and type.
        :raises DuplicateHandlerError: if ``(name, version)`` is taken.
        :raises ExampleError: if an example does not match its schema.
        :raises EventsError: an app has handled events with this blueprint already
            (as Flask's setup methods, declare everything before serving).
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
                deprecated=deprecated,
                errors=errors,
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
        deprecated: Union[bool, str] = False,
        errors: Iterable[Any] = (),
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
            deprecated=deprecated,
            errors=errors,
        )

    def pushes(
        self,
        name: str,
        version: int = 1,
        *,
        schema: Any = None,
        doc: Optional[str] = None,
        example: Any = None,
    ) -> PushSpec:
        """Declare an event the server pushes to Socket.IO clients (with
        :meth:`push` or :class:`~flask_events.EventPusher`): /doc shows it in its
        Pushes section and the AsyncAPI document as a message the server sends. In
        debug or testing, :meth:`push` of an event not declared logs a warning, once
        per event and version.

        :param schema: a marshmallow schema (class or instance) or a pydantic model
            of the payload.
        :param doc: documentation for /doc (``None``: none).
        :param example: an example payload, checked against ``schema`` now.
        :raises DuplicateHandlerError: ``(name, version)`` is declared already.
        :raises ExampleError: the example does not match the schema.
        :raises EventsError: an app has handled events with this blueprint already.
        """
        return self.registry.add_push(name, version, schema=schema, doc=doc, example=example)

    def authenticator(self, func: F) -> F:
        """Decorator: authenticate every event of a non-``public`` handler.

        ``func(event)`` reads ``event.auth`` and ``event.identity``, raises
        :class:`~flask_events.Unauthorized` or :class:`~flask_events.Forbidden` to
        refuse (answered ``<name>:unauthorized`` / ``<name>:forbidden``; the handler
        does not run), and returns the principal, which the handler reads as
        ``current_handling().principal``. Batch sub-events are authenticated one by
        one, each with its own ``auth``. The function is returned unchanged.

        :raises EventsError: the blueprint has an authenticator already, or an app
            has handled events with it already.
        """
        self.registry.check_open(f"declare authenticator {qualname(func)}")
        existing = self.dispatcher.authenticator
        if existing is not None:
            raise EventsError(
                f"events blueprint {self.name!r} has an authenticator already, "
                f"{qualname(existing)}; cannot also declare {qualname(func)}"
            )
        self.dispatcher.authenticator = func
        return func

    def errorhandler(self, code_or_exception: Union[Type[Exception], int]) -> Callable[[F], F]:
        """Decorator: answer what this blueprint's event handlers raise, as Flask's
        ``errorhandler`` does for views — for the events of this blueprint only
        (batch sub-events included), not for its other routes.

        ``func(error)`` gets the exception raised by a handler, the authenticator or
        an input or output schema — an :class:`~flask_events.EventError` and an
        ``HTTPException`` too — and returns or raises an
        :class:`~flask_events.EventError` (answered ``<name>:<type>``), or returns
        an :class:`~flask_events.Event` (sent as is). The handler declared for the
        most specific class of the exception is chosen (along its MRO); a status
        (``404``) matches an ``HTTPException`` with that status. If ``func`` raises
        anything else, it is logged and answered ``<name>:error``
        (``UNHANDLED_ERROR``), or propagated (``EVENTS_PROPAGATE_EXCEPTIONS``). The
        function is returned unchanged.

        :param code_or_exception: an exception class, or an HTTP error status.
        :raises EventsError: one is declared already for ``code_or_exception`` (both
            are named), or it is neither an exception class nor an error status.
        """

        def decorator(func: F) -> F:
            self.register_error_handler(code_or_exception, func)
            return func

        return decorator

    def register_error_handler(
        self, code_or_exception: Union[Type[Exception], int], f: Callable[[Any], Any]
    ) -> None:
        """Declare ``f`` for ``code_or_exception``: the twin of :meth:`errorhandler`.

        :raises EventsError: as :meth:`errorhandler` does, or an app has handled
            events with this blueprint already.
        """
        self.registry.check_open(f"declare error handler {qualname(f)}")
        self.dispatcher.error_handlers.add(
            code_or_exception, f, owner=f"events blueprint {self.name!r}"
        )

    def add_batch(
        self,
        name: str = "batch",
        version: int = 1,
        *,
        doc: Optional[str] = None,
        public: bool = True,
        deprecated: Union[bool, str] = False,
        errors: Iterable[Any] = (),
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
            deprecated=deprecated,
            errors=errors,
        )

    def attach_socketio(
        self,
        socketio: Any,
        namespace: str = "/events",
        *,
        app: Optional[Flask] = None,
        name: Optional[str] = None,
    ) -> None:
        """Serve these events on ``namespace`` of a Flask-SocketIO ``SocketIO``.

        Clients emit ``event`` with an envelope and get the response event as the
        acknowledgement (or emitted back as ``event`` without one); :meth:`push` sends
        events to them. The binding belongs to one registration of the blueprint on
        one app (kept in ``app.extensions["events"]``): register the blueprint first.

        :param app: the app; by default the current app, else the app ``socketio``
            was created with (``SocketIO(app)`` or ``socketio.init_app(app)``).
        :param name: the registration's full dotted name, when the blueprint is
            registered on the app more than once.
        :raises EventsError: the blueprint is not registered on the app, or this
            registration is attached already, or ``namespace`` of ``socketio`` is
            served already (by another events blueprint or the app's own ``event``
            handler).
        """
        require_socketio("attach_socketio")
        state = state_for(self, app if app is not None else socketio_app(socketio), name=name)
        if state.socketio is not None:
            raise EventsError(
                f"events blueprint {state.name!r} is attached already, to namespace "
                f"{state.namespace!r}; cannot also attach it to {namespace!r}"
            )
        bind_socketio(self.dispatcher, socketio, namespace, name=state.name)
        state.socketio, state.namespace = socketio, namespace

    def push(
        self,
        event: Event,
        to: Optional[str] = None,
        *,
        socketio: Any = None,
        namespace: Optional[str] = None,
    ) -> None:
        """Send ``event`` to Socket.IO clients: one client (its sid), a room, or every
        client of the namespace (``to=None``). ``auth`` is never sent.

        Inside an app context (a request, a CLI command, ``app.app_context()``) it
        uses the ``SocketIO`` and namespace this blueprint is attached to on the
        current app; anywhere else give ``socketio`` (and ``namespace``, ``"/events"``
        by default). With a message queue, the client may be connected to any server
        process; see also :class:`~flask_events.EventPusher`. Delivery is at most
        once (see :doc:`transports`).

        :raises EventsError: inside an app context where the blueprint is not
            attached to a ``SocketIO`` (and ``socketio`` is not given), or is
            attached more than once (and ``namespace`` is not given); outside one
            without ``socketio``.
        :raises ~flask_events.PushFailed: with a Redis message queue, Redis could not
            be reached, did not answer within ``EVENTS_PUSH_TIMEOUT`` seconds, or no
            server process is subscribed to it; also sent to
            :data:`~flask_events.signals.error_noticed`. Clients of this process
            got the event all the same.
        """
        timeout = DEFAULT_CONFIG["EVENTS_PUSH_TIMEOUT"]
        if has_app_context():
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            timeout = setting(app, "EVENTS_PUSH_TIMEOUT", self.config_prefix)
            if app.debug or app.testing:
                self._warn_undeclared_push(event)
            # a SocketIO given, to which it is not attached here: "/events" by default
            attached = socketio is None or any(
                state.blueprint is self and state.socketio is socketio
                for state in registrations(app).values()
            )
            if attached and (socketio is None or namespace is None):
                state = attached_state(self, app, socketio, namespace)
                socketio, namespace = state.socketio, state.namespace
        elif socketio is None:
            raise EventsError(
                f"events blueprint {self.name!r}: push() outside an app context needs "
                "socketio= (and namespace=)"
            )
        push(socketio, event, to=to, namespace=namespace or "/events", timeout=timeout)

    def _warn_undeclared_push(self, event: Event) -> None:
        """Log, once per event and version, a push :meth:`pushes` did not declare."""
        key = (event.name, event.version)
        if self.registry.declares_push(*key) or key in self._undeclared_pushes:
            return
        self._undeclared_pushes.add(key)
        logger.warning(
            "events blueprint %r pushes %r v%s, which it does not declare: declare it "
            "with pushes() to document it on /doc and in the AsyncAPI document",
            self.name,
            event.name,
            event.version,
        )

    def _on_register(self, state: BlueprintSetupState) -> None:
        app: Flask = state.app  # type: ignore[assignment]  # typed as sansio App
        for key, value in DEFAULT_CONFIG.items():
            app.config.setdefault(key, value)
        name = f"{state.name_prefix}.{state.name}".lstrip(".")
        registered = registrations(app)
        urls = rules_of(app, name)
        check_collisions(app, name, urls)
        registered[name] = EventsState(self, name, {rule.endpoint: rule.rule for rule in urls})
        if "events" not in app.cli.commands:
            app.cli.add_command(events_cli)

    def register_views_in_doc(self, api: Any, app: Flask, spec: Any, **kwargs: Any) -> None:
        """Describe every event in the OpenAPI document of a flask-smorest ``Api``."""
        authenticated = self.dispatcher.authenticator is not None
        operation = openapi.events_operation(self.registry, spec, authenticated)
        set_operation(self, "events", "post", operation)
        super().register_views_in_doc(api, app, spec, **kwargs)


def _app_context(app: Flask) -> Any:
    """A fresh app context of ``app``: each handler that runs at the same time as
    others (batch sub-events, socket events) gets its own ``g``.
    """
    return app.app_context()
