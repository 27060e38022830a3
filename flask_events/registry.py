"""Handlers keyed by (name, version), with what they declare. Transport-free."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Optional, Union

from .declarations import ErrorDeclaration, PushSpec, declare_errors
from .errors import DuplicateHandlerError, EventsError, ExampleError
from .failures import qualname
from .schemas import PayloadSchema, PayloadValidationError, adapt

__all__ = ["ErrorDeclaration", "HandlerSpec", "PushSpec", "Registry"]

#: A handler receives the request :class:`~flask_events.Event` (and, with an input
#: schema, the loaded payload) and returns a JSON-able payload, an ``Event``, or
#: raises an ``EventError``. It may be ``async def``.
HandlerFunc = Callable[..., Any]


@dataclass(frozen=True)
class HandlerSpec:
    """A registered handler and what it declares."""

    name: str
    version: int
    func: HandlerFunc
    doc: str
    #: The payload schema, or ``None``.
    input: Optional[PayloadSchema] = None
    #: The result schema, or ``None``.
    output: Optional[PayloadSchema] = None
    #: ``(input example, output example)``, or ``None``.
    example: Optional[tuple[Any, Any]] = None
    #: Whether ``func`` is a coroutine function.
    is_async: bool = False
    #: Whether this is a batch event (see :mod:`flask_events.batch`).
    is_batch: bool = False
    #: Whether the blueprint's authenticator is skipped for this event.
    public: bool = False
    #: ``False``, ``True`` or a message (such as ``"use v2"``): the version is
    #: deprecated.
    deprecated: Union[bool, str] = False
    #: The typed errors it declares it may answer (``errors=``).
    errors: tuple[ErrorDeclaration, ...] = ()

    #: A sync handler without schemas, not deprecated: the dispatcher's fast path
    #: (derived).
    plain: bool = field(init=False, repr=False)

    def __post_init__(self) -> None:
        plain = (
            not self.is_async
            and self.input is None
            and self.output is None
            and not self.deprecated
        )
        object.__setattr__(self, "plain", plain)

    @property
    def qualname(self) -> str:
        """``module.function`` of the handler, for messages and listings."""
        return qualname(self.func)

    @property
    def summary(self) -> str:
        """The first line of the documentation."""
        return self.doc.strip().split("\n", 1)[0] if self.doc else ""


class Registry:
    """The table of handlers that one dispatcher serves."""

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, int], HandlerSpec] = {}
        self._pushes: dict[tuple[str, int], PushSpec] = {}
        #: ``lookup((name, version))``: the handler for that key, or ``None`` — the
        #: table's own ``dict.get``, bound once, for the dispatcher's per-event lookup
        #: (:meth:`get` with one call less). It sees later registrations.
        self.lookup: Callable[[tuple[str, int]], Optional[HandlerSpec]] = self._handlers.get
        #: Who has served events from this table (``None``: nobody yet); once set,
        #: :meth:`add` refuses new handlers.
        self.closed_by: Optional[str] = None

    def close(self, by: str) -> None:
        """Refuse handlers from now on: ``by`` (an app) has handled its first event."""
        if self.closed_by is None:
            self.closed_by = by

    def check_open(self, what: str) -> None:
        """Raise unless the table still takes declarations.

        :raises EventsError: ``what`` comes after the first event was handled.
        """
        if self.closed_by is not None:
            raise EventsError(
                f"cannot {what}: {self.closed_by} has already handled its first event "
                "with these handlers, and a change now would not apply consistently; "
                "declare every handler before the app serves events"
            )

    def add(
        self,
        name: str,
        version: int,
        func: HandlerFunc,
        *,
        doc: Optional[str] = None,
        input: Any = None,
        output: Any = None,
        example: Optional[tuple[Any, Any]] = None,
        is_batch: bool = False,
        public: bool = False,
        deprecated: Union[bool, str] = False,
        errors: Iterable[Any] = (),
    ) -> HandlerSpec:
        """Register ``func`` for ``(name, version)``.

        :param doc: documentation text; the handler's docstring when omitted.
        :param input: marshmallow schema (class or instance) or pydantic model of
            the payload.
        :param output: likewise, for the handler's result.
        :param example: ``(input_example, output_example)``, checked against the
            schemas now.
        :param public: skip the authenticator for this event.
        :param deprecated: ``True``, or a message such as ``"use v2"``: this version
            is deprecated.
        :param errors: the typed errors it may answer: :class:`~flask_events.EventError`
            subclasses, or instances for a specific code (see
            :func:`~flask_events.declarations.declare_errors`).
        :raises DuplicateHandlerError: if ``(name, version)`` already has a handler.
        :raises ExampleError: if an example does not match its schema.
        :raises TypeError: if ``name`` is not a non-empty string, ``version`` not an
            integer >= 1, ``func`` not callable, a schema of an unknown kind, or
            ``errors`` holds something else than typed errors.
        """
        self.check_open(f"add a handler for {name!r} v{version} ({qualname(func)})")
        _check_key(name, version)
        if not callable(func):
            raise TypeError(f"handler for {name!r} v{version} is not callable: {func!r}")
        if example is not None and (not isinstance(example, tuple) or len(example) != 2):
            raise TypeError(f"example of {name!r} v{version} must be (input, output)")
        if not isinstance(deprecated, (bool, str)) or deprecated == "":
            raise TypeError(
                f"deprecated of {name!r} v{version} must be True, False or a non-empty "
                f"message, got {deprecated!r}"
            )
        spec = HandlerSpec(
            name,
            version,
            func,
            doc if doc is not None else (inspect.getdoc(func) or ""),
            adapt(input),
            adapt(output),
            example,
            _is_async(func),
            is_batch,
            public,
            deprecated,
            declare_errors(errors, f"{name!r} v{version}"),
        )
        existing = self._handlers.get((name, version))
        if existing is not None:
            raise DuplicateHandlerError(
                f"event {name!r} version {version} is already handled by "
                f"{existing.qualname}; cannot also register {spec.qualname}"
            )
        _check_example(spec)
        self._handlers[(name, version)] = spec
        return spec

    def add_push(
        self,
        name: str,
        version: int = 1,
        *,
        schema: Any = None,
        doc: Optional[str] = None,
        example: Any = None,
    ) -> PushSpec:
        """Declare that the server pushes ``(name, version)`` to Socket.IO clients.

        :param schema: marshmallow schema (class or instance) or pydantic model of
            the payload.
        :param example: an example payload, checked against ``schema`` now.
        :raises DuplicateHandlerError: ``(name, version)`` is declared already.
        :raises ExampleError: the example does not match the schema.
        :raises TypeError: as :meth:`add` does for the name, version and schema.
        """
        self.check_open(f"declare the push {name!r} v{version}")
        _check_key(name, version)
        if doc is not None and not isinstance(doc, str):
            raise TypeError(f"doc of the push {name!r} v{version} must be a string")
        push = PushSpec(name, version, adapt(schema), doc or "", example)
        if (name, version) in self._pushes:
            raise DuplicateHandlerError(
                f"the push {name!r} version {version} is declared already; cannot declare it twice"
            )
        if example is not None and push.schema is not None:
            try:
                push.schema.check(example, output=True)
            except PayloadValidationError as exc:
                raise ExampleError(
                    f"the example of the push {name!r} version {version} does not "
                    f"match {push.schema.name}: {exc.errors}"
                ) from None
        self._pushes[(name, version)] = push
        return push

    def pushes(self) -> list[PushSpec]:
        """Every declared push, sorted by name then version."""
        return sorted(self._pushes.values(), key=lambda p: (p.name, p.version))

    def declares_push(self, name: str, version: int) -> bool:
        """Whether ``(name, version)`` is a declared push."""
        return (name, version) in self._pushes

    def get(self, name: str, version: int) -> Optional[HandlerSpec]:
        """The handler for ``(name, version)``, or ``None``."""
        return self._handlers.get((name, version))

    def __contains__(self, key: object) -> bool:
        return key in self._handlers

    def __len__(self) -> int:
        return len(self._handlers)

    def __iter__(self) -> Iterator[HandlerSpec]:
        """Every handler, sorted by name then version."""
        return iter(sorted(self._handlers.values(), key=lambda s: (s.name, s.version)))


def _check_key(name: Any, version: Any) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError(f"event name must be a non-empty string, got {name!r}")
    if type(version) is not int or version < 1:
        raise TypeError(f"event version must be an integer >= 1, got {version!r}")


def _is_async(func: HandlerFunc) -> bool:
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - an object with async __call__
    )


def _check_example(spec: HandlerSpec) -> None:
    """An example that contradicts its schema is an error, not a page that lies."""
    if spec.example is None:
        return
    for which, schema, value in (
        ("input", spec.input, spec.example[0]),
        ("output", spec.output, spec.example[1]),
    ):
        if schema is None:
            continue
        try:
            schema.check(value, output=which == "output")
        except PayloadValidationError as exc:
            raise ExampleError(
                f"the {which} example of event {spec.name!r} version {spec.version} "
                f"does not match {schema.name}: {exc.errors}"
            ) from None
