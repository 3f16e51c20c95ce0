"""The SMS gateway's operations: `send` a text message (delivered after the sender's unit of
work commits), `deliver` one queued message (also what a dispatcher calls), and verification
codes: `issue_code` and `check_code`. Each takes a session and an `SmsSettings`
(`app.sms.settings.settings_for(app)` in a view or command)."""

from app.sms.services.codes import CODE_KIND, TooManyCodes, check_code, issue_code
from app.sms.services.outbox import deliver, recent, send

__all__ = [
    "CODE_KIND",
    "TooManyCodes",
    "check_code",
    "deliver",
    "issue_code",
    "recent",
    "send",
]
