"""The package's public surface (issue 13): the top level is for app authors; the core's
building blocks moved to their modules and stay reachable from the top level with a
DeprecationWarning; the leftovers of the review are gone or deprecated."""

from __future__ import annotations

import importlib
import inspect

import marshmallow as ma
import pytest

import flask_events
from flask_events.errors import PayloadValidationError
from flask_events.signals import event_started

#: What left the top level (the core's internals), with the module that holds it.
MOVED = {
    "Dispatcher": "flask_events.dispatch",
    "HandlerSpec": "flask_events.registry",
    "Registry": "flask_events.registry",
    "Reply": "flask_events.dispatch",
    "Settings": "flask_events.dispatch",
    "bad_protocol_event": "flask_events.event",
    "error_event": "flask_events.event",
    "error_response_event": "flask_events.event",
    "event_not_found_event": "flask_events.event",
    "random_id": "flask_events.event",
    "response_event": "flask_events.event",
    "without_auth": "flask_events.event",
}


def test_all_is_sorted_and_every_name_in_it_is_importable() -> None:
    names = flask_events.__all__
    assert names == sorted(names) and len(set(names)) == len(names)
    for name in names:
        assert getattr(flask_events, name) is not None, name


def test_all_holds_only_the_app_authors_surface() -> None:
    assert not set(MOVED) & set(flask_events.__all__)
    assert {"EventsBlueprint", "Event", "EventsError", "current_event", "events_client"} <= set(
        flask_events.__all__
    )


@pytest.mark.parametrize("name", sorted(MOVED))
def test_a_name_moved_off_the_top_level_warns_and_is_the_same_object(name: str) -> None:
    module = MOVED[name]
    with pytest.warns(DeprecationWarning, match=rf"flask_events\.{name} .*{module}"):
        value = getattr(flask_events, name)
    assert value is getattr(importlib.import_module(module), name)


def test_from_import_of_a_moved_name_still_works_with_a_warning() -> None:
    from flask_events.dispatch import Dispatcher

    with pytest.warns(DeprecationWarning, match="flask_events.dispatch"):
        from flask_events import Dispatcher as old
    assert old is Dispatcher


def test_an_unknown_top_level_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        flask_events.no_such_name  # noqa: B018


def test_event_from_dict_is_deprecated_for_parse_event() -> None:
    raw = {"name": "x", "version": 1, "id": "i", "flowId": "f", "payload": {}}
    with pytest.warns(DeprecationWarning, match="parse_event"):
        event = flask_events.Event.from_dict(raw)
    assert event == flask_events.parse_event(raw)


def test_envelope_schema_lives_in_docs_and_batch_keeps_a_deprecated_alias() -> None:
    from flask_events import batch, docs

    assert "EnvelopeSchema" in docs.__all__ and "EnvelopeSchema" not in batch.__all__
    with pytest.warns(DeprecationWarning, match="flask_events.docs"):
        alias = batch.EnvelopeSchema
    assert alias is docs.EnvelopeSchema


def test_json_object_is_defined_once() -> None:
    from flask_events import client, event, testing

    assert client.JSONObject is event.JSONObject and testing.JSONObject is event.JSONObject
    for module in (client, testing):
        assert "\nJSONObject = " not in inspect.getsource(module), module.__name__


def test_marshmallow_field_errors_are_built_in_one_place() -> None:
    from flask_events import schemas

    source = inspect.getsource(schemas)
    assert source.count("_field_errors(") == 3  # defined once, used by load and check
    assert source.count("isinstance(exc.messages, dict)") == 0
    assert "source" not in vars(schemas.PayloadSchema).get("__annotations__", {})

    class Whole(ma.Schema):
        @ma.validates_schema
        def refuse(self, data: dict, **kwargs: object) -> None:
            raise ma.ValidationError("no")

    schema = schemas.MarshmallowSchema(Whole)
    for call in (lambda: schema.load({}), lambda: schema.check({}, output=True)):
        with pytest.raises(PayloadValidationError) as caught:
            call()
        assert caught.value.errors == {"_schema": ["no"]}


def test_sub_events_of_a_batch_called_directly_carry_transport_direct() -> None:
    from flask_events.batch import BatchHandler
    from flask_events.dispatch import Dispatcher
    from flask_events.registry import Registry

    registry = Registry()
    registry.add("echo", 1, lambda event: event.payload)
    seen: list[str] = []

    def started(sender: object, transport: str, **extra: object) -> None:
        seen.append(transport)

    raw = {"name": "echo", "version": 1, "id": "i", "flowId": "f", "payload": {"k": 1}}
    batch = flask_events.parse_event({**raw, "name": "batch"})
    with event_started.connected_to(started):
        answers = BatchHandler(Dispatcher(registry))(batch, {"events": [raw], "parallel": False})
    assert [answer.name for answer in answers] == ["echo:response"]
    assert seen == ["direct"]
