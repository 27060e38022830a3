"""Exceptions: the typed protocol errors handlers raise, and usage errors.

Every exception of this package derives from :class:`EventsError` and is defined
here, or, for the client's, in ``flask_events.client_errors``: one place to read
every failure.

A handler raises an :class:`EventError` subclass to answer with a typed error event
``<name>:<type>`` (docs/protocol.rst#outcomes) whose payload is
``{"code": ..., "parameters": {...}, "message": ...}``::

    from flask_events import NotFound

    @events.handler("user:get", 1)
    def get_user(event):
        raise NotFound("No such user", code="USER_NOT_FOUND",
                       parameters={"id": event.payload["id"]})
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Type

__all__ = [
    "BadProtocol",
    "BadRequest",
    "BatchTimeout",
    "DuplicateHandlerError",
    "EventError",
    "EventNotFound",
    "EventsError",
    "ExampleError",
    "Expired",
    "Forbidden",
    "Gone",
    "InvalidOutput",
    "InvalidPayload",
    "MissingDependency",
    "NotFound",
    "PayloadValidationError",
    "PushFailed",
    "RedactedError",
    "ResourceDenied",
    "TooManyInFlight",
    "Unauthorized",
    "UnhandledError",
    "Unprocessable",
    "UnserializableResponse",
    "UserDenied",
]


class EventsError(Exception):
    """Base class of every exception raised by Flask-Events."""


class DuplicateHandlerError(EventsError, ValueError):
    """A second handler was registered for a (name, version) that has one."""


class ExampleError(EventsError, ValueError):
    """A declared example does not match the handler's schema."""


class PushFailed(EventsError):
    """A push through the message queue (Redis) did not reach any server process: the
    queue could not be reached, did not answer within ``EVENTS_PUSH_TIMEOUT``, or had
    no server process subscribed. Clients connected to the pushing process itself
    got the event all the same; clients of the other processes did not.

    It is also sent to :data:`~flask_events.signals.error_noticed` subscribers, who
    read it as they read a :class:`BadProtocol`: :attr:`type`, :attr:`code`,
    :attr:`message` and :attr:`parameters` (``{"to": ..., "namespace": ...}``). The
    cause (the Redis client's exception, if any) is its ``__cause__``.
    """

    #: What :data:`~flask_events.signals.error_noticed` subscribers count it as.
    type = "pushFailed"
    #: Machine-readable code.
    code = "PUSH_FAILED"

    def __init__(self, message: str, *, to: Optional[str], namespace: str) -> None:
        super().__init__(message)
        self.message = message
        self.parameters: dict[str, Any] = {"to": to, "namespace": namespace}


class RedactedError(EventsError):
    """What a signal subscriber gets in place of an exception raised while handling an
    event that carried credentials (a non-empty ``auth``), unless it was an
    :class:`EventError` (that one arrives as a scrubbed copy of its own class).

    It shares nothing with the original: no traceback (whose frames hold the
    request), no chained exceptions; its text has every credential replaced by
    ``"[redacted]"``. ``str()`` of it is :attr:`message`.

    :param original_type: the class of the exception it stands for.
    :param message: ``str()`` of the original, scrubbed.
    :param traceback: the original's traceback as text (chained exceptions and notes
        included), scrubbed.
    """

    # ``Type``, not ``type``: Sphinx would link ``type`` to the ``type`` attributes here
    def __init__(self, original_type: Type[BaseException], message: str, traceback: str) -> None:
        super().__init__(message)
        self.original_type = original_type
        self.message = message
        self.traceback = traceback

    @property
    def type_name(self) -> str:
        """The original class's name, qualified by its module unless a builtin
        (``RuntimeError``, ``myapp.errors.Oops``), as OpenTelemetry names it.
        """
        module, name = self.original_type.__module__, self.original_type.__qualname__
        return name if module in (None, "builtins") else f"{module}.{name}"

    def __repr__(self) -> str:
        return f"RedactedError({self.type_name}: {self.message!r})"


class EventError(EventsError):
    """A protocol error answered as the event ``<name>:<type>``.

    Subclasses set :attr:`type` (the suffix of the response name), a default
    :attr:`code` and a default :attr:`message`. Raising :class:`EventError` itself
    answers ``<name>:error``.

    :param message: human-readable text sent to the caller; the class default if
        omitted. It is sent as is, so keep secrets out of it.
    :param code: machine-readable code, e.g. ``"USER_NOT_FOUND"``.
    :param parameters: details for the caller, any JSON object.
    """

    #: Suffix of the error event's name, as every implementation spells it.
    type: str = "error"
    #: Default machine-readable code.
    code: str = "ERROR"
    #: Default message.
    message: str = "The event could not be processed"
    #: Whether the response name is ``<request name>:<type>`` (with the request's
    #: version) or ``<type>`` alone, version 1 (``eventNotFound``, ``badProtocol``).
    prefixed: bool = True

    def __init__(
        self,
        message: Optional[str] = None,
        *,
        code: Optional[str] = None,
        parameters: Optional[Mapping[str, Any]] = None,
    ) -> None:
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        self.parameters: dict[str, Any] = dict(parameters or {})
        super().__init__(self.message)

    def to_payload(self) -> dict[str, Any]:
        """The error event's payload: ``{"code", "parameters", "message"}``."""
        return {"code": self.code, "parameters": self.parameters, "message": self.message}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class BadRequest(EventError):
    """The payload is not acceptable (``<name>:badRequest``)."""

    type = "badRequest"
    code = "BAD_REQUEST"
    message = "The payload is not valid"


class BatchTimeout(EventError):
    """A batch sub-event that did not start before the batch's time budget
    (``EVENTS_BATCH_TIMEOUT``) ran out: answered ``<name>:error`` in its slot, code
    ``BATCH_TIMEOUT``, parameters ``{"timeout": N}``; its handler did not run.
    """

    code = "BATCH_TIMEOUT"
    message = "The batch ran out of time before this event could start"

    def __init__(self, timeout: float) -> None:
        super().__init__(parameters={"timeout": timeout})


class Unauthorized(EventError):
    """The caller is not authenticated (``<name>:unauthorized``)."""

    type = "unauthorized"
    code = "UNAUTHORIZED"
    message = "Authentication is required"


class Forbidden(EventError):
    """The caller may not do this (``<name>:forbidden``)."""

    type = "forbidden"
    code = "FORBIDDEN"
    message = "This is not allowed"


class NotFound(EventError):
    """What the event refers to does not exist (``<name>:notFound``)."""

    type = "notFound"
    code = "NOT_FOUND"
    message = "Not found"


class UserDenied(EventError):
    """The user refused the operation (``<name>:userDenied``)."""

    type = "userDenied"
    code = "USER_DENIED"
    message = "The user denied the operation"


class ResourceDenied(EventError):
    """A resource refused the operation (``<name>:resourceDenied``)."""

    type = "resourceDenied"
    code = "RESOURCE_DENIED"
    message = "The resource denied the operation"


class Expired(EventError):
    """Something the event relies on has expired (``<name>:expired``)."""

    type = "expired"
    code = "EXPIRED"
    message = "Expired"


class Gone(EventError):
    """What the event refers to existed but is gone (``<name>:gone``)."""

    type = "gone"
    code = "GONE"
    message = "Gone"


class Unprocessable(EventError):
    """The payload is well formed but cannot be processed (``<name>:unprocessable``)."""

    type = "unprocessable"
    code = "UNPROCESSABLE"
    message = "The event cannot be processed"


class EventNotFound(EventError):
    """No handler is registered for the event's (name, version) (``eventNotFound``)."""

    type = "eventNotFound"
    code = "NO_EVENT_HANDLER_FOUND"
    message = "Event not Found"
    prefixed = False

    @classmethod
    def for_event(cls, name: str, version: int) -> EventNotFound:
        """The error for an unknown ``(name, version)``."""
        return cls(parameters={"event": name, "version": version})


class BadProtocol(EventError):
    """The input could not be read as an event envelope (``badProtocol``).

    Raised by the parser, not by handlers. :attr:`event_id` and :attr:`flow_id`
    keep the request's ids when they could be read, so the answer can carry them.
    """

    type = "badProtocol"
    code = "INVALID_COMMUNICATION_PROTOCOL"
    message = "The request is not a valid event"
    prefixed = False

    def __init__(
        self,
        message: Optional[str] = None,
        *,
        parameters: Optional[Mapping[str, Any]] = None,
        event_id: Optional[str] = None,
        flow_id: Optional[str] = None,
    ) -> None:
        super().__init__(message, parameters=parameters)
        self.event_id = event_id
        self.flow_id = flow_id

    @classmethod
    def for_property(
        cls, name: str, message: str, raw: Optional[Mapping[str, Any]] = None
    ) -> BadProtocol:
        """A missing or mistyped envelope property; ids taken from ``raw``."""
        return cls(
            message,
            parameters={"propertyName": name},
            event_id=_readable_id(raw, "id"),
            flow_id=_readable_id(raw, "flowId"),
        )

    @classmethod
    def unreadable(cls, reason: str) -> BadProtocol:
        """A body that is not JSON at all (bad syntax, bad UTF-8, too large...)."""
        return cls("The request body is not valid JSON", parameters={"message": reason})


def _readable_id(raw: Optional[Mapping[str, Any]], key: str) -> Optional[str]:
    value = raw.get(key) if raw is not None else None
    return value if isinstance(value, str) and value else None


class InvalidPayload(BadRequest):
    """The payload does not match the handler's input schema
    (``<name>:badRequest``, code ``INVALID_PAYLOAD``, parameters
    ``{"errors": {...}}``: the field errors).
    """

    code = "INVALID_PAYLOAD"
    message = "The payload does not match the event's schema"


class UnhandledError(EventError):
    """What the caller sees when a handler raised an unexpected exception
    (``<name>:error``, code ``UNHANDLED_ERROR``, no exception text).
    """

    code = "UNHANDLED_ERROR"
    message = "An unexpected error occurred while handling the event"


class UnserializableResponse(EventError):
    """What the caller sees when the response could not be encoded as JSON
    (``<name>:error``, code ``UNSERIALIZABLE_RESPONSE``; HTTP status 500).
    """

    code = "UNSERIALIZABLE_RESPONSE"
    message = "The response could not be serialized"


class TooManyInFlight(EventError):
    """What the caller sees when its connection already has as many events being
    handled as it may (``EVENTS_SOCKET_MAX_IN_FLIGHT``); the event did not run
    (``<name>:error``, code ``TOO_MANY_IN_FLIGHT``, parameters ``{"max": N}``).
    """

    code = "TOO_MANY_IN_FLIGHT"
    message = "Too many events in flight on this connection: wait for answers, then retry"

    def __init__(self, limit: int) -> None:
        super().__init__(parameters={"max": limit})


class InvalidOutput(EventsError):
    """A handler's result does not match its output schema (checked with
    ``EVENTS_VALIDATE_OUTPUT``, by default in debug and testing).

    Not an :class:`EventError`: it is a server bug, answered ``<name>:error``
    (``UNHANDLED_ERROR``), or propagated where handlers' exceptions are. It was
    ``flask_events.dispatch.InvalidResponse``, still importable there (deprecated):
    that name is now only the client's :class:`~flask_events.InvalidResponse`.
    """


class PayloadValidationError(EventsError, ValueError):
    """A value did not match a schema (:meth:`PayloadSchema.load
    <flask_events.schemas.PayloadSchema.load>`, ``check``); :attr:`errors` holds the
    field errors. Also a ``ValueError``.
    """

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(f"invalid payload: {errors}")
        self.errors = errors


class MissingDependency(EventsError, ImportError):
    """A feature needs one of the package's extras, which is not installed.

    Raised when the feature is set up (``EventsMetrics(app)``, ``EventsTracing(app)``,
    ``EventPusher(...)``, ``attach_socketio(...)``, a handler declared with a
    pydantic model), never when :mod:`flask_events` is imported. The message says
    what to install, e.g. ``pip install 'Flask-Events-Protocol[prometheus]'``.

    :param feature: what needs it (``"EventsMetrics"``).
    :param module: the module that could not be imported (also :attr:`name`, as for
        any :class:`ImportError`).
    :param extra: the extra that provides it (``"prometheus"``).
    :param reason: why it could not be used (the import's error, a version).
    """

    def __init__(self, feature: str, module: str, extra: str, *, reason: str) -> None:
        self.feature = feature
        self.extra = extra
        self.install = f"pip install 'Flask-Events-Protocol[{extra}]'"
        super().__init__(f"{feature} needs {module} ({reason}): {self.install}", name=module)
