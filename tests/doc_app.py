"""The example app plus two test handlers: one with hostile doc text (for the browser
test of /doc) and one that crashes (for the protocol tests of every transport).
"""

from __future__ import annotations

import time

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


if ("test:crash", 1) not in events.registry:

    @events.handler("test:crash", 1)
    def crash(event):
        """Always fails with an unexpected exception."""
        raise RuntimeError("internal detail: password=hunter2")


if ("test:slow", 1) not in events.registry:

    @events.handler("test:slow", 1)
    def slow(event):
        """Sleeps ``payload`` seconds."""
        time.sleep(float(event.payload))
        return "late"


def create_app():
    """``flask --app tests.doc_app run``."""
    app = create_example_app()

    @app.post("/garbage")
    def garbage():
        return "this is not an event", 200

    return app
