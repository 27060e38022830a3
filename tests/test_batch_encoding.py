"""A sub-event whose response cannot be encoded fails in its own slot (docs/protocol.rst#batch).

The slot is answered ``<name>:error`` (``UNSERIALIZABLE_RESPONSE``) and noticed once;
the other slots keep their answers and the batch answers 200 (it used to turn the
whole batch into a 500, losing the answers of sub-events that had run).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from flask import Flask

from flask_events import EventsBlueprint
from flask_events.codec import dumps
from flask_events.signals import event_error_noticed


class Unwritable:
    def __repr__(self) -> str:
        return "Unwritable(secret-looking text)"


def sub(name: str, payload: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "version": 1,
        "id": str(uuid.uuid4()),
        "flowId": "f",
        "payload": payload,
        **extra,
    }


@pytest.fixture
def app() -> Flask:
    events = EventsBlueprint("events", __name__)
    events.add_batch("batch", 1)
    events.add("echo", 1, lambda event: event.payload)
    events.add("odd", 1, lambda event: {"v": Unwritable()})

    async def async_echo(event: Any) -> Any:
        return event.payload

    async def async_odd(event: Any) -> Any:
        return {"v": Unwritable()}

    events.add("aecho", 1, async_echo)
    events.add("aodd", 1, async_odd)
    app = Flask(__name__)
    app.config["TESTING"] = True
    app.register_blueprint(events)
    return app


@pytest.fixture
def noticed(app: Flask) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def receiver(sender: Any, **extra: Any) -> None:
        seen.append(extra)

    event_error_noticed.connect(receiver, app, weak=False)
    yield seen
    event_error_noticed.disconnect(receiver, app)


@pytest.mark.parametrize("parallel", [False, True], ids=["sequential", "parallel"])
@pytest.mark.parametrize("odd", ["odd", "aodd"], ids=["sync", "async"])
def test_an_unserializable_answer_fails_in_its_own_slot(app, noticed, caplog, parallel, odd):
    subs = [
        sub("echo", {"n": 1}),
        sub("aecho", {"n": 2}),
        sub(odd, auth={"token": "s3cret"}),
        sub("echo", {"n": 3}),
        sub("aecho", {"n": 4}),
    ]
    body = sub("batch", {"parallel": parallel, "events": subs})
    with caplog.at_level(logging.ERROR, logger="flask_events"):
        response = app.test_client().post("/events", data=dumps(body))
    assert response.status_code == 200
    assert response.json["name"] == "batch:response", response.json
    answers = response.json["payload"]
    assert [a["id"] for a in answers] == [s["id"] for s in subs]
    assert [a["name"] for a in answers] == [
        "echo:response",
        "aecho:response",
        f"{odd}:error",
        "echo:response",
        "aecho:response",
    ]
    assert [answers[i]["payload"] for i in (0, 1, 3, 4)] == [{"n": n} for n in (1, 2, 3, 4)]
    assert answers[2]["payload"]["code"] == "UNSERIALIZABLE_RESPONSE"
    assert answers[2]["auth"] == {}
    assert [n["event"].id for n in noticed] == [subs[2]["id"]]
    assert noticed[0]["event"].auth == {"token": "[redacted]"}
    logged = [r.getMessage() for r in caplog.records if "not serializable" in r.getMessage()]
    assert len(logged) == 1 and "\n" not in logged[0], logged
    assert repr(odd) in logged[0] and repr(subs[2]["id"]) in logged[0]
    assert logged[0].endswith(": TypeError") and "Unwritable" not in logged[0]


def test_several_unserializable_answers_each_fail_in_their_slot(app, noticed):
    subs = [sub("odd"), sub("echo", 1), sub("aodd"), sub("nope")]
    body = sub("batch", {"parallel": True, "events": subs})
    response = app.test_client().post("/events", data=dumps(body))
    assert response.status_code == 200
    answers = response.json["payload"]
    assert [a["name"] for a in answers] == [
        "odd:error",
        "echo:response",
        "aodd:error",
        "eventNotFound",
    ]
    assert answers[1]["payload"] == 1
    codes = [answers[i]["payload"]["code"] for i in (0, 2)]
    assert codes == ["UNSERIALIZABLE_RESPONSE"] * 2
    assert sorted(n["event"].name for n in noticed) == ["aodd", "nope", "odd"]
