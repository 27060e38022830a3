"""The package's layering, read from its source: imports go downward only (no cycle,
transports never import the blueprint, the core imports no Flask), no module reads
another's private attributes, and every exception the package defines is one of
its errors modules' :class:`~flask_events.EventsError` subclasses.

Imports are those executed when a module is imported: module level, including under
``if``/``try``, but not under ``if TYPE_CHECKING:`` nor inside functions or classes'
methods.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import Optional

import pytest

import flask_events
from flask_events.context import current_event
from flask_events.dispatch import Dispatcher, Settings
from flask_events.errors import NotFound
from flask_events.event import Event, parse_event
from flask_events.registry import Registry
from flask_events.signals import event_finished

from .envelopes import envelope

PACKAGE = Path(flask_events.__file__).parent

#: The transport-free core: neither it nor anything it imports imports Flask.
CORE = [
    "batch",
    "codec",
    "context",
    "coroutines",
    "dispatch",
    "errors",
    "event",
    "failures",
    "redaction",
    "registry",
    "schemas",
    "signals",
]

#: The modules that may define the package's exceptions.
ERRORS_MODULES = {"flask_events.errors", "flask_events.client_errors"}


def module_names() -> dict[str, Path]:
    """Every module of the package: its dotted name and its file."""
    names = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


MODULES = module_names()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _executed(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements run at import time: module level, into ``if``/``try``/``with``
    blocks, except ``if TYPE_CHECKING:``; not into functions nor classes.
    """
    found: list[ast.stmt] = []
    for node in body:
        found.append(node)
        if isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                found += _executed(node.body)
            found += _executed(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                found += _executed(block)
            for handler in node.handlers:
                found += _executed(handler.body)
        elif isinstance(node, ast.With):
            found += _executed(node.body)
    return found


def _resolve(module: str, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` reads from."""
    if not node.level:
        return node.module or ""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imports_of(module: str) -> set[str]:
    """The modules ``module`` imports when it is imported (any package's)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in _executed(tree.body):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, node)
            for alias in node.names:
                # ``from . import docs``: the submodule; else a name of ``source``
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in MODULES else source)
    return found


def graph() -> dict[str, set[str]]:
    """The package's own modules, each with the package modules it imports."""
    return {name: {m for m in imports_of(name) if m in MODULES} for name in MODULES}


def find_cycle(edges: dict[str, set[str]]) -> Optional[list[str]]:
    """A cycle of ``edges`` (its modules in order, the first repeated last), if any."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> Optional[list[str]]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(edges[node]):
            cycle = visit(target, [*path, node])
            if cycle is not None:
                return cycle
        done.add(node)
        return None

    for start in sorted(edges):
        cycle = visit(start, [])
        if cycle is not None:
            return cycle
    return None


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for target in edges[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_find_cycle_finds_one() -> None:
    """The checker itself: a cycle is found, and named."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_imports_are_read_as_executed() -> None:
    """Relative imports are resolved; ``TYPE_CHECKING`` imports are not counted."""
    assert "flask_events.dispatch" in imports_of("flask_events.batch")
    assert "flask_events.docs" in imports_of("flask_events.blueprint")  # from . import
    assert "flask_events.blueprint" not in imports_of("flask_events.state")


def test_no_import_cycle() -> None:
    assert find_cycle(graph()) is None


def test_transports_never_import_the_blueprint() -> None:
    edges = graph()
    for name in MODULES:
        if name.startswith("flask_events.transports"):
            assert "flask_events.blueprint" not in reachable(edges, name), name


@pytest.mark.parametrize("core", CORE)
def test_core_imports_no_flask(core: str) -> None:
    """Neither the core module nor any package module it imports imports Flask
    (werkzeug is allowed).
    """
    edges = graph()
    for name in sorted(reachable(edges, f"flask_events.{core}")):
        flask = {m for m in imports_of(name) if m == "flask" or m.startswith("flask.")}
        assert not flask, f"{name} (imported by flask_events.{core}) imports {flask}"


#: Public names that start with ``_``: the ``namedtuple`` API.
NAMEDTUPLE_API = {"_asdict", "_field_defaults", "_fields", "_make", "_replace"}


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in NAMEDTUPLE_API


def owned_names(source: str) -> set[str]:
    """The private names a module defines: its functions, classes and globals, its
    classes' members, and the attributes it sets on ``self``.
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id in ("self", "cls")
        ):
            names.add(node.attr)
    return {name for name in names if _private(name)}


def foreign_private_reads(source: str, others: set[str]) -> list[str]:
    """``obj._name`` in a module's ``source`` (``obj`` not ``self`` nor ``cls``) where
    ``_name`` is not the module's own but is one of ``others`` (another package
    module's).
    """
    own = owned_names(source)
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Attribute) and _private(node.attr)):
            continue
        if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            continue
        if node.attr not in own and node.attr in others:
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_foreign_private_reads_are_found() -> None:
    """The checker itself, on the read the dispatcher made before ``Registry.lookup``."""
    registry = "class Registry:\n    def __init__(self):\n        self._handlers = {}\n"
    dispatcher = (
        "class D:\n    def __init__(self, registry):\n        self._h = registry._handlers\n"
    )
    others = owned_names(registry)
    assert foreign_private_reads(dispatcher, others) == ["3: registry._handlers"]
    assert foreign_private_reads(registry, owned_names(dispatcher)) == []


def test_no_module_reads_another_modules_private_attributes() -> None:
    sources = {name: path.read_text(encoding="utf-8") for name, path in MODULES.items()}
    owned = {name: owned_names(source) for name, source in sources.items()}
    found = []
    for name, source in sources.items():
        others = set().union(*(names for other, names in owned.items() if other != name))
        found += [f"{name}:{read}" for read in foreign_private_reads(source, others)]
    assert not found


def _fast_path_registry() -> Registry:
    registry = Registry()
    registry.add("echo", 1, lambda event: {"got": event.payload, "seen": current_event.name})
    registry.add("whole", 1, lambda event: Event("custom", 2, "i", event.flow_id, [1]))

    def refuse(event: Event) -> None:
        raise NotFound("no such thing", code="NOPE", parameters={"id": 1})

    def crash(event: Event) -> None:
        raise LookupError("a bug")

    registry.add("refuse", 1, refuse)
    registry.add("crash", 1, crash)
    return registry


@pytest.mark.parametrize("name", ["echo", "whole", "refuse", "crash"])
def test_the_fast_path_answers_as_the_pipeline(name: str) -> None:
    """``Dispatcher.run``'s fast path (a plain handler, nobody listening) gives the
    answer and error the one pipeline gives when a receiver makes it run.
    """
    dispatcher = Dispatcher(_fast_path_registry())
    request = parse_event(envelope(name, {"a": 1}))
    spec = dispatcher.registry.lookup((name, 1))
    assert spec is not None and spec.plain
    sender = object()
    fast = dispatcher.run(spec, request, sender, "direct")
    finished: list[Event] = []
    with event_finished.connected_to(lambda s, **kw: finished.append(kw["response"]), sender):
        piped = dispatcher.run(spec, request, sender, "direct")
    assert finished == [piped[0]]  # the pipeline ran
    assert fast[0] == piped[0]
    assert repr(fast[1]) == repr(piped[1])


def test_the_fast_path_propagates_as_the_pipeline() -> None:
    dispatcher = Dispatcher(
        _fast_path_registry(), lambda sender: Settings(propagate_exceptions=True)
    )
    request = parse_event(envelope("crash"))
    spec = dispatcher.registry.lookup(("crash", 1))
    assert spec is not None
    sender = object()
    with pytest.raises(LookupError, match="a bug"):
        dispatcher.run(spec, request, sender, "direct")
    with event_finished.connected_to(lambda s, **kw: None, sender):
        with pytest.raises(LookupError, match="a bug"):
            dispatcher.run(spec, request, sender, "direct")


def _package_exceptions() -> list[type[BaseException]]:
    """Every exception class defined in the package (each module imported)."""
    found = []
    for name in sorted(MODULES):
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == name
            ):
                found.append(value)
    return found


def test_every_exception_of_the_package_is_an_events_error() -> None:
    exceptions = _package_exceptions()
    assert flask_events.errors.InvalidOutput in exceptions  # the check sees them
    assert [e for e in exceptions if not issubclass(e, flask_events.EventsError)] == []


def test_every_public_exception_lives_in_an_errors_module() -> None:
    """In ``errors.py``, or ``client_errors.py`` for the client's; a private one (such
    as the WebSocket connection's ``_Closed``) may stay with the code that uses it.
    """
    misplaced = [
        f"{e.__module__}.{e.__qualname__}"
        for e in _package_exceptions()
        if e.__module__ not in ERRORS_MODULES and not e.__name__.startswith("_")
    ]
    assert misplaced == []


def test_no_two_exceptions_share_a_name() -> None:
    names = [e.__name__ for e in _package_exceptions()]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []


def test_old_homes_of_the_moved_exceptions_still_import() -> None:
    from flask_events import dispatch, failures, schemas

    errors = flask_events.errors
    assert dispatch.InvalidPayload is errors.InvalidPayload
    assert dispatch.UnserializableResponse is errors.UnserializableResponse
    assert dispatch.TooManyInFlight is errors.TooManyInFlight
    assert failures.UnhandledError is errors.UnhandledError
    assert schemas.PayloadValidationError is errors.PayloadValidationError
    assert issubclass(errors.PayloadValidationError, ValueError)  # ``except ValueError``


def test_dispatch_invalid_response_is_a_deprecated_alias_of_invalid_output() -> None:
    from flask_events import dispatch

    with pytest.warns(DeprecationWarning, match="InvalidOutput"):
        alias = dispatch.InvalidResponse
    assert alias is flask_events.errors.InvalidOutput
    assert flask_events.InvalidResponse is not alias  # the client's


def test_async_events_client_outside_a_loop_raises_an_events_error() -> None:
    from flask import Flask

    from flask_events.client_services import async_events_client

    app = Flask(__name__)
    app.config["EVENTS_SERVICES"] = {"other": {"url": "http://127.0.0.1:9/events/"}}
    with pytest.raises(flask_events.EventsError, match="running event loop") as info:
        async_events_client("other", app)
    assert isinstance(info.value, RuntimeError)


def test_flask_smorest_is_reached_past_its_api_only_in_smorest_py() -> None:
    """Flask's own ``add_url_rule`` on a flask-smorest blueprint, and its private
    ``_docs``, are used in ``flask_events/smorest.py`` only.
    """
    found = [
        f"{name}: {marker}"
        for name, path in MODULES.items()
        if name != "flask_events.smorest"
        for marker in ("FlaskBlueprint.add_url_rule", "_docs[", "manual_doc")
        if marker in path.read_text(encoding="utf-8")
    ]
    assert found == []
