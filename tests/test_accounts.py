import pytest
from sqlalchemy import select

from app.accounts import services
from app.accounts.models import DisplayMode, Role, User
from app.errors import DomainError
from tests.conftest import PASSWORD, login, register_through_pages, sms_code, submit


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("13912345678", "13912345678"),
        ("139 1234 5678", "13912345678"),
        ("+86 139-1234-5678", "13912345678"),
        ("１３９１２３４５６７８", "13912345678"),  # full-width digits from a Chinese IME
    ],
)
def test_phone_numbers_are_normalised(raw, expected):
    assert services.normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "12345", "1391234567", "02164123456x", "+1 415 555 0100"])
def test_bad_phone_numbers_are_refused(raw):
    with pytest.raises(DomainError) as info:
        services.normalize_phone(raw)
    assert info.value.field == "phone"


def test_mask_phone():
    assert services.mask_phone("13912345678") == "139****5678"
    assert services.mask_phone(None) == ""


def test_register_logs_in_and_stores_a_hash(client, session):
    response = register_through_pages(client, "13900007777", "王阿姨", password=PASSWORD)
    assert response.status_code == 302
    user = session.scalar(select(User).where(User.phone == "13900007777"))
    assert user.name == "王阿姨"
    assert user.password_hash != PASSWORD and user.check_password(PASSWORD)
    assert user.has_role(Role.RESIDENT)
    page = client.get("/").get_data(as_text=True)
    assert "王阿姨" in page


def test_register_errors_keep_answers_and_title(client, session):
    assert submit(client, "/register", {"phone": "13900008888"}).status_code == 302
    wrong = f"{(int(sms_code('13900008888')) + 1) % 10**6:06d}"
    response = submit(
        client, "/register/details", {"code": wrong, "name": "李先生", "consent": "y"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>错误：" in html
    assert 'href="#code"' in html  # the error summary links to the field
    assert 'value="李先生"' in html  # answers are kept
    assert session.scalar(select(User).where(User.phone == "13900008888")) is None


def test_register_refuses_short_password_and_mismatch(client, session):
    assert submit(client, "/register", {"phone": "13900006666"}).status_code == 302
    html = submit(
        client,
        "/register/details",
        {"code": "123456", "name": "x", "password": "short", "confirm": "other", "consent": "y"},
    ).get_data(as_text=True)
    assert "两次输入的密码不一致" in html
    assert session.scalar(select(User).where(User.phone == "13900006666")) is None


def test_login_with_phone_or_username_and_logout(client, make_user):
    resident = make_user(phone="13900001234")
    staff = make_user("administrator")
    login(client, "139-0000-1234")
    assert resident.name in client.get("/").get_data(as_text=True)
    response = submit(client, "/logout", {}, form_url="/")
    assert response.status_code == 302
    assert "登录" in client.get("/").get_data(as_text=True)
    login(client, staff.username)


def test_wrong_password_is_refused_plainly(client, make_user):
    make_user(phone="13900001235")
    response = submit(client, "/login", {"login": "13900001235", "password": "wrong-password"})
    assert response.status_code == 200
    assert "手机号、用户名或密码不正确" in response.get_data(as_text=True)


def test_login_locks_out_after_repeated_failures_and_says_until_when(client, make_user):
    make_user(phone="13900001236")
    for _ in range(5):
        assert (
            submit(client, "/login", {"login": "13900001236", "password": "nope-nope"}).status_code
            == 200
        )
    response = submit(client, "/login", {"login": "13900001236", "password": PASSWORD})
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "登录失败次数太多" in html and "分钟" in html
    # Another account from the same address is not locked by this one's failures.
    other = make_user(phone="13900001237")
    login(client, other.phone)


def test_successful_logins_do_not_count_towards_lockout(client, make_user):
    user = make_user(phone="13900001238")
    for _ in range(7):
        login(client, user.phone)
        submit(client, "/logout", {}, form_url="/")


def test_profile_edit_sets_home_language_and_mode(client, make_user, session, places):
    user = make_user(phone="13900001239")
    login(client, user.phone)
    estate = places["estates"][1]
    response = submit(
        client,
        "/profile",
        {
            "name": "新名字",
            "locale": "en",
            "display_mode": "elderly",
            "home_estate_id": str(estate.id),
            "home_building": "5",
            "home_unit": "1",
            "home_room": "502",
        },
    )
    assert response.status_code == 302
    session.refresh(user)
    assert (user.name, user.locale, user.display_mode) == ("新名字", "en", DisplayMode.ELDERLY)
    assert (user.home_estate_id, user.home_building, user.home_room) == (estate.id, "5", "502")
    page = client.get("/profile").get_data(as_text=True)
    assert 'class="mode-elderly"' in page and 'lang="en"' in page
    assert "Qibao New Village" in page


def test_profile_no_longer_changes_the_number(client, make_user, session):
    """The number changes only through a code sent to the new one (tests/test_signin.py): a
    "phone" sent with the profile form is ignored."""
    make_user(phone="13900001240")
    user = make_user(phone="13900001241")
    login(client, user.phone)
    response = submit(
        client,
        "/profile",
        {
            "name": "A",
            "phone": "13900001240",
            "locale": "zh_CN",
            "display_mode": "standard",
            "home_estate_id": "",
        },
    )
    assert response.status_code == 302
    session.refresh(user)
    assert (user.name, user.phone) == ("A", "13900001241")


def test_profile_requires_sign_in(client):
    response = client.get("/profile")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_open_redirect_after_login_is_refused(client, make_user):
    user = make_user(phone="13900001242")
    token_page = "/login?next=https://evil.example/"
    response = submit(
        client, token_page, {"login": user.phone, "password": PASSWORD}, form_url="/login"
    )
    assert response.headers["Location"] == "/"


def test_account_services_commit_alone_and_join_a_callers_unit(session, places):
    """Each writing service is a unit of work: called alone it has committed when it returns;
    called inside another unit it commits or rolls back with it."""
    from app.accounts.models import ApiToken
    from app.db import unit_of_work
    from app.places.services import current_claim

    user = services.register_resident(session, phone="13911112222", name="甲", password=PASSWORD)
    services.update_profile(
        session,
        user,
        name="甲二",
        locale="en",
        display_mode=DisplayMode.ELDERLY,
        home_estate_id=places["estates"][0].id,
        home_building="1",
        home_unit="",
        home_room="101",
    )
    session.rollback()  # a rollback after the services cannot undo them
    assert (user.name, user.locale, user.display_mode) == ("甲二", "en", DisplayMode.ELDERLY)
    assert current_claim(session, user) is not None
    with pytest.raises(RuntimeError), unit_of_work(session):
        services.register_resident(session, phone="13911113333", name="乙", password=PASSWORD)
        services.issue_token(session, user, "joined")
        raise RuntimeError("a later step of the same operation failed")
    assert services.find_by_login(session, "13911113333") is None
    assert session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id)) is None


def test_an_api_token_use_is_written_down_at_most_once_a_minute(session, make_user):
    from datetime import timedelta

    from sqlalchemy import inspect

    from app.accounts.models import ApiToken
    from app.db import utcnow

    user = make_user()
    token = services.issue_token(session, user, "t")
    now = utcnow()
    assert services.authenticate_token(session, token, now) == user
    assert not inspect(user).expired  # the request goes on with the user it loaded
    session.rollback()  # written in its own unit, already committed
    row = session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row.last_used_at == now
    services.authenticate_token(session, token, now + timedelta(seconds=30))
    session.rollback()
    assert row.last_used_at == now  # within the minute: no write
    services.authenticate_token(session, token, now + timedelta(minutes=2))
    session.rollback()
    assert row.last_used_at == now + timedelta(minutes=2)
    assert services.authenticate_token(session, "cp_not-a-token") is None
    user.active = False
    session.commit()
    assert services.authenticate_token(session, token) is None


def test_sign_in_keeps_a_visitors_choices_only_over_the_accounts_defaults(session, make_user):
    chose = make_user(locale="en", display_mode=DisplayMode.LARGE_TEXT)
    services.adopt_visitor_choices(session, chose, locale="zh_CN", display_mode=DisplayMode.ELDERLY)
    assert (chose.locale, chose.display_mode) == ("en", DisplayMode.LARGE_TEXT)
    fresh = make_user()
    services.adopt_visitor_choices(session, fresh, locale=None, display_mode=DisplayMode.ELDERLY)
    session.rollback()  # saved by the service
    assert (fresh.locale, fresh.display_mode) == ("zh_CN", DisplayMode.ELDERLY)
