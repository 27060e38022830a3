"""Flask-Events: the events protocol (GuiaBolso/Go-Events) for Flask.

The top level holds what an app author uses; the core's building blocks (the
dispatcher, the registry, the event builders) are imported from their modules (see
the "Internals / extending" page of the docs).
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

from .blueprint import EventsBlueprint
from .client import AsyncEventsClient, EventsClient
from .client_errors import (
    ConnectionFailed,
    EventsClientError,
    InvalidResponse,
    NoRunningLoop,
    RequestTimeout,
    ResponseTooLarge,
    ServiceConfigError,
    UnexpectedStatus,
    UnknownService,
)
from .client_services import async_events_client, events_client
from .context import EventLogFilter, Handling, current_event, current_handling
from .errors import (
    BadProtocol,
    BadRequest,
    BatchTimeout,
    DuplicateHandlerError,
    EventError,
    EventNotFound,
    EventsError,
    ExampleError,
    Expired,
    Forbidden,
    Gone,
    InvalidOutput,
    MissingDependency,
    NotFound,
    PushFailed,
    ResourceDenied,
    TooManyInFlight,
    Unauthorized,
    Unprocessable,
    UserDenied,
)
from .event import Event, parse_event, redirect_event
from .transports.socketio import EventPusher

__version__ = "0.1.0.dev0"

__all__ = [
    "AsyncEventsClient",
    "BadProtocol",
    "BadRequest",
    "BatchTimeout",
    "ConnectionFailed",
    "DuplicateHandlerError",
    "Event",
    "EventError",
    "EventLogFilter",
    "EventNotFound",
    "EventPusher",
    "EventsBlueprint",
    "EventsClient",
    "EventsClientError",
    "EventsError",
    "ExampleError",
    "Expired",
    "Forbidden",
    "Gone",
    "Handling",
    "InvalidOutput",
    "InvalidResponse",
    "MissingDependency",
    "NoRunningLoop",
    "NotFound",
    "PushFailed",
    "RequestTimeout",
    "ResourceDenied",
    "ResponseTooLarge",
    "ServiceConfigError",
    "TooManyInFlight",
    "Unauthorized",
    "UnexpectedStatus",
    "UnknownService",
    "Unprocessable",
    "UserDenied",
    "async_events_client",
    "current_event",
    "current_handling",
    "events_client",
    "parse_event",
    "redirect_event",
]

#: Names once exported here, now imported from their modules: name -> module.
_MOVED = {
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


def __getattr__(name: str) -> Any:
    """A name in ``_MOVED``, still importable from here with a ``DeprecationWarning``
    naming its module.
    """
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"flask_events.{name} is deprecated: import it from {module}",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(module), name)
