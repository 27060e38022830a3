"""The optional dependencies (the package's extras), imported when a feature needs them.

Importing :mod:`flask_events` (or any of its modules) never needs an extra: each
feature that does imports it when it is set up (``EventsMetrics(app)``,
``EventsTracing(app)``, ``EventPusher(...)``, ``attach_socketio(...)``, a handler
declared with a pydantic model) and, if it is missing, raises
:class:`~flask_events.MissingDependency` saying what to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Optional

from .errors import MissingDependency

__all__ = ["require"]

#: The extras of ``pyproject.toml``, by the module each provides.
EXTRAS = {
    "pydantic": "pydantic",
    "flask_socketio": "socketio",
    "redis": "redis",
    "prometheus_client": "prometheus",
    "opentelemetry": "opentelemetry",
}


def require(module: str, feature: str, *, extra: Optional[str] = None) -> ModuleType:
    """Import ``module`` (one of the extras' modules, or a submodule of one).

    :param feature: what needs it, for the message (``"EventsMetrics"``).
    :param extra: the extra to name; by default the one that provides ``module``.
    :raises MissingDependency: it cannot be imported; the message names the extra.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = extra or EXTRAS[module.partition(".")[0]]
        raise MissingDependency(feature, module, extra, reason=str(exc)) from exc
