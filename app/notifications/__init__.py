"""The in-app inbox (站内信), which keeps every message, and the outbox that takes messages
further by SMS, e-mail and Web Push (`flask --app wsgi deliver`)."""


def init_app(app) -> None:
    from app.notifications.cli import deliver

    app.cli.add_command(deliver)
