"""`flask --app wsgi deliver [--once]`: the dispatcher (app/notifications/dispatch.py)."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app

from app.extensions import db


@click.command("deliver")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
def deliver(once):
    """Send the messages waiting in the outbox by SMS, e-mail and push, with retries; run
    several on several nodes to share the work (each message is sent by one of them)."""
    from app.notifications.dispatch import Dispatcher

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())  # finish the round, record it, then exit
    dispatcher = Dispatcher(current_app._get_current_object(), db.session)
    try:
        totals = dispatcher.run(once=once, stop=stop)
    finally:
        dispatcher.close()
    for name, count in sorted(totals.items()):
        click.echo(f"{name}: {count}")
