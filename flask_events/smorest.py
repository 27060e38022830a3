"""The one place Flask-Events reaches past flask-smorest's public API.

Why: an events blueprint is a flask-smorest ``Blueprint``, so that an ``Api`` puts its
events endpoint in the app's OpenAPI document. But flask-smorest documents every rule
added through its ``add_url_rule``, and builds a view's operation from the view's
decorators, while the events endpoint is one ``POST`` whose body is any of the
blueprint's events, described by Flask-Events itself. So the routes to keep out of the
document (the trailing-slash twin, the documentation page and its JSON, the WebSocket)
are added with Flask's own ``Blueprint.add_url_rule``, and the events operation is
handed over as the view's ``manual_doc`` in the blueprint's PRIVATE ``_docs`` (what
flask-smorest's own ``@doc`` decorator fills). Tested with flask-smorest 0.42 (tox's
``min`` env) to 0.47.
"""

from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint as FlaskBlueprint
from flask_smorest import Blueprint as SmorestBlueprint

__all__ = ["add_undocumented_rule", "set_operation"]


def add_undocumented_rule(
    blueprint: SmorestBlueprint,
    rule: str,
    endpoint: str,
    view: Callable[..., Any],
    **options: Any,
) -> None:
    """Add a route to ``blueprint`` that stays out of the OpenAPI document (Flask's
    ``add_url_rule``, not flask-smorest's).
    """
    FlaskBlueprint.add_url_rule(blueprint, rule, endpoint, view, **options)


def set_operation(
    blueprint: SmorestBlueprint, endpoint: str, method: str, operation: dict[str, Any]
) -> None:
    """Make ``operation`` the documented operation of ``method`` on ``endpoint`` (a
    rule added with flask-smorest's ``add_url_rule``), as flask-smorest's ``@doc``
    would, before the blueprint's views are put in the document.
    """
    blueprint._docs[endpoint][method]["manual_doc"] = operation
