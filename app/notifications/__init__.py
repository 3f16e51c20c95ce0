"""The in-app inbox (站内信), which keeps every message, and the outbox that takes messages
further by SMS, e-mail and Web Push (`flask --app wsgi deliver`)."""


def init_app(app) -> None:
    from app.notifications import pwa
    from app.notifications.cli import deliver

    app.cli.add_command(deliver)
    pwa.init_app(app)  # Web Push and the installable web app (push-pwa, issue 13)
