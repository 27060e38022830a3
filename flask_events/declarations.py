"""What a blueprint declares beside its handlers: the typed errors a handler answers
(``errors=``) and the events the server pushes (``pushes()``). Transport-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Optional, Type

from .errors import EventError
from .schemas import PayloadSchema

__all__ = ["ErrorDeclaration", "PushSpec", "declare_errors", "undeclared"]


@dataclass(frozen=True)
class ErrorDeclaration:
    """A typed error a handler declares it may answer (``errors=[...]``).

    One of the library's classes declares every answer of its type (``NotFound``:
    ``<name>:notFound`` with any code); an app's subclass (``class
    AccountNotFound(NotFound): code = "ACCOUNT_NOT_FOUND"``) and an instance
    (``NotFound("No such account", code="ACCOUNT_NOT_FOUND")``) declare their type
    with their code.
    """

    #: The suffix of the answer's name (``"notFound"``).
    type: str
    #: The code; ``None`` for one of the library's classes: any code of the type.
    code: Optional[str]
    #: When it is answered, for the docs: the instance's message, or the class's
    #: default message.
    message: str
    #: The declared class (the instance's class).
    error: Type[EventError]

    def event_name(self, name: str) -> str:
        """The name of the error event answering the event ``name``."""
        return f"{name}:{self.type}"

    def covers(self, type_: str, code: Any) -> bool:
        """Whether an answer of ``type_`` with ``code`` is this declaration's."""
        return type_ == self.type and (self.code is None or code == self.code)


def declare_errors(errors: Iterable[Any], what: str) -> tuple[ErrorDeclaration, ...]:
    """The declarations of ``errors`` (classes or instances of
    :class:`~flask_events.EventError` subclasses).

    :param what: the handler, for the error message.
    :raises TypeError: one is neither an ``EventError`` subclass nor an instance of
        one; or it is the class ``EventError`` itself, or an error answered without
        the event's name (``eventNotFound``, ``badProtocol``): outcomes of every
        event already.
    """
    if isinstance(errors, (str, bytes)) or not isinstance(errors, Iterable):
        raise TypeError(f"errors of {what} must be a list of EventError classes or instances")
    declared = []
    for error in errors:
        code: Optional[str]
        if isinstance(error, EventError):
            cls, code, message = error.__class__, error.code, error.message
        elif isinstance(error, type) and issubclass(error, EventError):
            # the library's own class: any code of its type; an app's subclass names
            # one case, its own code
            own = error.__module__ != EventError.__module__
            cls, code, message = error, error.code if own else None, error.message
        else:
            raise TypeError(
                f"errors of {what} must be EventError classes or instances, got {error!r}"
            )
        if (cls is EventError and code is None) or not cls.prefixed:
            raise TypeError(
                f"errors of {what}: {cls.__name__} answers {cls.type!r} with any code, "
                "an outcome of every event already; declare typed errors (NotFound, "
                "Unprocessable, ...) or an error with its code"
            )
        declaration = ErrorDeclaration(cls.type, code, message, cls)
        if declaration not in declared:  # the same listed twice: shown once
            declared.append(declaration)
    return tuple(declared)


@dataclass(frozen=True)
class PushSpec:
    """An event the server pushes to Socket.IO clients, declared with
    :meth:`~flask_events.EventsBlueprint.pushes`.
    """

    name: str
    version: int
    #: The payload schema, or ``None``.
    schema: Optional[PayloadSchema] = None
    doc: str = ""
    #: An example payload, or ``None``.
    example: Any = None

    @property
    def summary(self) -> str:
        """The first line of the documentation."""
        return self.doc.strip().split("\n", 1)[0] if self.doc else ""


#: Answer types every event may give without declaring them (see
#: :func:`undeclared`): the response, a redirect, and ``<name>:error``.
_PROTOCOL_TYPES = frozenset({"response", "redirect", "error"})


def undeclared(
    name: str,
    declared: tuple[ErrorDeclaration, ...],
    answer_name: str,
    code: Any,
    *,
    validated: bool,
    authenticated: bool,
) -> Optional[str]:
    """The type of a typed error answered to the event ``name`` that ``declared``
    does not cover, or ``None``: the answer is the response, a redirect,
    ``<name>:error``, a
    declared error, or a protocol outcome (``badRequest`` / ``INVALID_PAYLOAD`` when
    ``validated`` by an input schema, ``unauthorized`` / ``forbidden`` when the
    event is ``authenticated``).
    """
    prefix = name + ":"
    if not answer_name.startswith(prefix):
        return None
    type_ = answer_name[len(prefix) :]
    if type_ in _PROTOCOL_TYPES or any(d.covers(type_, code) for d in declared):
        return None
    if validated and type_ == "badRequest" and code == "INVALID_PAYLOAD":
        return None
    if authenticated and type_ in ("unauthorized", "forbidden"):
        return None
    return type_
