"""The /doc page's "try it" over the WebSocket or HTTP (a choice per panel), in headless
Chromium: the answer shown with its outcome marked (response or error, with the error's
type and code), fresh ids on every send over both, one WebSocket for the page, and a
connection failure or a missing answer reported.
"""

from __future__ import annotations

from typing import Any

import pytest

from flask_events import EventsBlueprint
from flask_events.signals import event_started

from .browser import doc_page_of
from .doc_app import create_app
from .servers import free_port

pytestmark = pytest.mark.e2e

EXAMPLE_IDS = {"00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"}


def send(page: Any, section: str, transport: str, typed: str | None = None) -> Any:
    """Send the try-it form of ``section`` over ``transport`` ("http" or "websocket")
    and wait until it is no longer sending (30 s at most); the form.
    """
    form = page.locator(f'section[id="{section}"] form.try')
    form.evaluate("f => f.removeAttribute('data-state')")
    form.get_by_label("WebSocket" if transport == "websocket" else "HTTP").check()
    if typed is not None:
        form.locator("textarea").fill(typed)
    form.locator("button", has_text="Send").click()
    settled(page, form, ("done", "failed"))
    return form


def settled(page: Any, form: Any, states: tuple[str, ...]) -> None:
    """Wait until ``form``'s data-state is one of ``states`` (30 s at most)."""
    page.wait_for_function(
        "([f, states]) => states.includes(f.getAttribute('data-state'))",
        arg=[form.element_handle(), list(states)],
        timeout=30_000,
    )


def outcome(form: Any) -> tuple[str | None, str]:
    marked = form.locator(".outcome")
    return marked.get_attribute("data-outcome"), marked.text_content()


@pytest.fixture(scope="module")
def app():
    return create_app()


@pytest.fixture
def page(app):
    with doc_page_of(app) as page:
        sockets: list[str] = []
        page.on("websocket", lambda socket: sockets.append(socket.url))
        page.opened_sockets = sockets
        yield page


def test_try_it_over_the_websocket_shows_the_answer_as_a_response(page):
    form = send(page, "rates:get/v1", "websocket")
    assert form.get_attribute("data-state") == "done"
    assert form.locator(".status").text_content() == "WebSocket · rates:get:response"
    assert outcome(form) == ("response", "response")
    assert form.get_attribute("data-outcome") == "response"
    assert '"name": "rates:get:response"' in form.locator("pre.response").text_content()
    assert page.opened_sockets == [
        page.url.replace("http://", "ws://").replace("/doc", "/events/ws")
    ]


def test_try_it_over_http_still_works_and_marks_the_outcome(page):
    form = send(page, "rates:get/v1", "http")
    assert form.locator(".status").text_content() == "HTTP 200 · rates:get:response"
    assert outcome(form) == ("response", "response")
    assert page.opened_sockets == []  # HTTP only: no WebSocket opened


@pytest.mark.parametrize("transport", ["http", "websocket"])
def test_try_it_marks_an_error_answer_with_its_type_and_code(page, transport):
    form = send(page, "account:get/v1", transport)
    assert outcome(form) == ("error", "error: notFound ACCOUNT_NOT_FOUND")
    assert form.get_attribute("data-outcome") == "error"
    assert "account:get:notFound" in form.locator(".status").text_content()


def test_fresh_ids_on_every_send_over_both_transports_and_one_websocket(page, app):
    received: list[tuple[str, str, str, str]] = []

    def record(sender, event, transport, **extra):
        received.append((event.name, event.id, event.flow_id, str(transport)))

    event_started.connect(record, sender=app)
    try:
        for transport in ("websocket", "http", "websocket", "http"):
            form = send(page, "rates:get/v1", transport)
            assert outcome(form) == ("response", "response"), transport
    finally:
        event_started.disconnect(record, sender=app)
    sent = [r for r in received if r[0] == "rates:get"]
    assert len(sent) == 4
    ids = {r[1] for r in sent} | {r[2] for r in sent}
    assert len(ids) == 8 and not ids & EXAMPLE_IDS
    assert len({r[3] for r in sent}) == 2  # both transports were used
    assert len(page.opened_sockets) == 1  # one connection, reused


def test_two_panels_sending_at_once_over_the_websocket_each_get_their_answer(page):
    forms = []
    for section in ("rates:get/v1", "account:get/v1"):
        form = page.locator(f'section[id="{section}"] form.try')
        form.get_by_label("WebSocket").check()
        forms.append(form)
    for form in forms:
        form.locator("button", has_text="Send").click()
    for form in forms:
        settled(page, form, ("done",))
    assert outcome(forms[0]) == ("response", "response")
    assert outcome(forms[1]) == ("error", "error: notFound ACCOUNT_NOT_FOUND")


def test_a_websocket_that_cannot_connect_is_reported_and_a_later_send_reconnects(page):
    form = page.locator('section[id="rates:get/v1"] form.try')
    good = form.get_attribute("data-websocket-url")
    form.evaluate(
        "(f, url) => f.setAttribute('data-websocket-url', url)",
        f"ws://127.0.0.1:{free_port()}/events/ws",
    )
    form = send(page, "rates:get/v1", "websocket")
    assert form.get_attribute("data-state") == "failed"
    assert "WebSocket closed" in form.locator(".status").text_content()
    assert form.locator(".outcome").is_hidden()
    form.evaluate("(f, url) => f.setAttribute('data-websocket-url', url)", good)
    form = send(page, "rates:get/v1", "websocket")
    assert outcome(form) == ("response", "response")


def test_a_websocket_answer_that_does_not_come_in_time_is_reported(page):
    form = page.locator('section[id="test:slow/v1"] form.try')
    form.evaluate("f => f.setAttribute('data-websocket-timeout', '300')")
    typed = form.locator("textarea").input_value().replace('"payload": {}', '"payload": 3')
    form = send(page, "test:slow/v1", "websocket", typed)
    assert form.get_attribute("data-state") == "failed"
    assert form.locator(".status").text_content() == "No answer over the WebSocket within 0.3 s"
    # the late answer is nobody's: the next send gets its own
    form.evaluate("f => f.removeAttribute('data-websocket-timeout')")
    typed = typed.replace('"payload": 3', '"payload": 0')
    form = send(page, "test:slow/v1", "websocket", typed)
    assert outcome(form) == ("response", "response")


def test_no_websocket_choice_without_a_websocket_endpoint():
    from flask import Flask

    events = EventsBlueprint("plain", __name__, websocket_url=None)
    events.add("echo", 1, lambda event: event.payload)
    app = Flask(__name__)
    app.register_blueprint(events)
    html = app.test_client().get("/doc").get_data(as_text=True)
    assert 'name="transport"' not in html and "data-websocket-url" not in html
    assert 'data-snippet="websocket"' not in html and 'data-snippet="socketio"' not in html
    assert 'data-snippet="curl"' in html and 'data-snippet="python"' in html


@pytest.mark.parametrize("clipboard_api", [True, False])
def test_copy_puts_the_snippet_on_the_clipboard(page, clipboard_api):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    if not clipboard_api:  # as on plain http to another host: execCommand("copy")
        page.evaluate(
            "Object.defineProperty(navigator, 'clipboard', {value: undefined, configurable: true})"
        )
    snippet = page.locator('section[id="rates:get/v1"] details[data-snippet="python"]')
    snippet.locator("summary").click()
    snippet.get_by_role("button", name="Copy Python snippet").click()
    snippet.locator('.copied:text("Copied")').wait_for(timeout=10_000)
    page.evaluate("delete navigator.clipboard")  # the API again, to read the clipboard
    text = page.evaluate("navigator.clipboard.readText()")
    assert text == snippet.locator("pre code").text_content()
    assert "EventsClient" in text and '"rates:get"' not in text and "'rates:get'" in text
