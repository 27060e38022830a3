"""Registering handlers (ports Test_NewMux, Test_Add, Test_get)."""

from __future__ import annotations

import pytest

from flask_events import DuplicateHandlerError, EventsBlueprint
from flask_events.registry import Registry


def mock_handler(event):
    """Mock documentation."""
    return event.payload


def other_handler(event):
    return None


def test_new_registry_is_empty():
    assert len(Registry()) == 0


def test_add_and_get():
    registry = Registry()
    spec = registry.add("mock", 1, mock_handler)
    assert len(registry) == 1
    assert registry.get("mock", 1) is spec
    assert ("mock", 1) in registry
    assert spec.func is mock_handler and spec.doc == "Mock documentation."
    assert registry.get("mock", 2) is None and registry.get("other", 1) is None


def test_explicit_doc_wins_over_docstring():
    assert Registry().add("m", 1, mock_handler, doc="Mine").doc == "Mine"
    assert Registry().add("m", 1, other_handler).doc == ""


def test_duplicate_registration_raises_naming_both():
    registry = Registry()
    registry.add("mock", 1, mock_handler)
    with pytest.raises(DuplicateHandlerError) as info:
        registry.add("mock", 1, other_handler)
    message = str(info.value)
    assert "mock_handler" in message and "other_handler" in message
    assert registry.get("mock", 1).func is mock_handler
    registry.add("mock", 2, other_handler)  # another version is fine


@pytest.mark.parametrize(
    ("name", "version", "func"),
    [
        ("", 1, mock_handler),
        (None, 1, mock_handler),
        ("x", 0, mock_handler),
        ("x", True, mock_handler),
        ("x", "1", mock_handler),
        ("x", 1, "not callable"),
    ],
)
def test_invalid_registrations_are_refused(name, version, func):
    with pytest.raises(TypeError):
        Registry().add(name, version, func)


def test_iteration_is_sorted_by_name_then_version():
    registry = Registry()
    for name, version in [("b", 2), ("a", 10), ("b", 1), ("a", 2)]:
        registry.add(name, version, mock_handler)
    assert [(s.name, s.version) for s in registry] == [("a", 2), ("a", 10), ("b", 1), ("b", 2)]


def test_blueprint_decorator_returns_the_function_and_add_is_its_twin():
    events = EventsBlueprint("events", __name__)
    decorated = events.handler("a", 1)(mock_handler)
    assert decorated is mock_handler
    events.add("b", 1, other_handler)
    assert [s.name for s in events.registry] == ["a", "b"]
    with pytest.raises(DuplicateHandlerError):
        events.handler("b", 1)(mock_handler)
