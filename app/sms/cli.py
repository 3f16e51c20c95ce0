"""`flask --app wsgi messages list [--to PHONE]`: the text messages in the outbox, newest first,
the notifications sent by SMS among them (repair alerts, waitlist offers). With the development
outbox as provider this is where the codes are read (in full)."""

from __future__ import annotations

import click
from flask import current_app

from app.accounts.services import normalize_phone
from app.clock import local
from app.errors import DomainError
from app.extensions import db
from app.sms.listing import all_sms


@click.group("messages")
def messages_group():
    """Text messages (SMS) the portal sent or, in development, kept in its outbox."""


@messages_group.command("list")
@click.option("--to", "phone", default=None, help="Only messages to this mobile number.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def list_messages(phone, limit):
    """The newest messages first: time (Asia/Shanghai), number, kind, status and text."""
    if phone:
        try:
            phone = normalize_phone(phone)
        except DomainError as error:
            raise click.BadParameter(str(error), param_hint="--to") from None
    messages = all_sms(db.session, current_app, phone=phone, limit=limit)
    if not messages:
        click.echo("no messages")
        return
    for message in messages:
        line = (
            f"{local(message.created_at):%Y-%m-%d %H:%M:%S}  {message.phone}  {message.kind}  "
            f"{message.status}  {message.text}"
        )
        if message.error:
            line += f"  [error: {message.error}]"
        click.echo(line)
