"""The typed errors of the example's events: one subclass per case, each with its own
code, so that a handler declares exactly what it answers (``errors=[...]``) and /doc,
OpenAPI and AsyncAPI list each case with its code.
"""

from __future__ import annotations

from flask_events import BadRequest, EventError, Forbidden, NotFound, Unauthorized, Unprocessable


class IdentityRequired(Unauthorized):
    """The event names no caller."""

    code = "IDENTITY_REQUIRED"
    message = "identity.userId is required"


class AccountNotFound(NotFound):
    """No account has this id."""

    code = "ACCOUNT_NOT_FOUND"
    message = "No such account"


class NotAccountOwner(Forbidden):
    """The account is someone else's."""

    code = "NOT_ACCOUNT_OWNER"
    message = "This account belongs to someone else"


class InsufficientFunds(Unprocessable):
    """A withdrawal larger than the balance."""

    code = "INSUFFICIENT_FUNDS"
    message = "Insufficient funds"


class SocketIOOnly(BadRequest):
    """An event that needs a Socket.IO connection, sent over another transport."""

    code = "SOCKETIO_ONLY"
    message = "Subscribe over Socket.IO"


class RatesUnavailable(Unprocessable):
    """The rates service did not answer with rates."""

    code = "RATES_UNAVAILABLE"
    message = "The rates service failed"


class UnknownCurrency(BadRequest):
    """A currency the rates service has no rate for."""

    code = "UNKNOWN_CURRENCY"
    message = "Unknown currency"


class PongNotPushed(EventError):
    """The message queue did not take the push."""

    code = "PUSH_FAILED"
    message = "The pong could not be pushed"
