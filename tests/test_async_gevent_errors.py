"""Under gevent (``threading`` monkey-patched), an ``async def`` handler that raises
(a typed protocol error such as ``NotFound``, or a bug) is answered as under
threads, and gevent's native threadpool, which runs the coroutine, prints nothing:
the handler's exception is the package's to log (``<name>:error`` only), never a
traceback per event from gevent. The check runs in a fresh interpreter that
monkey-patches first, as a gevent worker does.
"""

from __future__ import annotations

import json

import pytest

from .servers import run_python

pytest.importorskip("gevent")

SCRIPT = """
from gevent import monkey

monkey.patch_all()

import json
import logging

from flask import Flask

from flask_events import EventsBlueprint, NotFound

events = EventsBlueprint("events", __name__)


@events.handler("missing", 1)
async def missing(event):
    raise NotFound("no such thing")


@events.handler("broken", 1)
async def broken(event):
    raise RuntimeError("a bug")


logging.getLogger("flask_events").disabled = True  # its own log line is not the point
app = Flask(__name__)
app.config["EVENTS_PROPAGATE_EXCEPTIONS"] = False
app.register_blueprint(events)
client = app.test_client()
names = []
for name in ("missing", "broken", "missing"):
    envelope = {"name": name, "version": 1, "id": "i", "flowId": "f", "payload": {}}
    names.append(client.post("/events", json=envelope).get_json()["name"])
print(json.dumps(names))
"""


def test_an_async_handlers_exception_leaves_no_traceback_from_gevents_threadpool() -> None:
    result = run_python(SCRIPT)
    names = json.loads(result.stdout.splitlines()[-1])
    assert names == ["missing:notFound", "broken:error", "missing:notFound"]
    assert result.stderr == ""
