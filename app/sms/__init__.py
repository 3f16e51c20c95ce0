"""The SMS gateway: an outbox of text messages written in the sending action's unit of work and
delivered after it commits, through a provider (the development outbox, which sends nothing, or
Tencent Cloud SMS); and the verification codes that registration, sign-in, password reset,
phone changes and staff second factors send by SMS (app.sms.services)."""

from __future__ import annotations


def init_app(app) -> None:
    from app.notifications.channels import register
    from app.notifications.models import Channel
    from app.registry import register_personal_data, register_sweeper
    from app.sms import (
        models,  # noqa: F401  (the tables, for the ORM and Alembic)
        personal_data,
    )
    from app.sms.channel import channel_for
    from app.sms.cli import messages_group
    from app.sms.services.outbox import purge
    from app.sms.settings import dev_outbox_enabled, provider_name, settings_for
    from app.sms.views import bp

    provider_name(app.config)  # an unknown SMS_PROVIDER stops the app here, not at a send
    register(app, Channel.SMS, channel_for)
    app.register_blueprint(bp)
    from app.notifications.webhooks import bp as hooks

    app.register_blueprint(hooks)  # the provider's replies and receipts, signed
    app.cli.add_command(messages_group)
    register_sweeper(app, lambda session: purge(session, settings_for(app)))
    register_personal_data(app, "sms", personal_data.export, personal_data.erase)
    # The footer links the outbox page in development only (templates/frame/footer.html).
    app.jinja_env.globals["sms_dev_outbox"] = dev_outbox_enabled(app.config)
