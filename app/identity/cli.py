"""`flask --app wsgi identity rekey`: real names sealed again under the current key after a
key rotation (app.identity.services.rekey)."""

from __future__ import annotations

import click
from flask import current_app

from app.extensions import db
from app.identity import services


@click.group("identity")
def identity_cli():
    """Real names (实名) and 一网通办 identities."""


@identity_cli.command("rekey")
def rekey_command():
    """Seal every real name again under IDENTITY_ENCRYPTION_KEY (the keys it replaced in
    IDENTITY_OLD_ENCRYPTION_KEYS) and recompute its digest. Run it right after a rotation."""
    result = services.rekey(db.session, services.settings_from_config(current_app.config))
    click.echo(f"resealed {result['resealed']}, already current {result['current']}")
    for record_id in result["unreadable"]:
        click.echo(f"real name {record_id}: no configured key opens it", err=True)
    for record_id, other in result["conflicts"]:
        click.echo(
            f"real name {record_id}: its number is also on real name {other}; left under the "
            "old key (ask both account holders to a service desk)",
            err=True,
        )
    if result["unreadable"] or result["conflicts"]:
        raise SystemExit(1)
