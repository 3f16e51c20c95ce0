"""Passwords, as NIST SP 800-63B (section 5.1.1.2) asks of memorised secrets.

What it guarantees:
- A new password (registration, reset, change, an account made from the command line) is at
  least MIN_LENGTH characters and at most MAX_LENGTH (well past the 64 NIST asks to allow, so a
  pass phrase fits), with no composition rules (no "one digit, one capital"), and is refused when
  it is on the list of common and breached passwords that ships with the portal
  (app/accounts/data/common-passwords.txt, loaded once into a frozenset), when it is one
  character repeated, or when it is the account's mobile number or username. Refusals are
  DomainErrors on the `password` field that say what to do instead.
- Passwords already set are never checked again: sign-in with an old password (the demo
  accounts' included) works as before.
- Checking a password takes the same work whether or not the account exists or has a
  password: an unknown account is checked against a dummy hash made with the same method
  (`verify`), so the time of an answer does not tell which numbers have accounts.
- A hash made with another method than the configured one is replaced at the next successful
  sign-in (`needs_rehash`), so every account's check costs the same.

Functions here take the hash method as an argument (the caller's settings): nothing reads Flask's
globals.
"""

from __future__ import annotations

import functools
import secrets
import unicodedata
from pathlib import Path

from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from app.errors import DomainError

MIN_LENGTH = 8
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"


@functools.cache
def common_passwords() -> frozenset[str]:
    """The common and breached passwords, lower case (read once per process)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _comparable(text: str) -> str:
    # NFKC folds full-width digits and letters from a Chinese IME into their ASCII forms, so
    # "ｐａｓｓｗｏｒｄ" is as common as "password".
    return unicodedata.normalize("NFKC", text or "").strip().lower()


def check_new_password(
    password: str, *, phone: str | None = None, username: str | None = None
) -> None:
    """Refuse a new password that NIST SP 800-63B says to refuse (see the module docstring).
    Raises DomainError(field="password"); returns None for a password that may be used."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        raise DomainError(
            _l("Password must be at least %(n)d characters"),
            field="password",
            code="password_too_short",
            n=MIN_LENGTH,
        )
    if len(password) > MAX_LENGTH:
        raise DomainError(
            _l("Password must be %(n)d characters or fewer"),
            field="password",
            code="password_too_long",
            n=MAX_LENGTH,
        )
    folded = _comparable(password)
    own = {_comparable(value) for value in (phone, username) if value}
    if folded in own:
        raise DomainError(
            _l("Your password must not be your mobile number or username. Choose another."),
            field="password",
            code="password_is_login",
        )
    if folded in common_passwords() or len(set(folded)) == 1:
        raise DomainError(
            _l(
                "This password is one of the most common ones, which people who break into "
                "accounts try first. Choose another: a few words you will remember work well."
            ),
            field="password",
            code="password_common",
        )


def hash_password(password: str, method: str) -> str:
    """The stored form of `password` (werkzeug's salted hash with `method`)."""
    return generate_password_hash(password, method=method)


def unusable_hash(method: str) -> str:
    """A hash for an account without a password: of a random secret nobody ever sees, made with
    the same method, so that checking a password against it takes the usual time and fails."""
    return generate_password_hash(secrets.token_urlsafe(32), method=method)


@functools.cache
def _dummy_hash(method: str) -> str:
    return unusable_hash(method)


def verify(stored_hash: str | None, password: str, method: str) -> bool:
    """True if `password` matches `stored_hash`. With no hash (no such account), the password
    is checked against a dummy hash of `method` all the same, and False is returned: one hash
    computation either way."""
    if stored_hash is None:
        check_password_hash(_dummy_hash(method), password or "")
        return False
    return check_password_hash(stored_hash, password or "")


def needs_rehash(stored_hash: str, method: str) -> bool:
    """True if `stored_hash` was made with other parameters than `method` gives today."""
    return stored_hash.split("$", 1)[0] != _dummy_hash(method).split("$", 1)[0]
