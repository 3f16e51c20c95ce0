"""The notification settings form (a checkbox per category and channel, quiet hours) and the
e-mail address form. Times are checked with the service's own rule (preferences.time_error),
so the page names both wrong fields at once and the service refuses the same answers."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import Length, ValidationError

from app.notifications.kinds import CATEGORIES, Category
from app.notifications.models import Channel
from app.notifications.preferences import MAX_EMAIL, time_error

CHANNEL_LABELS = {
    Channel.SMS: _l("SMS"),
    Channel.EMAIL: _l("E-mail"),
    Channel.PUSH: _l("Push notification"),
}


def field_name(category: Category, channel: Channel) -> str:
    return f"{category.value}_{channel.value}"


class NotificationSettingsForm(FlaskForm):
    quiet_hours = BooleanField(_l("Hold messages back during quiet hours"))
    quiet_from = StringField(
        _l("Quiet hours start"), description=_l("For example, 22:00"), validators=[Length(max=10)]
    )
    quiet_until = StringField(
        _l("Quiet hours end"), description=_l("For example, 07:00"), validators=[Length(max=10)]
    )

    def _check_time(self, field) -> None:
        if self.quiet_hours.data and (error := time_error(field.name, field.data)) is not None:
            raise ValidationError(str(error))

    def validate_quiet_from(self, field) -> None:
        self._check_time(field)

    def validate_quiet_until(self, field) -> None:
        self._check_time(field)

    def channel_field(self, category: Category, channel: Channel):
        return self[field_name(category, channel)]

    def chosen(self, categories) -> dict[Category, dict[Channel, bool]]:
        """The channels ticked for each of `categories` (those the page showed)."""
        return {
            category: {
                channel: bool(self.channel_field(category, channel).data) for channel in Channel
            }
            for category in categories
        }


for _category in CATEGORIES:
    for _channel in Channel:
        setattr(
            NotificationSettingsForm,
            field_name(_category, _channel),
            BooleanField(CHANNEL_LABELS[_channel]),
        )


class EmailForm(FlaskForm):
    email = StringField(
        _l("E-mail address"),
        description=_l(
            "We send a link to this address. Nothing else is e-mailed to it until you open "
            "the link. Leave it empty to stop e-mails."
        ),
        validators=[Length(max=MAX_EMAIL)],
    )
