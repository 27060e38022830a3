"""The example app plus one hostile handler, served for the browser test of /doc."""

from __future__ import annotations

from example_app import create_app as create_example_app
from example_app.accounts import events

HOSTILE_DOC = (
    '<script>window.pwned=1</script> and <img src=x onerror="window.pwned=2"> must show as text.'
)

if ("test:hostile", 1) not in events.registry:
    events.add(
        "test:hostile",
        1,
        lambda event: None,
        doc=HOSTILE_DOC,
        example=({"note": "</textarea><script>window.pwned=3</script>"}, None),
    )


def create_app():
    """``flask --app tests.doc_app run``."""
    return create_example_app()
