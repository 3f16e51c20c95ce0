"""Registration and sign-in with SMS codes, password reset and change, change of number, and the
staff second factor.

What it guarantees:
- Registration answers the same whether or not the number already has an account: the same
  page, the same rows written and the same rate limits (`start_registration` makes a code in
  both cases; a number that has an account is sent "account_exists", telling its holder to
  sign in, instead of the code). An account is made only with the code sent to the number,
  a name and consent to the current privacy notice, whose version and time are stored.
- A code proves the number: an account made, signed in, reset or moved with a code has
  `phone_verified_at` set, and only such numbers are trusted by the household register
  (HOUSEHOLD_REGISTER_TRUSTS_PHONE).
- Code sign-in asks for a code for any number (the answer does not say whether it has an
  account); only the holder of the number, with the right code, learns that it has none.
- A code's tries are counted before anything else is decided and stay counted when the
  action fails (app.sms.services.check_code); new passwords follow app.accounts.passwords.
- Staff whose roles are in SIGNIN_SECOND_FACTOR_ROLES cannot sign in with a code alone, nor
  with a password alone: `needs_second_factor` says so, and the view asks for both.

Every function takes a session and `SigninSettings` (built from config by the view); each write
is one unit of work. Ending sessions after a reset or change is the caller's
(app.accounts.sessions), which the views do.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.accounts import passwords
from app.accounts.models import DisplayMode, Role, RoleAssignment, User
from app.accounts.services import find_by_login, normalize_phone
from app.audit.services import record
from app.db import unit_of_work, utcnow
from app.errors import Conflict, DomainError, NotFound
from app.sms.models import CodePurpose
from app.sms.services import check_code, issue_code
from app.sms.settings import SmsSettings, settings_for

STAFF_ROLES = frozenset(Role) - {Role.RESIDENT}


@dataclass(frozen=True)
class SigninSettings:
    hash_method: str
    privacy_notice_version: str
    second_factor_roles: frozenset
    sms: SmsSettings
    # Words a new password may not be built on (passwords.context_words): the district's and
    # the portal's names, config PORTAL_DISTRICT_NAME(_EN) and PASSWORD_CONTEXT_WORDS.
    password_context: frozenset = frozenset()

    @classmethod
    def from_config(cls, config, sms: SmsSettings) -> SigninSettings:
        return cls(
            hash_method=config.get("PASSWORD_HASH_METHOD", "scrypt"),
            privacy_notice_version=str(config.get("PRIVACY_NOTICE_VERSION") or "1"),
            second_factor_roles=second_factor_roles(config),
            sms=sms,
            password_context=passwords.context_words(
                config.get("PORTAL_DISTRICT_NAME", ""),
                config.get("PORTAL_DISTRICT_NAME_EN", ""),
                *str(config.get("PASSWORD_CONTEXT_WORDS", "")).split(","),
            ),
        )


def settings_of(app) -> SigninSettings:
    """The app's SigninSettings, built on first use and kept with the app."""
    kept = app.extensions.get("signin_settings")
    if kept is None:
        kept = app.extensions["signin_settings"] = SigninSettings.from_config(
            app.config, settings_for(app)
        )
    return kept


def second_factor_roles(config) -> frozenset:
    """SIGNIN_SECOND_FACTOR_ROLES as a set of roles (see app/config.py)."""
    raw = config.get("SIGNIN_SECOND_FACTOR_ROLES")
    if raw is None:
        return frozenset() if config.get("TESTING") else STAFF_ROLES
    if isinstance(raw, (set, frozenset, list, tuple)):
        return frozenset(Role(r) for r in raw)
    words = {w.strip().lower() for w in str(raw).split(",") if w.strip()}
    if words <= {"none"}:
        return frozenset()
    if "all" in words:
        return STAFF_ROLES
    return frozenset(Role(w) for w in words)


def needs_second_factor(user: User, settings: SigninSettings) -> bool:
    """True if `user` signs in with a password and an SMS code (a staff role in
    SIGNIN_SECOND_FACTOR_ROLES). Residents never are."""
    return bool(user.role_set & settings.second_factor_roles)


WRONG_CODE = _l(
    "The code is not right, or it has expired. Check the latest text message, or ask for a "
    "new code."
)


def _require_code(session, phone, purpose, code, settings) -> None:
    # Its own unit: the try is counted (and the code used) whatever the caller does next.
    if not check_code(session, phone, purpose, code, settings.sms):
        raise DomainError(WRONG_CODE, field="code", code="wrong_code")


def _holder(session, phone: str) -> User | None:
    return session.scalar(select(User).where(User.phone == phone))


def start_registration(session, phone: str, *, address: str, settings: SigninSettings) -> str:
    """Send the registration code to `phone`, or, if the number has an account, the
    "account_exists" message instead: the same rows, limits and answer either way. Returns the
    number as stored (11 digits). Raises TooManyCodes past a limit."""
    phone = normalize_phone(phone)
    with unit_of_work(session):
        exists = session.scalar(select(User.id).where(User.phone == phone)) is not None
        issue_code(
            session,
            phone,
            CodePurpose.REGISTER,
            address=address,
            settings=settings.sms,
            message_kind="account_exists" if exists else "verification_code",
        )
    return phone


def register_with_code(
    session,
    *,
    phone: str,
    code: str,
    name: str,
    consent: bool,
    password: str | None = None,
    locale: str = "zh_CN",
    display_mode: DisplayMode = DisplayMode.STANDARD,
    settings: SigninSettings,
) -> User:
    """Make a resident account for the holder of `phone`, proven by the registration `code`,
    with consent to the privacy notice (required) and an optional password (NIST rules). The
    answers are checked before the code, so a mistake in them costs no try."""
    phone = normalize_phone(phone)
    if not consent:
        raise DomainError(
            _l("To register, agree to the privacy notice"), field="consent", code="no_consent"
        )
    if password:
        passwords.check_new_password(password, phone=phone, context=settings.password_context)
    _require_code(session, phone, CodePurpose.REGISTER, code, settings)
    now = utcnow()
    try:
        with unit_of_work(session):
            if _holder(session, phone) is not None:  # made meanwhile by another request
                raise Conflict(
                    _l("This number already has an account. Sign in instead."),
                    field="code",
                    code="phone_taken",
                )
            user = User(
                phone=phone,
                name=name.strip(),
                locale=locale,
                display_mode=display_mode,
                phone_verified_at=now,
                privacy_notice_version=settings.privacy_notice_version,
                privacy_consented_at=now,
                password_set=bool(password),
                password_hash=passwords.hash_password(password, settings.hash_method)
                if password
                else passwords.unusable_hash(settings.hash_method),
            )
            user.roles.append(RoleAssignment(role=Role.RESIDENT))
            session.add(user)
            session.flush()
            record(session, user, "account.register", user, consent=settings.privacy_notice_version)
    except IntegrityError:  # the unique number, when two registrations race
        raise Conflict(
            _l("This number already has an account. Sign in instead."),
            field="code",
            code="phone_taken",
        ) from None
    return user


def start_code_signin(session, phone: str, *, address: str, settings: SigninSettings) -> str:
    """Send a sign-in code to `phone`, whether or not it has an account (the answer says
    nothing about it). Returns the stored form of the number."""
    phone = normalize_phone(phone)
    issue_code(session, phone, CodePurpose.SIGNIN, address=address, settings=settings.sms)
    return phone


def signin_with_code(session, phone: str, code: str, settings: SigninSettings) -> User:
    """The active account of `phone`, proven by the sign-in `code`; its number is then known
    to be the holder's. Raises DomainError for a wrong code, NotFound (said only to the holder
    of the number) when it has no account, and a DomainError for a staff account that needs
    its password as well."""
    phone = normalize_phone(phone)
    _require_code(session, phone, CodePurpose.SIGNIN, code, settings)
    user = _holder(session, phone)
    if user is None or not user.active:
        raise NotFound(
            _l("No account uses this number. Register to make one."),
            field="code",
            code="no_account",
        )
    if needs_second_factor(user, settings):
        raise DomainError(
            _l("Staff accounts sign in with their password, then a code. Use the password tab."),
            field="code",
            code="password_required",
        )
    _mark_verified(session, user)
    return user


def _mark_verified(session, user: User) -> None:
    if user.phone_verified_at is None:
        with unit_of_work(session):
            user.phone_verified_at = utcnow()


def authenticate(session, login: str, password: str, settings: SigninSettings) -> User | None:
    """The active user whose login and password match, else None (without saying which was
    wrong). One password hash is checked whether or not the account exists, is active or has a
    password (app.accounts.passwords.verify), so the time of the answer tells nothing. A hash
    made with an older method is replaced after a successful check."""
    user = find_by_login(session, login)
    usable = user is not None and user.active
    if not passwords.verify(user.password_hash if usable else None, password, settings.hash_method):
        return None
    if not user.password_set:  # cannot happen: its hash is of a secret nobody knows
        return None
    if passwords.needs_rehash(user.password_hash, settings.hash_method):
        with unit_of_work(session, keep_loaded=True):
            user.password_hash = passwords.hash_password(password, settings.hash_method)
    return user


def send_second_factor(session, user: User, *, address: str, settings: SigninSettings) -> None:
    """Send the staff sign-in code to `user`'s number. A staff account without a number cannot
    get one: a DomainError says to ask an administrator."""
    if not user.phone:
        raise DomainError(
            _l(
                "Your account has no mobile number for the sign-in code. Ask an administrator "
                "to add one."
            ),
            code="no_phone_for_code",
        )
    issue_code(
        session, user.phone, CodePurpose.SECOND_FACTOR, address=address, settings=settings.sms
    )


def check_second_factor(session, user: User, code: str, settings: SigninSettings) -> None:
    """Accept the staff sign-in code sent to `user`'s number, or raise DomainError."""
    _require_code(session, user.phone or "", CodePurpose.SECOND_FACTOR, code, settings)
    _mark_verified(session, user)


def start_reset(session, phone: str, *, address: str, settings: SigninSettings) -> str:
    """Send a password-reset code to `phone`, whether or not it has an account."""
    phone = normalize_phone(phone)
    issue_code(session, phone, CodePurpose.RESET, address=address, settings=settings.sms)
    return phone


def reset_password(
    session, phone: str, code: str, new_password: str, settings: SigninSettings
) -> User:
    """Give the account of `phone` the new password, proven by the reset `code` (one unit of
    work). The caller ends every session of the account."""
    phone = normalize_phone(phone)
    passwords.check_new_password(new_password, phone=phone, context=settings.password_context)
    _require_code(session, phone, CodePurpose.RESET, code, settings)
    user = _holder(session, phone)
    if user is None or not user.active:
        raise NotFound(
            _l("No account uses this number. Register to make one."),
            field="code",
            code="no_account",
        )
    passwords.check_new_password(
        new_password, phone=phone, username=user.username, context=settings.password_context
    )
    with unit_of_work(session):
        _set_password(user, new_password, settings)
        user.phone_verified_at = user.phone_verified_at or utcnow()
        record(session, user, "account.password_reset", user)
    return user


def _set_password(user: User, password: str, settings: SigninSettings) -> None:
    user.password_hash = passwords.hash_password(password, settings.hash_method)
    user.password_set = True


def send_change_code(session, user: User, *, address: str, settings: SigninSettings) -> None:
    """Send a code to `user`'s own number, to change the password without the current one."""
    if not user.phone:
        raise DomainError(
            _l("Your account has no mobile number to send a code to."), field="current_password"
        )
    issue_code(session, user.phone, CodePurpose.RESET, address=address, settings=settings.sms)


def change_password(
    session,
    user: User,
    *,
    current_password: str | None,
    code: str | None,
    new_password: str,
    settings: SigninSettings,
) -> User:
    """Give `user` a new password, proven by the current one or by a code sent to their number
    (one unit of work). The caller ends the account's other sessions."""
    passwords.check_new_password(
        new_password,
        phone=user.phone,
        username=user.username,
        context=settings.password_context,
    )
    if current_password:
        if not user.password_set or not passwords.verify(
            user.password_hash, current_password, settings.hash_method
        ):
            raise DomainError(
                _l("Your current password is not right"),
                field="current_password",
                code="wrong_password",
            )
    elif code:
        _require_code(session, user.phone or "", CodePurpose.RESET, code, settings)
    else:
        raise DomainError(
            _l("Enter your current password, or the code we sent to your number"),
            field="current_password",
            code="no_proof",
        )
    with unit_of_work(session):
        _set_password(user, new_password, settings)
        record(session, user, "account.password_change", user)
    return user


def start_phone_change(
    session, user: User, new_phone: str, *, address: str, settings: SigninSettings
) -> str:
    """Send a code to the NEW number. Refused only when it is the account's own number: for a
    number of another account the answer and the rows written are the same as for a free one
    (a code is sent to it), so this step tells nobody which numbers have accounts; only the
    code, which proves the person holds the number, lets `change_phone` say it is taken."""
    new_phone = normalize_phone(new_phone)
    if new_phone == user.phone:
        raise DomainError(_l("This is already your number"), field="phone", code="same_phone")
    issue_code(session, new_phone, CodePurpose.CHANGE_PHONE, address=address, settings=settings.sms)
    return new_phone


def _check_free(session, user: User, phone: str) -> None:
    if phone == user.phone:
        raise DomainError(_l("This is already your number"), field="phone", code="same_phone")
    other = session.scalar(select(User.id).where(User.phone == phone, User.id != user.id))
    if other is not None:
        raise Conflict(
            _l("This mobile number belongs to another account"), field="phone", code="phone_taken"
        )


def change_phone(session, user: User, new_phone: str, code: str, settings: SigninSettings) -> User:
    """Move `user` to `new_phone`, proven by the code sent to it (one unit of work)."""
    new_phone = normalize_phone(new_phone)
    _require_code(session, new_phone, CodePurpose.CHANGE_PHONE, code, settings)
    try:
        with unit_of_work(session):
            _check_free(session, user, new_phone)
            old = user.phone
            user.phone, user.phone_verified_at = new_phone, utcnow()
            record(session, user, "account.phone_change", user, old=old and old[-4:])
    except IntegrityError:
        raise Conflict(
            _l("This mobile number belongs to another account"), field="phone", code="phone_taken"
        ) from None
    return user
