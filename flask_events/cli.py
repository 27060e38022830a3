"""``flask events ...``: list the events, send one, write the documentation to a file.

The group is added to an app's ``flask`` command when an ``EventsBlueprint`` is
registered on it. ``list`` and ``doc`` cover all the app's events blueprints, ``send``
the one that serves the event; ``--blueprint NAME`` picks one.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

import click
from flask import current_app, url_for
from flask.cli import AppGroup

from . import cli_doc
from .client import EventsClient, EventsClientError
from .codec import dumps, loads
from .errors import BadProtocol
from .event import Event, parse_event
from .redaction import scrub, scrubbed_traceback, secret_forms
from .state import EventsState, registrations

__all__ = ["events_cli"]

events_cli = AppGroup("events", help="Work with the app's events (Flask-Events).")


def _blueprints(name: Optional[str]) -> dict[str, EventsState]:
    """The app's events blueprints by full dotted name (``parent.child`` when nested),
    or only the one named.
    """
    registered = registrations(current_app)
    if name is None:
        return registered
    if name not in registered:
        raise click.BadParameter(f"no events blueprint named {name!r}", param_hint="--blueprint")
    return {name: registered[name]}


blueprint_option = click.option(
    "--blueprint",
    "blueprint",
    default=None,
    help="Only this events blueprint (its full dotted name, as in url_for).",
)


def _json(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Any:
    """The option or argument's JSON text decoded. Errors never quote the value (it
    may be a credential).
    """
    if value is None:
        return None
    try:
        return loads(value)
    except ValueError as error:
        raise click.BadParameter(f"not JSON: {error}", ctx, param) from None


def _json_object(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Any:
    """Like :func:`_json`, and the value must be a JSON object."""
    decoded = _json(ctx, param, value)
    if decoded is not None and not isinstance(decoded, dict):
        kind = type(decoded).__name__
        raise click.BadParameter(f"must be a JSON object, not {kind}", ctx, param)
    return decoded


@events_cli.command("list")
@blueprint_option
def list_events(blueprint: Optional[str]) -> None:
    """Every event: name, version, handler, schemas, flags and the first line of its doc.

    Flags: [batch], [async], [auth] (the blueprint's authenticator runs for it),
    [deprecated] or [deprecated: MESSAGE].
    """
    for registered, state in _blueprints(blueprint).items():
        authenticated = state.blueprint.dispatcher.authenticator is not None
        for spec in state.blueprint.registry:
            schemas = " -> ".join(s.name if s else "-" for s in (spec.input, spec.output))
            flags = "".join(
                f" [{flag}]"
                for flag, on in (
                    ("batch", spec.is_batch),
                    ("async", spec.is_async),
                    ("auth", authenticated and not spec.public),
                )
                if on
            )
            if spec.deprecated:
                message = "" if spec.deprecated is True else f": {spec.deprecated}"
                flags += f" [deprecated{message}]"
            click.echo(
                f"{spec.name}  v{spec.version}  {spec.qualname}  {schemas}{flags}  "
                f"({registered})  {spec.summary}"
            )


@events_cli.command("send")
@click.argument("name")
@click.argument("version", type=int)
@click.argument("payload", required=False, default=None, callback=_json)
@click.option("--url", help="Send to this events endpoint instead of through the app.")
@click.option("--identity", callback=_json_object, default=None, help="A JSON object.")
@click.option("--auth", callback=_json_object, default=None, help="A JSON object; never printed.")
@click.option("--metadata", callback=_json_object, default=None, help="A JSON object.")
@click.option("--flow-id", default=None, help="The flowId (a fresh one by default).")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds, with --url.")
@blueprint_option
def send(
    name: str,
    version: int,
    payload: Any,
    url: Optional[str],
    identity: Optional[dict[str, Any]],
    auth: Optional[dict[str, Any]],
    metadata: Optional[dict[str, Any]],
    flow_id: Optional[str],
    timeout: float,
    blueprint: Optional[str],
) -> None:
    """Send event NAME VERSION with PAYLOAD (JSON) and print the answer event.

    Through the app itself by default, to the events blueprint that serves NAME
    VERSION; to a remote endpoint with --url. The answer is printed with auth empty and
    every credential of --auth replaced by "[redacted]" (in a handler's propagated
    exception too). Exits 1 when the answer is an error event or the handler's
    exception propagates, 2 when it could not be delivered.
    """
    event = Event.new(
        name, version, payload, flow_id=flow_id, identity=identity, auth=auth, metadata=metadata
    )
    forms = secret_forms(auth) if auth else ()
    if url:
        try:
            with EventsClient(url, timeout=timeout) as client:
                answer = client.send_event(event)
        except EventsClientError as error:
            click.echo(f"error: {scrub(str(error), forms)}", err=True)
            sys.exit(2)
    else:
        state = _serving(name, version, blueprint)
        events_url = _url(state, "events")
        try:
            response = current_app.test_client().post(events_url, data=dumps(event))
        except Exception as error:  # a handler's, propagated (EVENTS_PROPAGATE_EXCEPTIONS)
            click.echo(scrubbed_traceback(error, forms), err=True)
            sys.exit(1)
        try:
            answer = parse_event(response.data)
        except BadProtocol:  # e.g. a before_request of the blueprint refused it
            click.echo(
                f"error: {events_url} answered HTTP {response.status_code}, not an event", err=True
            )
            sys.exit(2)
    shown = loads(answer.to_json(include_auth=False))
    click.echo(scrub(json.dumps(shown, indent=2, ensure_ascii=False), forms))
    if answer.is_error:
        sys.exit(1)


def _serving(name: str, version: int, blueprint: Optional[str]) -> EventsState:
    """The events blueprint to send ``(name, version)`` to: the one named, else the
    only one that serves it.

    :raises click.UsageError: none serves it, or several do.
    """
    if blueprint is not None:
        return _blueprints(blueprint)[blueprint]
    registered = registrations(current_app)
    if not registered:
        raise click.UsageError("the app has no events blueprint")
    serving = [
        key for key, state in registered.items() if (name, version) in state.blueprint.registry
    ]
    if len(serving) == 1:
        return registered[serving[0]]
    if not serving:
        raise click.UsageError(
            f"no events blueprint of the app serves {name!r} version {version} "
            f"(blueprints: {', '.join(registered)}); --blueprint sends it anyway"
        )
    raise click.UsageError(
        f"{name!r} version {version} is served by several events blueprints: "
        f"{', '.join(serving)}; pick one with --blueprint"
    )


def _url(state: EventsState, endpoint: str) -> str:
    """The URL of an endpoint of an events blueprint."""
    with current_app.test_request_context():
        return url_for(f"{state.name}.{endpoint}")


@events_cli.command("doc")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "json", "openapi", "asyncapi"]),
    default="html",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="The file to write (standard output by default).",
)
@blueprint_option
def doc(fmt: str, output: Any, blueprint: Optional[str]) -> None:
    """Write the documentation of every events blueprint (or the one named) as one file.

    html: a self-contained page (styles and script inline, no "try it" panels); json:
    the doc.json catalogue, keyed by blueprint when there are several; openapi: one
    OpenAPI document with every blueprint's events endpoint; asyncapi: one AsyncAPI
    document with every blueprint's sockets.
    """
    documented = {}
    for key, state in _blueprints(blueprint).items():
        if f"{key}.doc" in state.urls:
            documented[key] = state
        else:
            click.echo(f"left out events blueprint {key!r}: it has no doc routes", err=True)
    if not documented:
        raise click.UsageError("no events blueprint of the app has doc routes")
    urls = {
        key: {e: _url(state, e) for e in ("events", "doc", "doc_json", "openapi", "asyncapi")}
        for key, state in documented.items()
    }
    output.write(cli_doc.export(fmt, urls, current_app.name))
