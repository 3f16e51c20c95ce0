"""The in-app inbox (收件箱), which keeps every message, and the outbox that takes messages
further by SMS, e-mail and Web Push (`flask --app wsgi deliver`)."""


def init_app(app) -> None:
    from app.notifications import pwa
    from app.notifications.cli import deliver

    app.cli.add_command(deliver)
    pwa.init_app(app)  # Web Push and the installable web app (push-pwa, issue 13)
    _init_email(app)


def _init_email(app) -> None:
    """The e-mail channel, the person's notification settings pages (/profile/notifications,
    /profile/email), the limit on confirmation mails, and the address and choices in "my
    data" and account deletion (email-prefs)."""
    from app.notifications.channels import register
    from app.notifications.email import channel_for
    from app.notifications.models import Channel
    from app.notifications.preferences import erase_personal_data, export_personal_data
    from app.notifications.views import settings_bp
    from app.ratelimit import limit_endpoints
    from app.registry import register_personal_data

    register(app, Channel.EMAIL, channel_for)
    app.register_blueprint(settings_bp)
    register_personal_data(app, "notification_settings", export_personal_data, erase_personal_data)
    limit_endpoints(
        app,
        "EMAIL_CONFIRMATIONS_LIMIT",
        "email-confirm",
        ["notification_settings.email", "notification_settings.resend_email"],
        methods=["POST"],
    )
