"""The example's events: bank accounts kept in memory.

Amounts are integers in cents. The caller is identified by ``identity.userId``
(or ``identity.user.id``); ``metadata.origin`` is recorded on new accounts. Payloads
are declared with marshmallow schemas (see :mod:`example_app.schemas`), so a bad
payload is answered ``<name>:badRequest`` before a handler runs.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from dataclasses import dataclass, field
from typing import Any, Optional

from flask import current_app, request
from flask_socketio import join_room

from flask_events import (
    Event,
    EventsBlueprint,
    EventsClient,
    PushFailed,
    current_handling,
    redirect_event,
)

from .errors import (
    AccountNotFound,
    IdentityRequired,
    InsufficientFunds,
    NotAccountOwner,
    PongNotPushed,
    RatesUnavailable,
    SocketIOOnly,
    UnknownCurrency,
)
from .schemas import (
    AccountRefSchema,
    AccountSchema,
    BalanceChangedSchema,
    ConvertSchema,
    MovementSchema,
    OpenAccountSchema,
    OpenAccountV2Schema,
    PingSchema,
    PongSchema,
)

events = EventsBlueprint("events", __name__)
events.add_batch("batch", 1)
events.pushes(
    "account:balance:changed",
    1,
    schema=BalanceChangedSchema,
    doc="The balance of one of the subscriber's accounts changed (a deposit).",
    example={"accountId": 1, "balance": 1000},
)
events.pushes(
    "notifications:pong",
    1,
    schema=PongSchema,
    doc="The answer of ``notifications:ping``, pushed to the room or sid it names.",
    example={"from": "00000000-0000-4000-8000-000000000001"},
)

#: What every event about one of the caller's accounts may answer.
OWN_ACCOUNT_ERRORS = [IdentityRequired, AccountNotFound, NotAccountOwner]

ACCOUNT_EXAMPLE = {
    "id": 1,
    "owner": "7",
    "currency": "BRL",
    "balance": 0,
    "origin": "app",
    "nickname": None,
}


@dataclass
class Account:
    id: int
    owner: str
    currency: str
    balance: int = 0
    origin: str = "unknown"
    nickname: Optional[str] = None
    history: list[dict[str, Any]] = field(default_factory=list)


class AccountStore:
    """Accounts of one app, safe to use from several threads."""

    def __init__(self) -> None:
        self._accounts: dict[int, Account] = {}
        self._ids = itertools.count(1)
        self.lock = threading.Lock()

    def open(
        self, owner: str, currency: str, origin: str, nickname: Optional[str] = None
    ) -> Account:
        with self.lock:
            account = Account(next(self._ids), owner, currency, origin=origin, nickname=nickname)
            self._accounts[account.id] = account
            return account

    def get(self, account_id: Any) -> Account:
        account = self._accounts.get(account_id) if type(account_id) is int else None
        if account is None:
            raise AccountNotFound(parameters={"accountId": account_id})
        return account

    def move(self, account: Account, amount: int, flow_id: str) -> Account:
        """Add ``amount`` cents (negative: take them), recording the flow it came from."""
        with self.lock:
            if account.balance + amount < 0:
                raise InsufficientFunds(parameters={"balance": account.balance, "amount": -amount})
            account.balance += amount
            account.history.append({"amount": amount, "flowId": flow_id})
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
        raise IdentityRequired()
    return str(user)


def _own_account(event: Event, account_id: int) -> Account:
    account = _store().get(account_id)
    if account.owner != _caller(event):
        raise NotAccountOwner()
    return account


def _open(event: Event, data: dict[str, Any]) -> Account:
    origin = str(event.metadata.get("origin", "unknown"))
    account = _store().open(_caller(event), data["currency"].upper(), origin, data.get("nickname"))
    if data.get("initialDeposit"):
        with _store().lock:
            account.balance += data["initialDeposit"]
    return account


@events.handler(
    "account:open",
    1,
    input=OpenAccountSchema,
    output=AccountSchema,
    example=({"currency": "BRL"}, ACCOUNT_EXAMPLE),
    errors=[IdentityRequired],
    deprecated="use version 2",
)
def open_account(event: Event, data: dict[str, Any]) -> Account:
    """Open an account for the caller (``identity.userId``).

    ``metadata.origin`` is recorded on the account.
    """
    return _open(event, data)


@events.handler(
    "account:open",
    2,
    input=OpenAccountV2Schema,
    output=AccountSchema,
    example=(
        {"currency": "USD", "nickname": "travel", "initialDeposit": 5000},
        {**ACCOUNT_EXAMPLE, "currency": "USD", "nickname": "travel", "balance": 5000},
    ),
    errors=[IdentityRequired],
)
def open_account_v2(event: Event, data: dict[str, Any]) -> Account:
    """Open an account, with a nickname and an initial deposit (cents)."""
    return _open(event, data)


@events.handler(
    "account:get",
    1,
    input=AccountRefSchema,
    output=AccountSchema,
    example=({"accountId": 1}, ACCOUNT_EXAMPLE),
    errors=OWN_ACCOUNT_ERRORS,
)
def get_account(event: Event, data: dict[str, Any]) -> Account:
    """The caller's account; ``notFound`` if there is none, ``forbidden`` if it is
    someone else's.
    """
    return _own_account(event, data["accountId"])


@events.handler("account:list", 1, output=AccountSchema(many=True), errors=[IdentityRequired])
def list_accounts(event: Event) -> list[Account]:
    """Every account of the caller."""
    return _store().owned_by(_caller(event))


@events.handler(
    "account:deposit",
    1,
    input=MovementSchema,
    output=AccountSchema,
    example=({"accountId": 1, "amount": 1000}, {**ACCOUNT_EXAMPLE, "balance": 1000}),
    errors=OWN_ACCOUNT_ERRORS,
)
def deposit(event: Event, data: dict[str, Any]) -> Account:
    """Add ``amount`` cents to the account.

    Subscribers of the owner (see ``notifications:subscribe``) are pushed
    ``account:balance:changed``, from whichever server process they are connected to.
    The deposit stands even when that push fails (the message queue is down): the
    failure is logged, and subscribers see the balance on their next read.
    """
    account = _own_account(event, data["accountId"])
    _store().move(account, data["amount"], event.flow_id)
    change = {"accountId": account.id, "balance": account.balance}
    notice = Event.new("account:balance:changed", 1, change, flow_id=event.flow_id)
    try:
        events.push(notice, to=f"user:{account.owner}")
    except PushFailed as error:
        current_app.logger.warning(
            "balance change of account %r not pushed: %s", account.id, error
        )
    return account


@events.handler(
    "account:withdraw",
    1,
    input=MovementSchema,
    output=AccountSchema,
    example=({"accountId": 1, "amount": 300}, {**ACCOUNT_EXAMPLE, "balance": 700}),
    errors=[*OWN_ACCOUNT_ERRORS, InsufficientFunds],
)
def withdraw(event: Event, data: dict[str, Any]) -> Account:
    """Take ``amount`` cents from the account; ``unprocessable`` if funds are short."""
    account = _own_account(event, data["accountId"])
    return _store().move(account, -data["amount"], event.flow_id)


@events.handler("account:statement", 1, input=AccountRefSchema, errors=OWN_ACCOUNT_ERRORS)
def statement(event: Event, data: dict[str, Any]) -> Event:
    """Statements moved to the reports service: answers a redirect to it."""
    account = _own_account(event, data["accountId"])
    return redirect_event(
        event, "https://reports.example.com/statements", {"accountId": account.id}
    )


@events.handler("notifications:subscribe", 1, errors=[SocketIOOnly, IdentityRequired])
def subscribe(event: Event) -> dict[str, str]:
    """Over Socket.IO: receive the caller's notifications (``account:balance:changed``)
    on this connection, pushed as ``event``.
    """
    handling = current_handling()
    if handling is None or handling.transport != "socketio":
        raise SocketIOOnly()
    room = f"user:{_caller(event)}"
    join_room(room)
    return {"room": room, "sid": request.sid}


@events.handler(
    "notifications:ping",
    1,
    input=PingSchema,
    example=({"to": "user:7"}, None),
    errors=[PongNotPushed],
)
def ping(event: Event, data: dict[str, Any]) -> dict[str, str]:
    """Push ``notifications:pong`` to ``to``: a connection's sid, or a room such as
    ``user:7`` (a demonstration of ``events.push``); ``<name>:error`` with code
    ``PUSH_FAILED`` when the message queue did not take it.
    """
    pong = Event.new("notifications:pong", 1, {"from": event.id}, flow_id=event.flow_id)
    try:
        events.push(pong, to=data["to"])
    except PushFailed as error:
        raise PongNotPushed() from error
    return {"pushed": data["to"]}


@events.handler(
    "rates:convert",
    1,
    input=ConvertSchema,
    example=({"amount": 1000, "to": "USD"}, {"amount": 180, "currency": "USD"}),
    errors=[RatesUnavailable, UnknownCurrency],
)
def convert(event: Event, data: dict[str, Any]) -> dict[str, Any]:
    """Convert cents from BRL, with the rates of the rates service (``RATES_SERVICE_URL``;
    this service itself by default), asked with the events client: the call carries
    this event's flowId on.
    """
    answer = _rates_client().send("rates:get", 1, {})
    if not answer.is_success:
        raise RatesUnavailable(parameters={"answer": answer.name})
    rate = answer.payload.get(data["to"])
    if rate is None:
        raise UnknownCurrency()
    return {
        "amount": round(data["amount"] * rate),
        "currency": data["to"],
        "ratesFlowId": answer.flow_id,
    }


_clients: dict[str, EventsClient] = {}
_clients_lock = threading.Lock()


def _rates_client() -> EventsClient:
    """One pooled client per rates service URL."""
    url = current_app.config.get("RATES_SERVICE_URL") or request.host_url + "events"
    with _clients_lock:
        if url not in _clients:
            _clients[url] = EventsClient(url, timeout=5)
        return _clients[url]


@events.handler("rates:get", 1, example=({}, {"BRL": 1.0, "USD": 0.18, "EUR": 0.17}))
async def exchange_rates(event: Event) -> dict[str, float]:
    """Exchange rates from BRL (an ``async def`` handler: it awaits a slow source)."""
    await asyncio.sleep(0.01)  # stands for an HTTP call to a rates provider
    return {"BRL": 1.0, "USD": 0.18, "EUR": 0.17}
