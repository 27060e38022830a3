"""Issue 12 reviewed as a new user and an attacker would use it: variants of its rules
that the other tests leave out.
"""

from __future__ import annotations

import asyncio
from html.parser import HTMLParser

import httpx
import pytest
from flask import Flask

from flask_events import (
    AsyncEventsClient,
    ConnectionFailed,
    EventsBlueprint,
    EventsClient,
    RequestTimeout,
    ResponseTooLarge,
)

from .browser import doc_page_of, try_it
from .servers import free_port

SECRET = "s3cret-pa55word"


class _Tags(HTMLParser):
    """Every start tag name of a page."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_cli_doc_of_several_blueprints_escapes_their_names_everywhere(tmp_path):
    app = Flask(__name__)
    for name, prefix in (("<img src=x onerror=alert(1)>", "/a"), ("b", "/b")):
        blueprint = EventsBlueprint(name, __name__, url_prefix=prefix)
        blueprint.add("ping", 1, lambda event: {})
        app.register_blueprint(blueprint)
    target = tmp_path / "doc.html"
    result = app.test_cli_runner().invoke(args=["events", "doc", "-o", str(target)])
    assert result.exit_code == 0, result.output
    page = target.read_text(encoding="utf-8")
    assert "img" not in _Tags(page).tags
    assert "&lt;img src=x onerror=alert(1)&gt;, b" in page  # the lead names both


def test_async_client_timeout_after_a_retry_tells_every_attempt():
    seen = []

    async def service(request):
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(503, text="busy")
        await asyncio.sleep(30)  # stalls past the timeout
        return httpx.Response(503, text="busy")

    async def main():
        transport = httpx.MockTransport(service)
        async with AsyncEventsClient(
            "http://service/events", transport=transport, retries=3, backoff=0.01, timeout=1.0
        ) as client:
            with pytest.raises(RequestTimeout) as raised:
                await client.send("ping", 1)
        return raised.value

    error = asyncio.run(main())
    assert len(seen) == 2
    assert error.attempts == 2  # as EventsClient says


def _too_large(request):
    return httpx.Response(200, content=b"x" * 100)


def _stalled(request):
    raise httpx.ReadTimeout("stalled", request=request)


@pytest.mark.parametrize(
    "transport, raised",
    [
        (None, ConnectionFailed),  # refused
        (httpx.MockTransport(_stalled), RequestTimeout),
        (httpx.MockTransport(_too_large), ResponseTooLarge),
    ],
)
def test_client_errors_never_show_the_password_of_the_url(transport, raised):
    url = f"http://robot:{SECRET}@127.0.0.1:{free_port()}/events"
    with EventsClient(url, transport=transport, max_response_size=10) as client:
        with pytest.raises(raised) as error:
            client.send("ping", 1)
    assert SECRET not in str(error.value) and SECRET not in repr(error.value)
    assert "robot:[secure]@127.0.0.1" in str(error.value)  # as httpx's repr of a URL


def test_cli_send_never_prints_auth_in_a_handlers_propagated_exception():
    app = Flask(__name__)
    app.config["TESTING"] = True  # EVENTS_PROPAGATE_EXCEPTIONS follows it
    blueprint = EventsBlueprint("events", __name__)

    @blueprint.handler("boom", 1)
    def boom(event):
        return {"n": int(event.auth["token"])}  # its message quotes the token

    app.register_blueprint(blueprint)
    auth = f'{{"token": "{SECRET}"}}'
    result = app.test_cli_runner().invoke(args=["events", "send", "boom", "1", "--auth", auth])
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1
    assert "ValueError: invalid literal for int() with base 10: '[redacted]'" in result.output
    assert SECRET not in result.output


@pytest.mark.e2e
def test_try_it_shows_large_integers_of_the_answer_as_typed():
    app = Flask(__name__)
    events = EventsBlueprint("events", __name__)
    events.add("big", 1, lambda event: {"accountId": 9007199254740993})
    app.register_blueprint(events)
    with doc_page_of(app) as page:
        shown = try_it(page, "big/v1").locator(".response").text_content()
    assert '"accountId": 9007199254740993' in shown  # not rounded to ...992
