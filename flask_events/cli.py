"""``flask events ...``: list the events, send one, write the documentation to a file.

The group is added to an app's ``flask`` command when an ``EventsBlueprint`` is
registered on it. Every command works on all the app's events blueprints, or on one
with ``--blueprint NAME``.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

import click
from flask import current_app, url_for
from flask.cli import AppGroup

from .client import EventsClient, EventsClientError
from .codec import dumps, loads
from .event import Event, parse_event, random_id
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


@events_cli.command("list")
@blueprint_option
def list_events(blueprint: Optional[str]) -> None:
    """Every event: name, version, handler, schemas and the first line of its doc."""
    for registered, state in _blueprints(blueprint).items():
        for spec in state.blueprint.registry:
            schemas = " -> ".join(s.name if s else "-" for s in (spec.input, spec.output))
            flags = "".join(
                f" [{flag}]"
                for flag, on in (("batch", spec.is_batch), ("async", spec.is_async))
                if on
            )
            click.echo(
                f"{spec.name}  v{spec.version}  {spec.qualname}  {schemas}{flags}  "
                f"({registered})  {spec.summary}"
            )


@events_cli.command("send")
@click.argument("name")
@click.argument("version", type=int)
@click.argument("payload", required=False, default="null")
@click.option("--url", help="Send to this events endpoint instead of through the app.")
@click.option("--identity", default="{}", help="The identity object, as JSON.")
@click.option("--flow-id", default=None, help="The flowId (a fresh one by default).")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds, with --url.")
@blueprint_option
def send(
    name: str,
    version: int,
    payload: str,
    url: Optional[str],
    identity: str,
    flow_id: Optional[str],
    timeout: float,
    blueprint: Optional[str],
) -> None:
    """Send event NAME VERSION with PAYLOAD (JSON) and print the answer event.

    Through the app itself by default; to a remote endpoint with --url. Exits 1 when
    the answer is an error event, 2 when it could not be delivered.
    """
    try:
        payload_value, identity_value = loads(payload), loads(identity)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    event = Event(
        name,
        version,
        random_id(),
        flow_id or random_id(),
        payload_value,
        identity_value if isinstance(identity_value, dict) else {},
    )
    if url:
        try:
            with EventsClient(url, timeout=timeout) as client:
                answer = client.send_event(event)
        except EventsClientError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)
    else:
        answer = _send_in_process(event, blueprint)
    click.echo(json.dumps(loads(answer.to_json()), indent=2, ensure_ascii=False))
    if answer.is_error:
        sys.exit(1)


def _url(blueprint: Optional[str], endpoint: str) -> str:
    """The URL of an endpoint of the (first, or named) events blueprint."""
    registered = _blueprints(blueprint)
    if not registered:
        raise click.UsageError("the app has no events blueprint")
    with current_app.test_request_context():
        return url_for(f"{next(iter(registered))}.{endpoint}")


def _send_in_process(event: Event, blueprint: Optional[str]) -> Event:
    response = current_app.test_client().post(_url(blueprint, "events"), data=dumps(event))
    return parse_event(response.data)


@events_cli.command("doc")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "json", "openapi"]),
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
    """Write the documentation as a static file: the /doc page, doc.json or OpenAPI."""
    url = _url(blueprint, {"html": "doc", "json": "doc_json", "openapi": "openapi"}[fmt])
    response = current_app.test_client().get(url)
    if response.status_code != 200:
        raise click.ClickException(f"{url} answered HTTP {response.status_code}")
    output.write(response.get_data(as_text=True))
