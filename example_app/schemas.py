"""Payload schemas of the example's events (marshmallow, as in flask-smorest)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class AccountSchema(Schema):
    """An account as the service shows it."""

    id = fields.Integer(required=True, metadata={"description": "the account's id"})
    owner = fields.String(required=True, metadata={"description": "the owner's user id"})
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    balance = fields.Integer(required=True, metadata={"description": "in cents"})
    origin = fields.String(required=True, metadata={"description": "metadata.origin at opening"})
    nickname = fields.String(allow_none=True)


class OpenAccountSchema(Schema):
    """Version 1: just the currency."""

    currency = fields.String(load_default="BRL", validate=validate.Length(equal=3))


class OpenAccountV2Schema(OpenAccountSchema):
    """Version 2 adds a nickname, and an initial deposit."""

    nickname = fields.String(validate=validate.Length(min=1, max=40))
    initialDeposit = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0))


class AccountRefSchema(Schema):
    """Which account."""

    accountId = fields.Integer(required=True, strict=True)


class MovementSchema(AccountRefSchema):
    """An amount of cents to move in or out of an account."""

    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class PingSchema(Schema):
    """Where to push a test notification."""

    to = fields.String(required=True, metadata={"description": "a sid or a room"})


class ConvertSchema(Schema):
    """An amount of BRL cents to convert."""

    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    to = fields.String(required=True, validate=validate.Length(equal=3))


class BalanceChangedSchema(Schema):
    """A balance after a change (pushed as ``account:balance:changed``)."""

    accountId = fields.Integer(required=True)
    balance = fields.Integer(required=True, metadata={"description": "in cents"})


class PongSchema(Schema):
    """The answer to a ping (pushed as ``notifications:pong``)."""

    from_ = fields.String(
        required=True, data_key="from", metadata={"description": "the ping's id"}
    )
