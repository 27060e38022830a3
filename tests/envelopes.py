"""Envelopes for tests: one helper the newer test files share (tests import it, never
conftest).
"""

from __future__ import annotations

from typing import Any

from flask_events.event import random_id


def envelope(name: str = "echo", payload: Any = None, version: int = 1, **extra: Any) -> dict:
    """A valid request envelope as a dict: fresh ids, ``{}`` for a ``None`` payload,
    ``extra`` fields (``identity``, ``auth``, ``id``...) on top.
    """
    return {
        "name": name,
        "version": version,
        "id": random_id(),
        "flowId": random_id(),
        "payload": {} if payload is None else payload,
        **extra,
    }
