"""Real names (实名): the ID number's rules (GB 11643-1999), encryption at rest, one number per
account, masking, levels, the provider interface, and the resident's page. Both databases."""

from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale
from sqlalchemy import select, text

from tests.conftest import csrf_token, login

# Valid numbers (check characters computed with ISO 7064 MOD 11-2), one ending in X.
VALID = "310112198001010017"
VALID_X = "11010519491231002X"
OTHER = "310112198001010025"
TODAY = date(2026, 11, 30)


# --- the number's own rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, normalised",
    [
        (VALID, VALID),
        (VALID_X, VALID_X),
        ("11010519491231002x", VALID_X),  # a lower-case x
        ("３１０１１２ １９８００１０１ ００１７", VALID),  # full-width digits, spaces
        ("310112-19800101-0017", VALID),
        ("31011219800101005X", "31011219800101005X"),
    ],
)
def test_valid_numbers_are_normalised(raw, normalised):
    from app.identity import idnumber

    assert idnumber.check(raw, TODAY) == normalised


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("", "Enter your resident ID card number"),
        ("31011219800101001", "18 characters"),  # 17
        ("3101121980010100177", "18 characters"),  # 19
        ("3101121980010100X7", "18 characters"),  # X not last
        ("310112198001010018", "last character does not match"),  # check digit off by one
        ("310112198001010010", "last character does not match"),
        ("11010519491231002 1", "last character does not match"),  # 1 where X belongs
        ("310112198002300011", "not a real date"),  # 30 February
        ("310112198013010011", "not a real date"),  # month 13
        ("310112189912310011", "not a real date"),  # before 1900
        ("310112202712010011", "in the future"),
    ],
)
def test_invalid_numbers_are_refused_with_the_reason(raw, reason):
    from app.identity import idnumber

    with pytest.raises(idnumber.InvalidIdNumber) as refused:
        idnumber.check(raw, TODAY)
    assert reason in str(refused.value)
    assert refused.value.field == "id_number"


def test_a_birth_date_of_today_is_accepted_and_tomorrow_refused():
    from app.identity import idnumber

    first17 = "31011220261130001"
    number = first17 + idnumber.check_character(first17)
    assert idnumber.check(number, TODAY) == number
    with pytest.raises(idnumber.InvalidIdNumber, match="future"):
        idnumber.check(number, date(2026, 11, 29))


def test_masking_keeps_four_and_four():
    from app.identity import idnumber

    assert idnumber.mask(VALID_X) == "1101**********002X"
    assert idnumber.mask("") == ""


# --- encryption ---------------------------------------------------------------------------------


def test_sealed_values_open_only_for_their_row_and_field_and_key():
    from app.identity import crypto

    keys = crypto.keys_from_master(b"k" * 32)
    sealed = crypto.seal(keys, VALID, purpose="id_number", owner_id=7)
    assert VALID not in sealed and sealed.startswith(keys.key_id + ":")
    assert crypto.open_sealed(keys, sealed, purpose="id_number", owner_id=7) == VALID
    for purpose, owner in (("id_number", 8), ("name", 7)):  # moved to another row or column
        with pytest.raises(crypto.SealError):
            crypto.open_sealed(keys, sealed, purpose=purpose, owner_id=owner)
    with pytest.raises(crypto.SealError):
        crypto.open_sealed(
            crypto.keys_from_master(b"n" * 32), sealed, purpose="id_number", owner_id=7
        )
    # After a rotation, the old key still opens what it sealed.
    rotated = crypto.keys_from_master(b"n" * 32, previous=(b"k" * 32,))
    assert crypto.open_sealed(rotated, sealed, purpose="id_number", owner_id=7) == VALID
    assert not crypto.sealed_with_current_key(rotated, sealed)
    assert "k" * 8 not in repr(keys)  # no key in a log line


def test_keys_from_config_and_production_refuses_without_a_key():
    import base64

    from app.config import check_identity_key
    from app.identity import crypto

    good = base64.urlsafe_b64encode(b"x" * 32).decode()
    assert crypto.keys_from_config({"IDENTITY_ENCRYPTION_KEY": good}) == crypto.keys_from_master(
        b"x" * 32
    )
    dev = crypto.keys_from_config({"SECRET_KEY": "dev"})
    assert (
        dev
        == crypto.keys_from_config({"SECRET_KEY": "dev"})
        != crypto.keys_from_config({"SECRET_KEY": "other"})
    )
    for bad in (None, "", "too-short", base64.urlsafe_b64encode(b"x" * 16).decode()):
        with pytest.raises(RuntimeError, match="IDENTITY_ENCRYPTION_KEY"):
            check_identity_key({"IDENTITY_ENCRYPTION_KEY": bad})
    check_identity_key({"IDENTITY_ENCRYPTION_KEY": good})


# --- recording real names -----------------------------------------------------------------------


@pytest.fixture
def identity_settings(app):
    from app.identity.services import settings_from_config

    return settings_from_config(app.config)


def test_declared_number_is_encrypted_at_rest_and_unique_by_digest(
    app, session, make_user, identity_settings
):
    from app.identity import services
    from app.identity.models import RealNameLevel

    resident = make_user()
    record, result = services.declare_real_name(
        session, resident, " 王  小明 ", VALID_X, settings=identity_settings
    )
    assert result.level == RealNameLevel.SELF_DECLARED
    with force_locale("en"):
        assert "Nobody has compared" in str(result.message)
    session.commit()
    row = session.execute(text("SELECT * FROM real_name")).mappings().one()
    stored = " ".join(str(value) for value in row.values())
    assert VALID_X not in stored and "王" not in stored and "1231002" not in stored
    assert row["id_number_masked"] == "1101**********002X" and len(row["id_number_digest"]) == 64
    assert services.reveal(record, identity_settings) == ("王 小明", VALID_X)
    assert services.real_name_level(session, resident) == RealNameLevel.SELF_DECLARED
    assert services.has_real_name(session, resident)
    assert not services.has_real_name(session, resident, RealNameLevel.VERIFIED_IN_PERSON)

    # The audit log has the masked number only.
    from app.audit.models import AuditEntry

    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "real_name.self_declared"))
    assert entry.details["id_number"] == "1101**********002X"
    assert VALID_X not in str(entry.details)

    # Another account cannot declare the same number, however it is written.
    from app.errors import Conflict

    with pytest.raises(Conflict) as taken:
        services.declare_real_name(
            session, make_user(), "李四", "11010519491231002x", settings=identity_settings
        )
    assert taken.value.code == "id_number_taken"
    assert session.scalar(select(text("count(*)")).select_from(text("real_name"))) == 1


def test_the_unique_constraint_holds_without_the_check(app, session, make_user, identity_settings):
    """The database refuses a second row with the same digest even if the service's own look-up
    is skipped (two requests racing past it)."""
    from sqlalchemy.exc import IntegrityError

    from app.identity import crypto
    from app.identity.models import RealName, RealNameLevel

    digest = crypto.digest(identity_settings.keys, VALID)
    for user in (make_user(), make_user()):
        session.add(
            RealName(
                user_id=user.id,
                name_encrypted="x",
                id_number_encrypted="x",
                id_number_digest=digest,
                id_number_masked="3101**********0017",
                level=RealNameLevel.SELF_DECLARED,
            )
        )
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_levels_in_person_and_displacing_a_mere_declaration(
    app, session, make_user, identity_settings
):
    from app.errors import Conflict, DomainError
    from app.identity import services
    from app.identity.models import RealNameLevel
    from app.notifications.models import Notification

    squatter, owner, clerk = make_user(), make_user(), make_user("service_desk")
    services.declare_real_name(session, squatter, "张三", VALID, settings=identity_settings)
    session.commit()

    # A desk clerk who saw the owner's card: the number moves to the owner, the squatter is told.
    record = services.record_real_name(
        session,
        owner,
        "张三",
        VALID,
        level=RealNameLevel.VERIFIED_IN_PERSON,
        verified_by=clerk,
        settings=identity_settings,
    )
    session.commit()
    assert (record.level, record.verified_by_id) == (RealNameLevel.VERIFIED_IN_PERSON, clerk.id)
    assert record.verified_at is not None
    assert services.real_name_of(session, squatter) is None
    told = session.scalars(select(Notification).where(Notification.user_id == squatter.id)).all()
    assert [n.params["number"] for n in told] == ["3101**********0017"]

    # Verified stays where it is: neither a declaration nor another verification takes it.
    with pytest.raises(Conflict):
        services.declare_real_name(session, squatter, "张三", VALID, settings=identity_settings)
    with pytest.raises(Conflict):
        services.record_real_name(
            session,
            squatter,
            "张三",
            VALID,
            level=RealNameLevel.VERIFIED_BY_PROVIDER,
            provider="https://id.example",
            settings=identity_settings,
        )
    # The owner cannot lower their own level by declaring again.
    with pytest.raises(DomainError) as refused:
        services.declare_real_name(session, owner, "张三", OTHER, settings=identity_settings)
    assert refused.value.code == "real_name_verified"
    with pytest.raises(ValueError):  # an in-person check names the clerk
        services.record_real_name(
            session,
            make_user(),
            "某",
            OTHER,
            level=RealNameLevel.VERIFIED_IN_PERSON,
            settings=identity_settings,
        )


def test_a_plugged_provider_decides_the_level(app, session, make_user):
    from app.errors import DomainError
    from app.identity import providers, services
    from app.identity.models import RealNameLevel

    class Official:
        name = "official-check"

        def check(self, name, id_number):
            if name != "王五":
                return providers.CheckResult.refuse(self.name, "姓名与号码不符")
            return providers.CheckResult(self.name, RealNameLevel.VERIFIED_BY_PROVIDER, "已核验")

    providers.register_provider("test-official", lambda config: Official())
    app.config["IDENTITY_PROVIDER"] = "test-official"
    settings = services.settings_from_config(app.config)
    resident = make_user()
    with pytest.raises(DomainError, match="姓名与号码不符"):
        services.declare_real_name(session, resident, "赵六", VALID, settings=settings)
    record, _ = services.declare_real_name(session, resident, "王五", VALID, settings=settings)
    assert (record.level, record.provider) == (
        RealNameLevel.VERIFIED_BY_PROVIDER,
        "official-check",
    )
    app.config["IDENTITY_PROVIDER"] = "no-such-provider"
    with pytest.raises(ValueError, match="IDENTITY_PROVIDER"):
        services.settings_from_config(app.config)


def test_rekey_after_a_key_rotation(app, session, make_user, runner):
    """A rotated key: records sealed under the old one still open, `flask identity rekey`
    seals them again and recomputes their digests, and the one-number check works again."""
    import base64

    from app.errors import Conflict
    from app.identity import crypto, services

    old, new = (base64.urlsafe_b64encode(bytes([b]) * 32).decode() for b in (1, 2))
    app.config["IDENTITY_ENCRYPTION_KEY"] = old
    holder = make_user()
    services.declare_real_name(
        session, holder, "王小明", VALID, settings=services.settings_from_config(app.config)
    )
    session.commit()
    app.config.update(IDENTITY_ENCRYPTION_KEY=new, IDENTITY_OLD_ENCRYPTION_KEYS=old)
    settings = services.settings_from_config(app.config)
    record = services.real_name_of(session, holder)
    assert services.reveal(record, settings) == ("王小明", VALID)  # the old key still opens it
    assert not crypto.sealed_with_current_key(settings.keys, record.id_number_encrypted)

    result = runner.invoke(args=["identity", "rekey"])
    assert result.exit_code == 0 and "resealed 1" in result.output, result.output
    session.expire_all()
    record = services.real_name_of(session, holder)
    assert crypto.sealed_with_current_key(settings.keys, record.id_number_encrypted)
    assert record.id_number_digest == crypto.digest(settings.keys, VALID)
    app.config["IDENTITY_OLD_ENCRYPTION_KEYS"] = ""  # the old key can go now
    settings = services.settings_from_config(app.config)
    assert services.reveal(record, settings) == ("王小明", VALID)
    with pytest.raises(Conflict):
        services.declare_real_name(session, make_user(), "王小明", VALID, settings=settings)
    assert "already current 1" in runner.invoke(args=["identity", "rekey"]).output


def test_personal_data_export_is_masked_and_erase_removes(
    app, session, make_user, identity_settings
):
    from app.identity import services

    resident = make_user()
    services.declare_real_name(session, resident, "王小明", VALID, settings=identity_settings)
    exported = services.export_personal_data(session, resident)
    assert exported["real_name"]["id_number"] == "3101**********0017"
    assert VALID not in str(exported)
    assert services.erase_personal_data(session, resident)["real_names"] == 1
    assert services.real_name_of(session, resident) is None


# --- the resident's page ------------------------------------------------------------------------


def test_real_name_page_declares_with_confirmation_and_shows_only_the_masked_number(
    app, session, make_user
):
    from app.identity.services import real_name_level

    resident = make_user()
    client = app.test_client()
    login(client, resident.phone)
    page = client.get("/identity/real-name")
    assert page.status_code == 200 and 'id="real-name-state"' in page.text
    assert 'name="id_number"' in page.text  # the declaration form
    url = "/identity/real-name"
    answer = {"name": "王小明", "id_number": VALID_X}

    # Without the confirmation: refused on the field, answers kept, nothing recorded.
    refused = client.post(url, data={"csrf_token": csrf_token(client, url), **answer})
    assert refused.status_code == 200 and 'href="#confirm"' in refused.text
    assert 'value="王小明"' in refused.text
    assert real_name_level(session, resident) is None

    # A wrong check character: refused on the number with the reason.
    wrong = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            **answer,
            "id_number": "110105194912310021",
            "confirm": "y",
        },
    )
    assert 'href="#id_number"' in wrong.text
    assert real_name_level(session, resident) is None

    done = client.post(url, data={"csrf_token": csrf_token(client, url), **answer, "confirm": "y"})
    assert done.status_code == 302
    shown = client.get(url).text
    assert "1101**********002X" in shown and VALID_X not in shown and "王小明" in shown
    assert real_name_level(session, resident).value == "self_declared"
    # Anyone else's page shows their own state only.
    other = app.test_client()
    login(other, make_user().phone)
    assert "1101**********002X" not in other.get(url).text
    assert app.test_client().get(url).status_code == 302  # visitors sign in first
