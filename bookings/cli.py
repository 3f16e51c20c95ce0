"""`flask --app wsgi bookings check`: compare every bucket with the bookings holding it."""
import click
from flask.cli import AppGroup

from app.extensions import db
from bookings.services import ledger_mismatches

group = AppGroup("bookings", help="The capacity engine.")


@group.command("check")
def check():
    """Exit 1 if any bucket's taken count differs from its bookings (prints them)."""
    rows = ledger_mismatches(db.session)
    for bucket_id, taken, held in rows:
        click.echo(f"bucket {bucket_id}: taken {taken}, held by bookings {held}")
    if rows:
        raise SystemExit(1)
    click.echo("ledger balances")


def init_app(app) -> None:
    app.cli.add_command(group)
