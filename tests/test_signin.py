"""Registration and sign-in by SMS code, password sign-in in constant work, NIST passwords,
reset and change of password and number, the staff second factor, the privacy notice and the
footer's site identity (app/accounts/signin.py, passwords.py, views.py, security_views.py).

Codes are read from the SMS outbox table, as the person reads their phone: nothing is mocked."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from app.accounts import passwords, signin
from app.accounts.models import Role, User
from app.errors import DomainError
from app.sms.models import SmsMessage, VerificationCode
from tests.conftest import PASSWORD, csrf_token, login, sms_code, submit

NEW_PASSWORD = "kettle-morning-lantern"


def signed_in(client) -> bool:
    return client.get("/profile").status_code == 200


def messages_to(session, phone: str) -> list[str]:
    session.commit()
    return list(
        session.scalars(
            select(SmsMessage.kind).where(SmsMessage.phone == phone).order_by(SmsMessage.id)
        )
    )


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def use_settings(app, **config):
    """Change sign-in configuration for this app (its settings are built once and kept)."""
    app.config.update(config)
    app.extensions.pop("signin_settings", None)
    app.extensions.pop("sms_settings", None)


# --- registration -------------------------------------------------------------------------


def test_register_with_a_code_and_consent_to_the_privacy_notice(app, client, session):
    page = submit(client, "/register", {"phone": "139 0000 5555"})
    assert page.headers["Location"] == "/register/details"
    details = client.get("/register/details").get_data(as_text=True)
    assert "139****5555" in details and 'href="/privacy"' in details
    code = sms_code("13900005555")

    # Consent is required: the box starts unticked, and without it nothing happens (the code
    # keeps its tries: the answers are checked first).
    assert 'name="consent"' in details and "checked" not in re.search(
        r"<input[^>]*name=\"consent\"[^>]*>", details
    ).group(0)
    refused = submit(client, "/register/details", {"code": code, "name": "王阿姨"})
    assert refused.status_code == 200 and 'href="#consent"' in refused.get_data(as_text=True)
    assert session.scalar(select(User).where(User.phone == "13900005555")) is None

    done = submit(client, "/register/details", {"code": code, "name": "王阿姨", "consent": "y"})
    assert done.headers["Location"] == "/profile"
    user = session.scalar(select(User).where(User.phone == "13900005555"))
    assert user.name == "王阿姨" and user.has_role(Role.RESIDENT)
    assert user.phone_verified_at is not None and user.privacy_consented_at is not None
    assert user.privacy_notice_version == app.config["PRIVACY_NOTICE_VERSION"]
    assert not user.password_set  # a resident needs no password...
    assert signed_in(client)
    # ...and without one, password sign-in cannot succeed, whatever is tried.
    other = app.test_client()
    assert submit(other, "/login", {"login": "13900005555", "password": "x"}).status_code == 200


def test_registration_answers_the_same_whether_or_not_the_number_has_an_account(
    app, session, make_user
):
    holder = make_user(phone="13900004444")
    pages = {}
    for phone in ("13900004444", "13900004445"):
        client = app.test_client()
        first = submit(client, "/register", {"phone": phone})
        second = client.get(first.headers["Location"]).get_data(as_text=True)
        # The same page but for the masked number and the visitor's own CSRF token.
        second = re.sub(r'value="[^"]+"', "", second.replace(phone[:3] + "****" + phone[-4:], "#"))
        pages[phone] = (first.status_code, first.headers["Location"], second)
    assert pages["13900004444"] == pages["13900004445"]
    # The same rows and limits (a code each), but the holder is told to sign in, not sent a code.
    assert messages_to(session, "13900004444") == ["account_exists"]
    assert messages_to(session, "13900004445") == ["verification_code"]
    counts = dict(
        session.execute(
            select(VerificationCode.phone, func.count()).group_by(VerificationCode.phone)
        ).all()
    )
    assert counts == {"13900004444": 1, "13900004445": 1}
    assert session.get(User, holder.id).name == holder.name  # the account is untouched


# --- sign-in --------------------------------------------------------------------------------


def test_sign_in_with_a_code_is_the_default(app, client, session, make_user):
    user = make_user(phone="13900003333")
    assert user.phone_verified_at is None
    page = client.get("/login").get_data(as_text=True)
    assert 'name="phone"' in page and 'name="password"' not in page
    sent = submit(
        client, "/login/send-code?next=/inbox", {"phone": "13900003333"}, form_url="/login"
    )
    location = urlsplit(sent.headers["Location"])
    assert location.path == "/login/code" and parse_qs(location.query) == {"next": ["/inbox"]}
    code = sms_code("13900003333")
    wrong = submit(client, "/login/code", {"code": other_code(code)})
    assert wrong.status_code == 200 and not signed_in(client)
    right = submit(client, "/login/code?next=/inbox", {"code": code}, form_url="/login/code")
    assert right.headers["Location"] == "/inbox" and signed_in(client)
    session.refresh(user)
    assert user.phone_verified_at is not None  # the code proved the number

    # A number without an account gets the same answer and a code; only its holder, with the
    # code, learns that there is no account.
    visitor = app.test_client()
    sent = submit(visitor, "/login/send-code", {"phone": "13900003334"}, form_url="/login")
    assert sent.headers["Location"] == "/login/code"
    answer = submit(visitor, "/login/code", {"code": sms_code("13900003334")})
    assert answer.status_code == 200 and 'href="#code"' in answer.get_data(as_text=True)
    assert not signed_in(visitor)


def test_password_sign_in_checks_one_hash_whether_or_not_the_account_exists(
    app, client, session, make_user, monkeypatch
):
    user = make_user(phone="13900002222")
    make_user(phone="13900002223", active=False)
    calls = []
    real = passwords.check_password_hash
    monkeypatch.setattr(
        passwords, "check_password_hash", lambda *a: calls.append(a[0][:6]) or real(*a)
    )
    settings = signin.settings_of(app)
    for login_name in ("13900002222", "13900009999", "nobody", "13900002223"):
        calls.clear()
        assert signin.authenticate(session, login_name, "wrong-password-1", settings) is None
        assert len(calls) == 1, login_name
    calls.clear()
    assert signin.authenticate(session, "13900002222", PASSWORD, settings) == user
    assert len(calls) == 1
    # The same through the page, with the failed-attempt counting as before.
    for login_name in ("13900002222", "13900009999"):
        calls.clear()
        answer = submit(client, "/login", {"login": login_name, "password": "wrong-password-1"})
        assert answer.status_code == 200 and len(calls) == 1
    # Both paths used a hash of the configured method.
    assert calls[0] == app.config["PASSWORD_HASH_METHOD"][:6]


def test_an_old_hash_method_is_replaced_at_sign_in_and_old_passwords_still_work(
    app, client, session, make_user
):
    user = make_user(phone="13900002224")
    # A password that would be refused as new (it is on the list) and an older hash method:
    # the account still signs in with it, and its hash is brought up to the current method.
    user.password_hash = passwords.hash_password("password1", "pbkdf2:sha256:2000")
    session.commit()
    login(client, "13900002224", "password1")
    session.refresh(user)
    assert not passwords.needs_rehash(user.password_hash, app.config["PASSWORD_HASH_METHOD"])


# --- NIST SP 800-63B ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password, code",
    [
        ("seven77", "password_too_short"),
        ("x" * 129, "password_too_long"),
        ("password", "password_common"),
        ("PassWord1", "password_common"),  # case does not make it uncommon
        ("ｐａｓｓｗｏｒｄ", "password_common"),  # nor full-width letters from an IME
        ("woaini1314", "password_common"),  # the Chinese list
        ("zzzzzzzzzzzz", "password_common"),  # one character repeated
        ("13912345678", "password_is_login"),
        ("wang-xiaoming", "password_is_login"),
    ],
)
def test_new_passwords_are_refused_as_nist_says(password, code):
    with pytest.raises(DomainError) as refused:
        passwords.check_new_password(password, phone="13912345678", username="wang-xiaoming")
    assert (refused.value.code, refused.value.field) == (code, "password")


@pytest.mark.parametrize(
    "password",
    ["kettle-morning", "lowercaseonly", "12345-tea-cup", "四个汉字的密码句子", "a" * 60 + "bcde"],
)
def test_new_passwords_need_no_composition_rules(password):
    passwords.check_new_password(password, phone="13912345678", username="someone")
    assert len(passwords.common_passwords()) > 2000


@pytest.mark.parametrize(
    "password",
    ["password123", "Password2026!", "minhang2026", "abcd1234", "1q2w3e4r", "13141314"],
)
def test_passwords_built_on_a_common_word_a_run_or_the_portal_are_refused(app, password):
    """NIST's dictionary, sequential and context-specific words, with digits around them."""
    context = signin.settings_of(app).password_context
    with pytest.raises(DomainError) as refused:
        passwords.check_new_password(password, phone="13912345678", context=context)
    assert refused.value.code == "password_common"


def test_the_demo_password_still_signs_in_but_is_refused_as_a_new_one(app, session, make_user):
    user = make_user(phone="13900001131")
    user.password_hash = passwords.hash_password("minhang2026", app.config["PASSWORD_HASH_METHOD"])
    session.commit()
    login(app.test_client(), user.phone, "minhang2026")  # a hash set before the rule
    with pytest.raises(DomainError):
        signin.change_password(
            session,
            user,
            current_password="minhang2026",
            code=None,
            new_password="minhang2026",
            settings=signin.settings_of(app),
        )
    passwords.check_new_password(
        "kettle-morning-lantern", context=signin.settings_of(app).password_context
    )


# --- reset and change ------------------------------------------------------------------------


def test_a_reset_by_code_ends_every_session(app, session, make_user):
    user = make_user(phone="13900001111")
    elsewhere = app.test_client()
    login(elsewhere, "13900001111")
    assert signed_in(elsewhere)

    client = app.test_client()
    sent = submit(client, "/password/forgot", {"phone": "13900001111"})
    assert sent.headers["Location"] == "/password/reset"
    code = sms_code("13900001111")
    common = submit(
        client, "/password/reset", {"code": code, "password": "iloveyou", "confirm": "iloveyou"}
    )
    assert 'href="#password"' in common.get_data(as_text=True)  # refused before the code
    done = submit(
        client,
        "/password/reset",
        {"code": code, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert done.headers["Location"] == "/login?with=password"
    assert not signed_in(elsewhere)  # its cookie is dead
    assert (
        submit(app.test_client(), "/login", {"login": user.phone, "password": PASSWORD}).status_code
        == 200
    )
    login(app.test_client(), user.phone, NEW_PASSWORD)
    # A number without an account gets the same answer.
    other = submit(app.test_client(), "/password/forgot", {"phone": "13900001112"})
    assert other.headers["Location"] == "/password/reset"


def test_change_password_with_the_current_one_or_a_code(app, session, make_user):
    user = make_user(phone="13900001113")
    client, other = app.test_client(), app.test_client()
    login(client, user.phone)
    login(other, user.phone)
    wrong = submit(
        client,
        "/profile/password",
        {"current_password": "not-it-at-all", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert 'href="#current_password"' in wrong.get_data(as_text=True)
    done = submit(
        client,
        "/profile/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert done.headers["Location"] == "/profile"
    assert signed_in(client) and not signed_in(other)  # the other device is signed out

    # Forgot the current one: a code sent to the account's own number instead.
    sent = submit(client, "/profile/password", {"action": "send_code"})
    assert sent.headers["Location"] == "/profile/password"
    newer = "lantern-kettle-evening"
    done = submit(
        client,
        "/profile/password",
        {"code": sms_code(user.phone), "password": newer, "confirm": newer},
    )
    assert done.headers["Location"] == "/profile"
    login(app.test_client(), user.phone, newer)


def test_wrong_current_passwords_are_limited_per_account(app, client, make_user):
    """LOGIN_FAILURES_PER_ACCOUNT (5) wrong current passwords, then the change is paused."""
    user = make_user(phone="13900001122")
    login(client, user.phone)
    wrong = {"current_password": "not-it-at-all", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    for _ in range(5):
        assert submit(client, "/profile/password", wrong).status_code == 200
    right = {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert submit(client, "/profile/password", right).status_code == 429
    other = app.test_client()  # another account is not paused by this one's failures
    login(other, make_user(phone="13900001123").phone)
    assert submit(other, "/profile/password", right).status_code == 302


def test_a_new_number_is_confirmed_by_a_code_sent_to_it(app, client, session, make_user):
    make_user(phone="13900001115", name="别人的名字")
    user = make_user(phone="13900001114")
    login(client, user.phone)
    # The first step answers the same, and writes the same rows, for a taken and a free number.
    taken = submit(client, "/profile/phone", {"phone": "13900001115"})
    assert taken.headers["Location"] == "/profile/phone/confirm"
    assert messages_to(session, "13900001115") == ["verification_code"]
    # Only the code, proving the person holds that number, lets the next step say it is taken.
    refused = submit(client, "/profile/phone/confirm", {"code": sms_code("13900001115")})
    assert "属于另一个账号" in refused.get_data(as_text=True)
    assert "别人的名字" not in refused.get_data(as_text=True)
    sent = submit(client, "/profile/phone", {"phone": "13900001116"})
    assert sent.headers["Location"] == "/profile/phone/confirm"
    assert messages_to(session, "13900001116") == ["verification_code"]
    assert messages_to(session, "13900001114") == []  # the code went to the NEW number
    code = sms_code("13900001116")
    assert submit(client, "/profile/phone/confirm", {"code": other_code(code)}).status_code == 200
    session.refresh(user)
    assert user.phone == "13900001114"
    done = submit(client, "/profile/phone/confirm", {"code": code})
    assert done.headers["Location"] == "/profile"
    session.refresh(user)
    assert user.phone == "13900001116" and user.phone_verified_at is not None


# --- staff second factor ----------------------------------------------------------------------


def test_staff_second_factor_follows_the_configured_roles(app, session, make_user):
    # (Codes to one number without the usual minute between them: the test sends two at once.)
    use_settings(
        app,
        SIGNIN_SECOND_FACTOR_ROLES="venue_admin,district_supervisor",
        SMS_CODE_INTERVAL_SECONDS=0,
    )
    admin = make_user("venue_admin", phone="13800001001")
    client = app.test_client()
    answer = submit(client, "/login", {"login": admin.username, "password": PASSWORD})
    assert answer.headers["Location"] == "/login/verify" and not signed_in(client)
    page = client.get("/login/verify").get_data(as_text=True)
    assert "138****1001" in page
    code = sms_code("13800001001")
    assert submit(client, "/login/verify", {"code": other_code(code)}).status_code == 200
    assert not signed_in(client)
    assert submit(client, "/login/verify", {"code": code}).status_code == 302
    assert signed_in(client)

    # Not with a code alone.
    visitor = app.test_client()
    submit(visitor, "/login/send-code", {"phone": "13800001001"}, form_url="/login")
    refused = submit(visitor, "/login/code", {"code": sms_code("13800001001")})
    assert refused.status_code == 200 and not signed_in(visitor)
    # A staff account of such a role without a number is told to ask for one.
    supervisor = make_user("district_supervisor")
    html = submit(
        app.test_client(), "/login", {"login": supervisor.username, "password": PASSWORD}
    ).get_data(as_text=True)
    assert 'class="error-summary"' in html
    # Other roles and residents: the password alone.
    login(app.test_client(), make_user("administrator").username)
    login(app.test_client(), make_user(phone="13900001117").phone)


def test_second_factor_roles_from_configuration():
    from app.accounts.signin import STAFF_ROLES, second_factor_roles

    assert second_factor_roles({"TESTING": True}) == frozenset()
    assert second_factor_roles({}) == STAFF_ROLES and Role.RESIDENT not in STAFF_ROLES
    assert second_factor_roles({"SIGNIN_SECOND_FACTOR_ROLES": "all", "TESTING": True}) == (
        STAFF_ROLES
    )
    assert second_factor_roles({"SIGNIN_SECOND_FACTOR_ROLES": "none"}) == frozenset()
    assert second_factor_roles({"SIGNIN_SECOND_FACTOR_ROLES": "administrator, venue_staff"}) == {
        Role.ADMINISTRATOR,
        Role.VENUE_STAFF,
    }


def test_demo_staff_get_numbers_for_their_codes(session, make_user):
    from app.demo import give_staff_phones

    staff = [make_user("administrator"), make_user("venue_admin")]
    resident = make_user(phone="13900001118")
    give_staff_phones(session)
    numbers = [user.phone for user in staff]
    assert all(n.startswith("1380000") for n in numbers) and len(set(numbers)) == 2
    assert resident.phone == "13900001118"


# --- the household register trusts proven numbers only --------------------------------------


def test_the_household_register_trusts_only_numbers_proven_by_a_code(session, places, make_user):
    from app.db import utcnow
    from app.places import services as homes
    from app.places.models import ClaimStatus, Household, HouseholdContact

    estate = places["estates"][0]
    for room, phone in (("1201", "13900001119"), ("1202", "13900001120")):
        home = Household(estate_id=estate.id, building="12", unit="", room=room, registered=True)
        session.add(home)
        session.flush()
        session.add(HouseholdContact(household_id=home.id, phone=phone))
    typed = make_user(phone="13900001119")  # a number only typed in
    proven = make_user(phone="13900001120", phone_verified_at=utcnow())
    session.commit()
    for user, room in ((typed, "1201"), (proven, "1202")):
        homes.set_home(session, user, estate.id, "12", "", room, register_phone_match=True)
    session.commit()
    assert homes.current_claim(session, typed).status == ClaimStatus.PENDING
    assert homes.current_claim(session, proven).status == ClaimStatus.VERIFIED


# --- the privacy notice and the footer -------------------------------------------------------


def test_the_privacy_notice_and_the_footer(app, client):
    app.config.update(SITE_CODE="3101120001", SITE_ICP_RECORD="沪ICP备12345678号")
    html = client.get("/privacy").get_data(as_text=True)
    assert client.get("/privacy").status_code == 200
    assert str(app.config["PARKING_RETENTION_DAYS"]) in html
    assert app.config["PRIVACY_NOTICE_VERSION"] in html
    assert 'href="/account/my-data"' in html and 'href="/account/close"' in html
    from app.accounts.mydata import KEPT

    assert all(str(line) in html for line in KEPT)  # what stays after closing, anonymised
    home = client.get("/").get_data(as_text=True)
    assert 'href="/privacy"' in home
    assert "3101120001" in home and "沪ICP备12345678号" in home
    assert "主办单位" not in home and "公安备案" not in home  # not set: not shown
    assert 'href="/privacy"' in client.get("/register").get_data(as_text=True)


def test_a_csrf_token_is_needed_for_every_new_form(app, client):
    """CSRFProtect covers the new forms too: a POST without a token changes nothing."""
    for path in ("/register", "/login/send-code", "/password/forgot"):
        assert client.post(path, data={"phone": "13900001121"}).status_code == 400
    assert csrf_token(client, "/register")
