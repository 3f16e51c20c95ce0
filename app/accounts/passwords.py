"""Passwords, as NIST SP 800-63B (section 5.1.1.2) asks of memorised secrets.

What it guarantees:
- A new password (registration, reset, change, an account made from the command line) is at
  least MIN_LENGTH characters and at most MAX_LENGTH (well past the 64 NIST asks to allow, so a
  pass phrase fits), with no composition rules (no "one digit, one capital"), and is refused when
  it is on the list of common and breached passwords that ships with the portal
  (app/accounts/data/common-passwords.txt, loaded once into a frozenset), when it is the
  account's mobile number or username, and, as NIST also asks, when it is made of:
  - a common password or word with digits or punctuation around it: its *stem* (the password
    without the digits and punctuation at either end, `stem`) is on that list or on the short
    list of the most common words of any length (data/common-words.txt), so "password123",
    "Password2026!" and "woaini520" are refused like "password";
  - sequential or repetitive characters (`is_sequence`): a run along the alphabet, the digits
    or a keyboard row or column ("12345678", "abcdefgh", "1q2w3e4r", "87654321"), a short
    group repeated ("abcabcabc", "13141314"), or a stem that is one ("abcd1234");
  - context-specific words: a stem that is the portal's or the district's name ("minhang2026",
    the caller's `context`, from config: SigninSettings.password_context).
  A stem of several words ("minhang-portal-2026") is refused when every word is one of these.
  Refusals are DomainErrors on the `password` field that say what to do instead.
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
import re
import secrets
import unicodedata
from pathlib import Path

from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from app.errors import DomainError

MIN_LENGTH = 8
MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common-passwords.txt"
COMMON_WORDS_FILE = Path(__file__).parent / "data" / "common-words.txt"
# Runs a "sequential" password follows (either way): alphabet, digits, keyboard rows, and the
# keyboard's columns as people type them (1q2w3e4r, 1qaz2wsx).
SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1q2w3e4r5t6y7u8i9o0p",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
)
_ENDS = re.compile(r"^[\W\d_]+|[\W\d_]+$")  # digits and punctuation at either end
_REPEATED = re.compile(r"^(.{1,4})\1+$")  # a group of up to 4 characters, repeated


def _word_list(path: Path) -> frozenset[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@functools.cache
def common_passwords() -> frozenset[str]:
    """The common and breached passwords, lower case (read once per process)."""
    return _word_list(COMMON_PASSWORDS_FILE)


@functools.cache
def common_words() -> frozenset[str]:
    """The most common password words of any length ("password", "qwerty", "woaini")."""
    return _word_list(COMMON_WORDS_FILE)


def stem(folded: str) -> str:
    """`folded` without the digits and punctuation at its ends: "password" for "password123!"."""
    return _ENDS.sub("", folded)


def is_sequence(text: str) -> bool:
    """True for sequential or repetitive characters: a run of 3 or more along one of SEQUENCES
    (either way), or a group of up to 4 characters repeated."""
    if len(text) >= 3 and any(text in run or text in run[::-1] for run in SEQUENCES):
        return True
    return bool(_REPEATED.match(text))


def _weak_word(word: str, context: frozenset[str]) -> bool:
    return word in common_passwords() or word in common_words() or word in context


def context_words(*names: str) -> frozenset[str]:
    """The context-specific words of the portal (for SigninSettings): each name, folded, and
    each word of it of 2 or more characters ("Minhang District" gives "minhang district",
    "minhang" and "district")."""
    words = set()
    for name in names:
        folded = _comparable(name)
        if folded:
            words.add(folded)
            words.update(word for word in re.split(r"[\W_]+", folded) if len(word) >= 2)
    return frozenset(words)


def _comparable(text: str) -> str:
    # NFKC folds full-width digits and letters from a Chinese IME into their ASCII forms, so
    # "ｐａｓｓｗｏｒｄ" is as common as "password".
    return unicodedata.normalize("NFKC", text or "").strip().lower()


def check_new_password(
    password: str,
    *,
    phone: str | None = None,
    username: str | None = None,
    context: frozenset[str] = frozenset(),
) -> None:
    """Refuse a new password that NIST SP 800-63B says to refuse (see the module docstring);
    `context` is the portal's own words (`context_words`). Raises DomainError(field="password");
    returns None for a password that may be used."""
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
    base = stem(folded)
    pieces = [piece for piece in re.split(r"[\W_]+", base) if piece]
    if (
        folded in common_passwords()
        or is_sequence(folded)
        or (base and (is_sequence(base) or _weak_word(base, context)))
        or (len(pieces) > 1 and all(_weak_word(piece, context) for piece in pieces))
    ):
        raise DomainError(
            _l(
                "This password is too easy to guess: it is a common password or word, a run "
                "like 12345678, or the name of this portal or district, with or without numbers "
                "around it. Choose another: a few words you will remember work well."
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
