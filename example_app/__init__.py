"""A small accounts service speaking the events protocol.

Run it with ``flask --app example_app run`` and open http://127.0.0.1:5000/doc.
"""

from __future__ import annotations

from typing import Any, Optional

from flask import Flask

from .accounts import AccountStore, events


def create_app(config: Optional[dict[str, Any]] = None) -> Flask:
    """Build the example app; ``config`` overrides settings (tests use it)."""
    app = Flask(__name__)
    app.config.from_mapping(config or {})
    app.extensions["accounts"] = AccountStore()
    app.register_blueprint(events)
    return app
