"""Handlers keyed by (name, version). Transport-free: no Flask import."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

from .errors import DuplicateHandlerError

__all__ = ["HandlerSpec", "Registry"]

#: A handler receives the request :class:`~flask_events.Event` and returns a
#: JSON-able payload, an ``Event``, or raises an ``EventError``.
HandlerFunc = Callable[..., Any]


@dataclass(frozen=True)
class HandlerSpec:
    """A registered handler and what is known about it."""

    name: str
    version: int
    func: HandlerFunc
    doc: str

    @property
    def qualname(self) -> str:
        """``module.function`` of the handler, for messages and listings."""
        module = getattr(self.func, "__module__", None) or "?"
        name = getattr(self.func, "__qualname__", None) or repr(self.func)
        return f"{module}.{name}"


class Registry:
    """The table of handlers that one dispatcher serves."""

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, int], HandlerSpec] = {}

    def add(
        self, name: str, version: int, func: HandlerFunc, *, doc: Optional[str] = None
    ) -> HandlerSpec:
        """Register ``func`` for ``(name, version)``.

        :param doc: documentation text; the handler's docstring when omitted.
        :raises DuplicateHandlerError: if ``(name, version)`` already has a handler.
        :raises TypeError: if ``name`` is not a non-empty string, ``version`` not an
            integer >= 1, or ``func`` not callable.
        """
        if not isinstance(name, str) or not name:
            raise TypeError(f"event name must be a non-empty string, got {name!r}")
        if type(version) is not int or version < 1:
            raise TypeError(f"event version must be an integer >= 1, got {version!r}")
        if not callable(func):
            raise TypeError(f"handler for {name!r} v{version} is not callable: {func!r}")
        text = doc if doc is not None else (inspect.getdoc(func) or "")
        spec = HandlerSpec(name, version, func, text)
        existing = self._handlers.get((name, version))
        if existing is not None:
            raise DuplicateHandlerError(
                f"event {name!r} version {version} is already handled by "
                f"{existing.qualname}; cannot also register {spec.qualname}"
            )
        self._handlers[(name, version)] = spec
        return spec

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
