"""A message reads in its reader's language, whoever wrote it: names and date-times stored as
`localized(...)` / `when(...)` (app/notifications/params.py) are rendered at read time, on the
inbox page and in the text the SMS channel sends."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask_babel import force_locale
from sqlalchemy import select

from app.db import unit_of_work, utcnow
from app.i18n import N_
from app.notifications.channels import register
from app.notifications.dispatch import Dispatcher
from app.notifications.models import Notification
from app.notifications.params import localized, render_params, when
from app.notifications.services import notify
from app.sms.channel import channel_for
from tests.conftest import login
from tests.test_delivery import Recording

STARTS = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 9:00 in Shanghai
UNTIL = datetime(2026, 11, 30, 15, 23, tzinfo=UTC)  # 23:23 in Shanghai

# A 12-hour time ("9:00 AM", "11:23\u202fPM"); a bare "AM" may be part of a CSRF token.
TWELVE_HOUR = re.compile(r"\d[\s\u202f]?[AP]M\b")


def offer_written_in(session, locale: str, reader):
    """The waitlist offer as a resident cancelling in `locale` writes it for `reader`."""
    with force_locale(locale), unit_of_work(session):
        return notify(
            session,
            reader.id,
            kind="venue.offer",
            subject=N_("A place is free for you at %(venue)s"),
            body=N_(
                "%(when)s, %(places)s place(s). Accept by %(until)s or it goes to the next person."
            ),
            params={
                "venue": localized("闵行体育馆", "Minhang Sports Hall"),
                "places": 1,
                "when": when(STARTS),
                "until": when(UNTIL),
                "minutes": 30,
                "until_hm": "23:23",
                "slot_zh": "12月2日 09:00",  # the venue.offer SMS names the slot
            },
            link="/bookings/B1",
        )


def test_params_render_in_the_readers_locale_and_old_plain_values_pass(app):
    params = {"venue": localized("闵行体育馆", "Minhang"), "at": when(STARTS, "time"), "n": 2}
    with app.app_context():
        zh, en = render_params(params, "zh_CN"), render_params(params, "en")
        assert render_params({"venue": "旧的"}, "en") == {"venue": "旧的"}
    assert zh["venue"] == "闵行体育馆" and en["venue"] == "Minhang" and zh["n"] == en["n"] == 2
    assert en["at"] == zh["at"] == "09:00"  # one 24-hour clock in both languages


def test_a_message_written_in_english_reads_in_chinese_and_vice_versa(
    app, client, session, make_user
):
    chinese = make_user(phone_verified_at=utcnow())
    english = make_user(phone_verified_at=utcnow(), locale="en")
    to_chinese = offer_written_in(session, "en", chinese)
    to_english = offer_written_in(session, "zh_CN", english)

    login(client, chinese.phone)
    page = client.get(f"/inbox/{to_chinese.id}").get_data(as_text=True)
    assert "闵行体育馆" in page and "12月2日（周三）09:00" in page and "23:23" in page
    assert "Minhang" not in page and not TWELVE_HOUR.search(page)
    other = app.test_client()
    login(other, english.phone)
    page = other.get(f"/inbox/{to_english.id}").get_data(as_text=True)
    assert "Minhang Sports Hall" in page and "闵行体育馆" not in page
    assert "Wed 2 Dec" in page and "09:00" in page and "23:23" in page
    assert not TWELVE_HOUR.search(page)

    provider = Recording()
    register(app, "push", lambda _app: provider)
    register(app, "email", lambda _app: provider)
    sms = channel_for(app)
    texts = []

    class Sms(Recording):
        def deliver(self, message):
            texts.append((message.address, sms.text_of(message), message.subject))
            return "sms-1"

    register(app, "sms", lambda _app: Sms())
    dispatcher = Dispatcher(app, session)
    try:
        dispatcher.run(once=True)
    finally:
        dispatcher.close()
    by_phone = {address: (text, subject) for address, text, subject in texts}
    text, subject = by_phone[chinese.phone]
    assert text.startswith("【候补】闵行体育馆 12月2日 09:00有1个位置") and "闵行体育馆" in subject
    text, subject = by_phone[english.phone]
    assert subject == "A place is free for you at Minhang Sports Hall"


def test_a_booking_message_names_the_venue_in_the_readers_language(
    app, client, session, make_venue, make_user
):
    """The booking's confirmation is stored with both names: an English reader's inbox names
    "Test Museum", not 测试博物馆, and the subject is one piece of text (a span inside the
    link: as the link's flex items, a Chinese name marked lang=zh-CN stood as its own column)."""
    from tests.conftest import slot_at
    from venues import current_settings
    from venues.services.booking import book_general

    reader = make_user(phone_verified_at=utcnow(), locale="en")
    slot = slot_at(session, make_venue().spaces[0], 1, 10)
    book_general(session, reader, reader, slot.id, 2, settings=current_settings())
    note = session.scalars(select(Notification).where(Notification.user_id == reader.id)).one()
    with app.app_context():
        params = render_params(note.params, "zh_CN")
    assert params["venue"] == "测试博物馆" and "12月" in params["when"]
    session.commit()
    login(client, reader.phone)
    page = client.get("/inbox").get_data(as_text=True)
    assert '<span class="message-subject">' in page
    assert "Test Museum is confirmed" in page and "测试博物馆" not in page
