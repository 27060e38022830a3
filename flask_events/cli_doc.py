"""``flask events doc``: the documentation of several events blueprints as one file.

Each blueprint's documentation is taken from the app itself (the views of its
``/doc``, ``/doc.json``, ``/openapi.json`` and ``/asyncapi.json`` routes, called
directly, without the app's ``before_request`` functions), so the file says exactly
what the served pages say. The HTML page is made self-contained: every event's
details inline (from the ``/doc/event`` route, where the page fetches them on demand),
its stylesheets and scripts inline, its "try it" panels, snippets and links to server
paths removed (a page opened from a file has no events endpoint to send to).
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import click
from flask import current_app
from werkzeug.exceptions import HTTPException

from .asyncapi import prefixed

__all__ = ["export"]

#: A blueprint's doc URLs, by endpoint (``doc``, ``doc_json``, ``openapi``, ``asyncapi``).
Urls = dict[str, str]

_LINK = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_SCRIPT = re.compile(r"<script\b([^>]*)>\s*</script>", re.IGNORECASE)
_ATTR = re.compile(r'\b(rel|href|src)="([^"]*)"', re.IGNORECASE)
_TRY = re.compile(r'<form\b[^>]*class="try"[^>]*>.*?</form>\s*', re.IGNORECASE | re.DOTALL)
_SERVER_LINK = re.compile(r'<a\b[^>]*href="/[^"]*"[^>]*>(.*?)</a>', re.IGNORECASE | re.DOTALL)
_EVENTS_URL = re.compile(r'\s*data-events-url="[^"]*"')
_TOC = re.compile(r'(<ul id="toc">)(.*?)(</ul>)', re.DOTALL)
_TOC_PUSHES = re.compile(
    r'\s*<p class="toc-group pushes" id="toc-pushes-label">.*?</ul>', re.DOTALL
)
_BODY = re.compile(r'<div class="body" data-body-url="([^"]*)"[^>]*>.*?</div>', re.DOTALL)
_SNIPPETS = re.compile(
    r'<div class="snippets">\s*<h3>Snippets</h3>(?:\s*<details\b.*?</details>)*\s*</div>\s*',
    re.DOTALL,
)
_MAIN = re.compile(r"(<main>)(.*?)(</main>)", re.DOTALL)
_LEAD = re.compile(r'<p class="lead">.*?</p>', re.DOTALL)
_TITLE = re.compile(r"<title>.*?</title>", re.DOTALL)
_H1 = re.compile(r"<h1>.*?</h1>", re.DOTALL)
_EXPORTED = (
    '<p class="exported">Written by <code>flask events doc</code>: to try the events, '
    "open the /doc page the service serves.</p>"
)
_END_TAG = re.compile(r"</(script|style)", re.IGNORECASE)


def export(fmt: str, blueprints: dict[str, Urls], app_name: str) -> str:
    """The documentation of ``blueprints`` (full name: its doc URLs) in ``fmt``
    (``html``, ``json``, ``openapi`` or ``asyncapi``).

    :raises click.ClickException: a doc route did not answer 200, or two blueprints
        define one OpenAPI (or AsyncAPI) schema component differently.
    """
    if fmt == "json":
        catalogues = {key: json.loads(_get(urls["doc_json"])) for key, urls in blueprints.items()}
        one = len(catalogues) == 1
        return json.dumps(next(iter(catalogues.values())) if one else catalogues, indent=2)
    if fmt == "openapi":
        documents = {key: json.loads(_get(urls["openapi"])) for key, urls in blueprints.items()}
        return json.dumps(_merged_openapi(documents, app_name), indent=2)
    if fmt == "asyncapi":
        documents = {key: json.loads(_get(urls["asyncapi"])) for key, urls in blueprints.items()}
        return json.dumps(_merged_asyncapi(documents, app_name), indent=2)
    pages = {key: _with_bodies(_get(urls["doc"])) for key, urls in blueprints.items()}
    if len(pages) > 1:
        events_urls = {key: urls["events"] for key, urls in blueprints.items()}
        pages = _merged_pages(pages, events_urls, app_name)
    return _self_contained(pages)


def _get(url: str) -> str:
    """The body the doc route at ``url`` answers, from its view called directly: the
    app's ``before_request`` functions (a guard of /doc, say) are for HTTP clients, not
    for the operator who runs the app's own command line.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.test_request_context(url):
        try:
            response = app.make_response(app.dispatch_request())
        except HTTPException as error:
            raise click.ClickException(f"{url} answered HTTP {error.code}") from None
        response.direct_passthrough = False  # a static file's body, read here
        try:
            if response.status_code != 200:
                raise click.ClickException(f"{url} answered HTTP {response.status_code}")
            return str(response.get_data(as_text=True))
        finally:
            response.close()


def _with_bodies(page: str) -> str:
    """``page`` with the details of each event that it fetches on demand (above
    ``EVENTS_DOC_INLINE_MAX`` events) inline, as a smaller page holds them.
    """
    return _BODY.sub(lambda m: _get(html.unescape(m.group(1))).strip(), page)


def _merged_openapi(documents: dict[str, Any], app_name: str) -> Any:
    """One OpenAPI document: every blueprint's paths and components."""
    first = next(iter(documents.values()))
    if len(documents) == 1:
        return first
    first["info"]["title"] = f"{app_name} events"
    paths, schemas = first.setdefault("paths", {}), first.setdefault("components", {})
    schemas = schemas.setdefault("schemas", {})
    for key, document in list(documents.items())[1:]:
        paths.update(document.get("paths", {}))
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            if schemas.setdefault(name, schema) != schema:
                raise click.ClickException(
                    f"events blueprint {key!r} defines OpenAPI schema {name!r} unlike "
                    "another blueprint: write one document per blueprint with --blueprint"
                )
    return first


def _merged_asyncapi(documents: dict[str, Any], app_name: str) -> Any:
    """One AsyncAPI document: every blueprint's channels, operations and messages,
    keyed ``<blueprint>.<key>`` (see :func:`~flask_events.asyncapi.prefixed`), and
    their schema components.
    """
    if len(documents) == 1:
        return next(iter(documents.values()))
    merged: Any = None
    for key, document in documents.items():
        document = prefixed(document, key)
        if merged is None:
            merged = document
            merged["info"]["title"] = f"{app_name} events"
            continue
        for section in ("channels", "operations"):
            merged[section].update(document[section])
        components = merged["components"]
        components["messages"].update(document["components"]["messages"])
        for name, schema in document["components"]["schemas"].items():
            if components["schemas"].setdefault(name, schema) != schema:
                raise click.ClickException(
                    f"events blueprint {key!r} defines AsyncAPI schema {name!r} unlike "
                    "another blueprint: write one document per blueprint with --blueprint"
                )
    return merged


def _merged_pages(
    pages: dict[str, str], events_urls: dict[str, str], app_name: str
) -> dict[str, str]:
    """The first page with events, holding every page's events: each blueprint's
    sections under a heading naming it and its events URL, their anchors prefixed with
    its name; each blueprint's table of pushes kept, titled with its name.
    """
    found = {key: (_TOC.search(page), _MAIN.search(page)) for key, page in pages.items()}
    push_tocs = []
    for key in pages:
        push_toc = _TOC_PUSHES.search(pages[key])
        if push_toc is not None and found[key][0] and found[key][1]:
            label = f"Pushes of {html.escape(key)}</p>"
            push_tocs.append(_prefixed(push_toc.group(0).replace("Pushes</p>", label, 1), key))
    with_events = [key for key, (toc, main) in found.items() if toc and main]
    if not with_events:
        return dict([next(iter(pages.items()))])
    toc_items, sections = [], []
    for key in with_events:
        toc, main = found[key]
        assert toc is not None and main is not None
        toc_items.append(_prefixed(toc.group(2), key))
        heading = (
            f'<h2 class="blueprint" id="{html.escape(key)}">Blueprint {html.escape(key)}: '
            f"<code>POST {html.escape(events_urls[key])}</code></h2>"
        )
        sections.append(heading + _prefixed(main.group(2), key))
    skeleton = _TOC_PUSHES.sub("", pages[with_events[0]], 1)
    skeleton = _TOC.sub(
        lambda m: m.group(1) + "".join(toc_items) + m.group(3) + "".join(push_tocs), skeleton, 1
    )
    skeleton = _MAIN.sub(lambda m: m.group(1) + "".join(sections) + m.group(3), skeleton, 1)
    names = html.escape(", ".join(pages))
    lead = f'<p class="lead">The events of {len(pages)} events blueprints: {names}.</p>'
    skeleton = _LEAD.sub(lambda m: lead, skeleton, 1)
    skeleton = _TITLE.sub(f"<title>Events — {html.escape(app_name)}</title>", skeleton, 1)
    skeleton = _H1.sub(f"<h1>Events <small>{html.escape(app_name)}</small></h1>", skeleton, 1)
    return {with_events[0]: skeleton}


def _prefixed(fragment: str, key: str) -> str:
    """``fragment`` with its ids, the ids it refers to (``aria-labelledby``) and its
    in-page links prefixed with ``key/``."""
    return re.sub(
        r'\b(id|aria-labelledby|href)="(#?)([^"]*)"',
        lambda m: (
            f'{m.group(1)}="{m.group(2)}{html.escape(key)}/{m.group(3)}"'
            if m.group(1) != "href" or m.group(2)
            else m.group(0)
        ),
        fragment,
    )


def _self_contained(pages: dict[str, str]) -> str:
    """The one page of ``pages`` with its assets inline and nothing that needs the
    server: no "try it" panel, no snippet (they name the server the export ran
    for), no link to a server path, no events URL.
    """
    page = next(iter(pages.values()))
    page = _LINK.sub(_inline_stylesheet, page)
    page = _SCRIPT.sub(_inline_script, page)
    page = _TRY.sub("", page)
    page = _SNIPPETS.sub("", page)
    page = _SERVER_LINK.sub(lambda m: m.group(1), page)
    page = _H1.sub(lambda m: m.group(0) + "\n    " + _EXPORTED, page, 1)
    return _EVENTS_URL.sub("", page, 1)


def _attrs(tag: str) -> dict[str, str]:
    return {name.lower(): html.unescape(value) for name, value in _ATTR.findall(tag)}


def _inline_stylesheet(match: re.Match[str]) -> str:
    attrs = _attrs(match.group(0))
    if attrs.get("rel", "").lower() != "stylesheet" or "href" not in attrs:
        return match.group(0)
    css = _END_TAG.sub(r"<\\/\1", _get(attrs["href"]))
    return f"<style>\n{css}</style>"


def _inline_script(match: re.Match[str]) -> str:
    attrs = _attrs(match.group(0))
    if "src" not in attrs:
        return match.group(0)
    script = _END_TAG.sub(r"<\\/\1", _get(attrs["src"]))
    return f"<script>\n{script}</script>"
