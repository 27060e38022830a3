"""EventsBlueprint: the HTTP binding of the protocol and the /doc page."""

from __future__ import annotations

import os
from typing import Any, Callable, Optional, TypeVar
from urllib.parse import quote

from flask import Blueprint as FlaskBlueprint
from flask import Flask, Request, Response, current_app, render_template, request
from flask.blueprints import BlueprintSetupState
from flask_smorest import Blueprint as SmorestBlueprint
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from .dispatch import Dispatcher, Reply
from .errors import BadProtocol
from .registry import HandlerSpec, Registry

__all__ = ["EventsBlueprint", "DEFAULT_CONFIG"]

F = TypeVar("F", bound=Callable[..., Any])

#: Every configuration key with its default (set with ``app.config.setdefault``).
DEFAULT_CONFIG: dict[str, Any] = {
    # Largest request body accepted, in bytes; larger gets HTTP 413 + badProtocol.
    "EVENTS_MAX_CONTENT_LENGTH": 1024 * 1024,
}

_TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")


class EventsBlueprint(SmorestBlueprint):  # type: ignore[misc]
    """A blueprint that serves events: ``POST <prefix>/events`` and ``GET <prefix>/doc``.

    It is a :class:`flask_smorest.Blueprint`, so it can be registered on a Flask app
    or on a flask-smorest ``Api``; register it under any ``url_prefix``, or several
    times under different names.

    :param name: the blueprint's name.
    :param import_name: usually ``__name__``.
    :param events_url: the rule of the events endpoint (also served with a trailing
        slash, without redirect).
    :param doc_url: the rule of the documentation page, or ``None`` for none.
    :param kwargs: passed on to :class:`flask_smorest.Blueprint`.
    """

    def __init__(
        self,
        name: str,
        import_name: str,
        *,
        events_url: str = "/events",
        doc_url: Optional[str] = "/doc",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("template_folder", _TEMPLATES)
        super().__init__(name, import_name, **kwargs)
        self.registry = Registry()
        self.dispatcher = Dispatcher(self.registry)
        events_view = _events_view_for(self.dispatcher)
        events_rule = events_url.rstrip("/") or "/"
        self.add_url_rule(events_rule, "events", events_view, methods=["POST"])
        if events_rule != "/":
            # The trailing-slash twin is served directly, kept out of the OpenAPI spec.
            FlaskBlueprint.add_url_rule(
                self, events_rule + "/", "events_slash", events_view, methods=["POST"]
            )
        if doc_url is not None:
            FlaskBlueprint.add_url_rule(self, doc_url, "doc", self._doc_view)
        self.record(self._on_register)

    # -- registration ----------------------------------------------------------

    def handler(self, name: str, version: int, *, doc: Optional[str] = None) -> Callable[[F], F]:
        """Decorator: register the function as the handler of ``(name, version)``.

        The handler receives the request :class:`~flask_events.Event` and returns a
        JSON-able payload (answered as ``<name>:response``), an ``Event`` (sent as
        is), or raises an :class:`~flask_events.EventError`. The function is returned
        unchanged.

        :param doc: documentation for /doc; the function's docstring by default.
        :raises DuplicateHandlerError: if ``(name, version)`` is taken.
        """

        def decorator(func: F) -> F:
            self.add(name, version, func, doc=doc)
            return func

        return decorator

    def add(
        self, name: str, version: int, func: Callable[..., Any], *, doc: Optional[str] = None
    ) -> HandlerSpec:
        """Register ``func`` for ``(name, version)``: the twin of :meth:`handler`
        and of the Go library's ``mux.Add``.
        """
        return self.registry.add(name, version, func, doc=doc)

    def _on_register(self, state: BlueprintSetupState) -> None:
        app = state.app
        for key, value in DEFAULT_CONFIG.items():
            app.config.setdefault(key, value)
        app.extensions.setdefault("events", {})[state.name] = self

    # -- views -------------------------------------------------------------------

    def _doc_view(self) -> str:
        events = [
            {"spec": spec, "anchor": doc_anchor(spec.name, spec.version)} for spec in self.registry
        ]
        return render_template("flask_events/doc.html", events=events, title=self.name)


def doc_anchor(name: str, version: int) -> str:
    """The unique HTML id of an event's section on /doc (``name/vN``, percent-encoded)."""
    return quote(f"{name}/v{version}", safe=":/")


def _events_view_for(dispatcher: Dispatcher) -> Callable[[], Response]:
    """The view of the events endpoint (a plain function: Flask calls it fastest)."""

    def events() -> Response:
        """Receive one event envelope and answer with its response event.

        Every protocol outcome is HTTP 200 with an event body; 413 with a
        ``badProtocol`` event above ``EVENTS_MAX_CONTENT_LENGTH``; 500 with an
        ``<name>:error`` event when the response cannot be serialized.
        """
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        limit = app.config["EVENTS_MAX_CONTENT_LENGTH"]
        try:
            data = _read_body(request._get_current_object(), limit)  # type: ignore[attr-defined]
        except RequestEntityTooLarge:
            error = BadProtocol.unreadable(f"the body is larger than {limit} bytes")
            return _respond(app, dispatcher.reject(error, sender=app), 413)
        except ClientDisconnected:
            error = BadProtocol.unreadable("the body ended before its Content-Length")
            return _respond(app, dispatcher.reject(error, sender=app))
        return _respond(app, dispatcher.handle(data, sender=app))

    return events


def _read_body(req: Request, limit: Optional[int]) -> bytes:
    """The raw request body, refusing more than ``limit`` bytes.

    A declared ``Content-Length`` over the limit is refused before reading; a body
    without one (chunked) is read only up to one byte past the limit.

    :raises RequestEntityTooLarge: above the limit (ours or the app's
        ``MAX_CONTENT_LENGTH``).
    """
    stream = req.stream
    if limit is None:
        return stream.read()
    if _declared_length(req.environ) > limit:  # refuse before reading
        raise RequestEntityTooLarge()
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise RequestEntityTooLarge()
    return data


def _declared_length(environ: dict[str, Any]) -> int:
    """The ``Content-Length`` the client declared, or -1 (werkzeug enforces the
    real one while reading; this only allows refusing early, and cheaply).
    """
    try:
        return int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        return -1


def _respond(app: Flask, reply: Reply, status: Optional[int] = None) -> Response:
    return app.response_class(reply.body, status or reply.status, content_type="application/json")
