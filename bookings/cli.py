"""`flask --app wsgi bookings check`: compare every bucket with the bookings holding it, and look
for bookings in states no transition can produce."""

import click
from flask.cli import AppGroup, ScriptInfo

from app.extensions import db
from bookings.services import impossible_states, ledger_mismatches, state_checks

group = AppGroup("bookings", help="The capacity engine.")


@group.command("check")
def check():
    """Exit 1 if any bucket's taken count differs from its bookings, or any booking is in an
    impossible state (prints them), including those the services' own checks report."""
    rows = ledger_mismatches(db.session)
    for bucket_id, taken, held in rows:
        click.echo(f"bucket {bucket_id}: taken {taken}, held by bookings {held}")
    # The app this command runs in, from click's context (as Flask's own `with_appcontext`
    # finds it): the engine reads no Flask globals.
    app = click.get_current_context().ensure_object(ScriptInfo).load_app()
    states = impossible_states(db.session, state_checks(app))
    for booking_id, problem in states:
        click.echo(f"booking {booking_id}: {problem}")
    if rows or states:
        raise SystemExit(1)
    click.echo("ledger balances; no booking in an impossible state")


def init_app(app) -> None:
    app.cli.add_command(group)
