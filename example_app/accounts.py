"""The example's events: bank accounts kept in memory.

Amounts are integers in cents. The caller is identified by ``identity.userId``
(or ``identity.user.id``); ``metadata.origin`` is recorded on new accounts.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from flask import current_app

from flask_events import (
    BadRequest,
    Event,
    EventsBlueprint,
    Forbidden,
    NotFound,
    Unauthorized,
    Unprocessable,
    redirect_event,
)

events = EventsBlueprint("events", __name__)


@dataclass
class Account:
    id: int
    owner: str
    currency: str
    balance: int = 0
    origin: str = "unknown"
    history: list[dict[str, Any]] = field(default_factory=list)


class AccountStore:
    """Accounts of one app, safe to use from several threads."""

    def __init__(self) -> None:
        self._accounts: dict[int, Account] = {}
        self._ids = itertools.count(1)
        self.lock = threading.Lock()

    def open(self, owner: str, currency: str, origin: str) -> Account:
        with self.lock:
            account = Account(next(self._ids), owner, currency, origin=origin)
            self._accounts[account.id] = account
            return account

    def get(self, account_id: Any) -> Account:
        account = self._accounts.get(account_id) if type(account_id) is int else None
        if account is None:
            raise NotFound(
                "No such account", code="ACCOUNT_NOT_FOUND", parameters={"accountId": account_id}
            )
        return account

    def owned_by(self, owner: str) -> list[Account]:
        return [a for a in self._accounts.values() if a.owner == owner]


def _store() -> AccountStore:
    return current_app.extensions["accounts"]


def _caller(event: Event) -> str:
    """The caller's user id from ``identity``; unauthorized without one."""
    identity = event.identity
    user = identity.get("userId")
    if user is None and isinstance(identity.get("user"), dict):
        user = identity["user"].get("id")
    if user is None or isinstance(user, (dict, list, bool)):
        raise Unauthorized("identity.userId is required", code="IDENTITY_REQUIRED")
    return str(user)


def _own_account(event: Event) -> Account:
    payload = event.payload if isinstance(event.payload, dict) else {}
    account = _store().get(payload.get("accountId"))
    if account.owner != _caller(event):
        raise Forbidden("This account belongs to someone else", code="NOT_ACCOUNT_OWNER")
    return account


def _amount(event: Event) -> int:
    payload = event.payload if isinstance(event.payload, dict) else {}
    amount = payload.get("amount")
    if type(amount) is not int or amount <= 0:
        raise BadRequest(
            "amount must be a positive integer (cents)",
            code="INVALID_AMOUNT",
            parameters={"amount": amount},
        )
    return amount


def _view(account: Account) -> dict[str, Any]:
    data = asdict(account)
    del data["history"]
    return data


@events.handler("account:open", 1)
def open_account(event: Event) -> dict[str, Any]:
    """Open an account for the caller (``identity.userId``).

    Payload: ``{"currency": "BRL"}``. ``metadata.origin`` is recorded on the account.
    """
    payload = event.payload if isinstance(event.payload, dict) else {}
    currency = payload.get("currency", "BRL")
    if not isinstance(currency, str) or len(currency) != 3:
        raise BadRequest("currency must be a 3-letter code", code="INVALID_CURRENCY")
    origin = str(event.metadata.get("origin", "unknown"))
    return _view(_store().open(_caller(event), currency.upper(), origin))


@events.handler("account:get", 1)
def get_account(event: Event) -> dict[str, Any]:
    """The caller's account ``{"accountId": 1}``; ``notFound`` if there is none."""
    return _view(_own_account(event))


@events.handler("account:list", 1)
def list_accounts(event: Event) -> list[dict[str, Any]]:
    """Every account of the caller."""
    return [_view(a) for a in _store().owned_by(_caller(event))]


@events.handler("account:deposit", 1)
def deposit(event: Event) -> dict[str, Any]:
    """Add ``amount`` cents to the account: ``{"accountId": 1, "amount": 1000}``."""
    account, amount = _own_account(event), _amount(event)
    with _store().lock:
        account.balance += amount
        account.history.append({"type": "deposit", "amount": amount, "flowId": event.flow_id})
    return _view(account)


@events.handler("account:withdraw", 1)
def withdraw(event: Event) -> dict[str, Any]:
    """Take ``amount`` cents from the account; ``unprocessable`` if funds are short."""
    account, amount = _own_account(event), _amount(event)
    with _store().lock:
        if amount > account.balance:
            raise Unprocessable(
                "Insufficient funds",
                code="INSUFFICIENT_FUNDS",
                parameters={"balance": account.balance, "amount": amount},
            )
        account.balance -= amount
        account.history.append({"type": "withdraw", "amount": amount, "flowId": event.flow_id})
    return _view(account)


@events.handler("account:statement", 1)
def statement(event: Event) -> Event:
    """Statements moved to the reports service: answers a redirect to it."""
    account = _own_account(event)
    return redirect_event(
        event, "https://reports.example.com/statements", {"accountId": account.id}
    )
