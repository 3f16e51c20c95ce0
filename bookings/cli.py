"""`flask --app wsgi bookings check`: compare every bucket with the bookings holding it, and look
for bookings in states no transition can produce."""

import click
from flask.cli import AppGroup

from app.extensions import db
from bookings.services import impossible_states, ledger_mismatches

group = AppGroup("bookings", help="The capacity engine.")


@group.command("check")
def check():
    """Exit 1 if any bucket's taken count differs from its bookings, or any booking is in an
    impossible state (prints them)."""
    rows = ledger_mismatches(db.session)
    for bucket_id, taken, held in rows:
        click.echo(f"bucket {bucket_id}: taken {taken}, held by bookings {held}")
    states = impossible_states(db.session)
    for booking_id, problem in states:
        click.echo(f"booking {booking_id}: {problem}")
    if rows or states:
        raise SystemExit(1)
    click.echo("ledger balances; no booking in an impossible state")


def init_app(app) -> None:
    app.cli.add_command(group)
