"""The SMS gateway: an outbox of text messages written in the sending action's unit of work and
delivered after it commits, through a provider (the development outbox, which sends nothing, or
Tencent Cloud SMS); and the verification codes that registration, sign-in, password reset,
phone changes and staff second factors send by SMS (app.sms.services)."""

from __future__ import annotations


def init_app(app) -> None:
    from app.sms import models  # noqa: F401  (the tables, for the ORM and Alembic)
