"""Encryption at rest for real names, with `cryptography`'s AES-256-GCM.

One master key (`IDENTITY_ENCRYPTION_KEY`: 32 random bytes, URL-safe base64) gives two keys by
HKDF: one encrypts names and ID numbers, one makes the keyed digest (HMAC-SHA256) of an ID
number that the unique constraint compares. A ciphertext is "<key id>:<base64 of nonce and
sealed text>", sealed with the account and the field it belongs to as associated data, so a
value copied onto another row or into another column does not decrypt. Values sealed under an
earlier master key (`IDENTITY_OLD_ENCRYPTION_KEYS`) still open; see /work/notes/identity.md
for rotating the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12


class SealError(ValueError):
    """The configured key is not 32 bytes of URL-safe base64, or a value does not open."""


@dataclass(frozen=True)
class IdentityKeys:
    key_id: str  # names the master key in each ciphertext (not secret)
    encryption: bytes = b""
    digest: bytes = b""
    # Earlier keys, to open what they sealed: key id -> encryption key.
    previous: tuple[tuple[str, bytes], ...] = ()

    def __repr__(self) -> str:  # never a key in a log or a traceback
        return f"IdentityKeys(key_id={self.key_id!r})"


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


def parse_master_key(value: str) -> bytes:
    """The 32 bytes a configured key encodes; SealError for anything else."""
    try:
        key = base64.urlsafe_b64decode(value.strip() + "=" * (-len(value.strip()) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise SealError(
            "IDENTITY_ENCRYPTION_KEY must be 32 random bytes in URL-safe base64, e.g. the "
            "output of: python -c 'import os,base64;print(base64.urlsafe_b64encode(os.urandom(32))"
            ".decode())'"
        )
    return key


def keys_from_master(master: bytes, previous: tuple[bytes, ...] = ()) -> IdentityKeys:
    def key_id(m: bytes) -> str:
        return hashlib.sha256(b"identity-key-id:" + m).hexdigest()[:8]

    return IdentityKeys(
        key_id=key_id(master),
        encryption=_derive(master, b"citizen-portal real name encryption"),
        digest=_derive(master, b"citizen-portal ID number digest"),
        previous=tuple(
            (key_id(m), _derive(m, b"citizen-portal real name encryption")) for m in previous
        ),
    )


def keys_from_config(config) -> IdentityKeys:
    """The keys the configuration names. Without IDENTITY_ENCRYPTION_KEY (development and
    testing only: `check_production` refuses to start without one) the master key is derived
    from SECRET_KEY, so a development database stays readable across restarts; such data is
    protected by nothing more than SECRET_KEY, which is why production needs its own key."""
    configured = config.get("IDENTITY_ENCRYPTION_KEY")
    if configured:
        master = parse_master_key(configured)
    else:
        secret = str(config.get("SECRET_KEY") or "")
        master = hashlib.sha256(b"identity-development-key:" + secret.encode()).digest()
    previous = tuple(
        parse_master_key(v)
        for v in str(config.get("IDENTITY_OLD_ENCRYPTION_KEYS") or "").split(",")
        if v.strip()
    )
    return keys_from_master(master, previous)


def _associated(purpose: str, owner_id: int) -> bytes:
    return f"{purpose}:{owner_id}".encode()


def seal(keys: IdentityKeys, plaintext: str, *, purpose: str, owner_id: int) -> str:
    """`plaintext` encrypted under the current key, for `owner_id`'s `purpose` field."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(keys.encryption).encrypt(
        nonce, plaintext.encode(), _associated(purpose, owner_id)
    )
    return f"{keys.key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def open_sealed(keys: IdentityKeys, value: str, *, purpose: str, owner_id: int) -> str:
    """The plaintext of a `seal`ed value for the same owner and purpose; SealError if its key
    is not configured or the value was altered or moved."""
    key_id, _, body = value.partition(":")
    candidates = dict(keys.previous)
    candidates[keys.key_id] = keys.encryption
    key = candidates.get(key_id)
    if key is None:
        raise SealError(f"no configured key {key_id} opens this value")
    try:
        raw = base64.urlsafe_b64decode(body)
        return (
            AESGCM(key)
            .decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated(purpose, owner_id))
            .decode()
        )
    except (InvalidTag, binascii.Error, ValueError) as error:
        raise SealError("the value does not open (altered, or moved from another row)") from error


def sealed_with_current_key(keys: IdentityKeys, value: str) -> bool:
    return value.partition(":")[0] == keys.key_id


def digest(keys: IdentityKeys, id_number: str) -> str:
    """The keyed digest of a normalised ID number: equal numbers, equal digests; without the
    key, no way back to the number (a plain hash of 18 digits with a known structure could be
    reversed by trying them all)."""
    return hmac.new(keys.digest, id_number.encode(), hashlib.sha256).hexdigest()
