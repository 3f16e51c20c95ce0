"""What the sign-in pages say and offer (issue 12's walk-through): the way to card sign-in and
the card's words for it, what a card-only resident is told after signing in and on the closing
page, titles and buttons that agree, Chinese punctuation around links, and a new staff code."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from app.accounts.models import DisplayMode
from app.desk.services import DeskSettings
from app.desk.services import residents as desk
from app.sms.models import SmsMessage
from tests.conftest import PASSWORD, submit

CARD_LINK = "用登录卡登录"


def card_resident(app, session, make_user):
    """A resident the desk registered with a card only (no phone, no password), and the code."""
    clerk = make_user("service_desk", locale="en")
    return desk.register_in_person(
        session,
        clerk,
        name="王阿婆",
        phone=None,
        display_mode=DisplayMode.ELDERLY,
        settings=DeskSettings.from_config(app.config),
    )


def test_the_sign_in_pages_lead_to_card_sign_in_in_the_cards_words(app, client, session):
    for path in ("/login", "/login?with=password", "/register"):
        html = client.get(path).get_data(as_text=True)
        assert 'href="/card-signin"' in html and CARD_LINK in html, path
    with app.test_request_context("/"):
        card = render_template(
            "desk/card.html",
            resident=type("R", (), {"name": "王阿婆", "username": "80000001", "id": 1})(),
            code="12345678",
            portal_address="",
            expires_at=None,
        )
    assert f"“{CARD_LINK}”" in card  # the words of the link, exactly


def test_a_card_only_resident_is_told_how_to_sign_in_next_time_and_who_closes(
    app, client, session, make_user
):
    resident, code = card_resident(app, session, make_user)
    signed_in = submit(client, "/card-signin", {"account": resident.username, "code": code})
    home = client.get(signed_in.headers["Location"]).get_data(as_text=True)
    assert "领一张新卡" in home and "添加手机号" in home
    closing = client.get("/account/close").get_data(as_text=True)
    assert "不能在网上注销" in closing and app.config["PORTAL_HOTLINE"] in closing
    assert 'name="password"' not in closing and 'name="code"' not in closing
    profile = client.get("/profile").get_data(as_text=True)
    assert "添加手机号" in profile and "更改手机号" not in profile
    password = client.get("/profile/password").get_data(as_text=True)
    assert "修改密码" not in password and password.count("设置密码") >= 3  # title, h1, button


def test_chinese_pages_punctuate_around_links_in_full_width(app, client, make_user):
    assert "隐私政策</a>。" in client.get("/register").get_data(as_text=True)
    privacy = client.get("/privacy").get_data(as_text=True)
    assert "我的数据</a>。" in privacy and "注销我的账号</a>。" in privacy
    assert "</a>." not in privacy
    user = make_user(phone="13900001141")
    from tests.conftest import login, sms_code

    login(client, user.phone)
    submit(client, "/profile/phone", {"phone": "13900001142"})
    submit(client, "/profile/phone/confirm", {"code": sms_code("13900001142")})
    assert "（已通过短信验证）" in client.get("/profile").get_data(as_text=True)


def test_the_staff_code_page_sends_a_new_code(app, session, make_user):
    app.config.update(SIGNIN_SECOND_FACTOR_ROLES="venue_admin", SMS_CODE_INTERVAL_SECONDS=0)
    app.extensions.pop("signin_settings", None)
    app.extensions.pop("sms_settings", None)
    admin = make_user("venue_admin", phone="13800001041")
    client = app.test_client()
    submit(client, "/login", {"login": admin.username, "password": PASSWORD})
    page = client.get("/login/verify").get_data(as_text=True)
    assert 'value="send_code"' in page
    sent = submit(client, "/login/verify", {"action": "send_code"})
    assert sent.headers["Location"] == "/login/verify"
    session.commit()
    texts = session.scalars(select(SmsMessage.id).where(SmsMessage.phone == admin.phone)).all()
    assert len(texts) == 2
