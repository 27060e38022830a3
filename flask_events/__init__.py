"""Flask-Events: the events protocol (GuiaBolso/Go-Events) for Flask."""

from .blueprint import EventsBlueprint
from .client import (
    AsyncEventsClient,
    ConnectionFailed,
    EventsClient,
    EventsClientError,
    InvalidResponse,
    RequestTimeout,
    UnexpectedStatus,
)
from .context import EventLogFilter, Handling, current_event, current_handling
from .dispatch import Dispatcher, Reply, Settings, TooManyInFlight
from .errors import (
    BadProtocol,
    BadRequest,
    DuplicateHandlerError,
    EventError,
    EventNotFound,
    EventsError,
    ExampleError,
    Expired,
    Forbidden,
    Gone,
    NotFound,
    ResourceDenied,
    Unauthorized,
    Unprocessable,
    UserDenied,
)
from .event import (
    Event,
    bad_protocol_event,
    error_event,
    error_response_event,
    event_not_found_event,
    parse_event,
    random_id,
    redirect_event,
    response_event,
    without_auth,
)
from .registry import HandlerSpec, Registry
from .transports.socketio import EventPusher

__version__ = "0.1.0.dev0"

__all__ = [
    "AsyncEventsClient",
    "ConnectionFailed",
    "EventsClient",
    "EventsClientError",
    "InvalidResponse",
    "RequestTimeout",
    "UnexpectedStatus",
    "BadProtocol",
    "BadRequest",
    "Dispatcher",
    "DuplicateHandlerError",
    "Event",
    "EventError",
    "EventLogFilter",
    "EventNotFound",
    "EventPusher",
    "EventsBlueprint",
    "EventsError",
    "ExampleError",
    "Expired",
    "Forbidden",
    "Gone",
    "Handling",
    "HandlerSpec",
    "NotFound",
    "Registry",
    "Reply",
    "Settings",
    "TooManyInFlight",
    "ResourceDenied",
    "Unauthorized",
    "Unprocessable",
    "UserDenied",
    "bad_protocol_event",
    "current_event",
    "current_handling",
    "error_event",
    "error_response_event",
    "event_not_found_event",
    "parse_event",
    "random_id",
    "redirect_event",
    "response_event",
    "without_auth",
]
