"""An app with several events blueprints for the ``flask events`` tests: one plain,
one with an authenticator, and one registered twice, nested (``v1.shared`` and
``v2.shared``). Imported by the CLI tests and run as ``--app tests.cli_app``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask

from flask_events import Event, EventsBlueprint, Unauthorized

#: The one credential the authenticator accepts.
TOKEN = "s3cret-token-42"


def create_app(config: Any = None) -> Flask:
    plain = EventsBlueprint("plain", __name__)
    plain.add("hello", 1, lambda event: "hi", deprecated="use v2")
    plain.add("hello", 2, lambda event: "hi")
    plain.add("hello:old", 1, lambda event: "hi", deprecated=True)
    hidden = EventsBlueprint("hidden", __name__, doc_url=None)
    hidden.add("hidden:only", 1, lambda event: None)

    secured = EventsBlueprint("secured", __name__)

    @secured.authenticator
    def check(event: Event) -> str:
        if event.auth.get("token") != TOKEN:
            raise Unauthorized("unknown token")
        return "someone"

    @secured.handler("echo", 1)
    def echo(event: Event) -> Any:
        """Answer the request event itself, and its token."""
        return {"event": event.to_dict(), "token": event.auth.get("token")}

    @secured.handler("ping", 1, public=True)
    async def ping(event: Event) -> str:
        """Answer pong, without credentials."""
        return "pong"

    shared = EventsBlueprint("shared", __name__)
    shared.add("twice", 1, lambda event: event.payload)
    app = Flask(__name__)
    app.config.update(config or {})
    app.register_blueprint(plain, url_prefix="/plain")
    app.register_blueprint(hidden, url_prefix="/hidden")
    app.register_blueprint(secured, url_prefix="/secured")
    for version in ("v1", "v2"):
        parent = Blueprint(version, __name__, url_prefix=f"/{version}")
        parent.register_blueprint(shared, url_prefix="/s")
        app.register_blueprint(parent)
    return app
