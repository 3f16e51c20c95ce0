"""Real names (实名) and the external identities (一网通办) linked to accounts.

A real name is a claim until someone entitled checks it (ARCHITECTURE.md, "Claims and
verification"): its `level` says who did. The ID number is kept encrypted (app.identity.crypto),
with a keyed digest beside it so that one number belongs to one account at most, checked by a
unique constraint without decrypting anything, and a masked form for pages.
"""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import UTCDateTime, str_enum, utcnow
from app.extensions import db


class RealNameLevel(enum.StrEnum):
    """How far a real name was checked, weakest first (`rank` orders them)."""

    SELF_DECLARED = "self_declared"  # the number's check digit and birth date only
    VERIFIED_IN_PERSON = "verified_in_person"  # a desk clerk saw the ID card
    VERIFIED_BY_PROVIDER = "verified_by_provider"  # an official check or 一网通办

    @property
    def label(self):
        return LEVEL_LABELS[self]

    @property
    def rank(self) -> int:
        return LEVEL_RANKS[self]

    @property
    def verified(self) -> bool:
        return self != RealNameLevel.SELF_DECLARED

    def meets(self, required: RealNameLevel) -> bool:
        """At least `required`. Both verified levels count the same: a person whose card was
        seen at a desk and one the city's identity vouches for are equally checked."""
        return self.rank >= required.rank


LEVEL_LABELS = {
    RealNameLevel.SELF_DECLARED: _l("Declared by you (not checked)"),
    RealNameLevel.VERIFIED_IN_PERSON: _l("Verified in person at a service desk"),
    RealNameLevel.VERIFIED_BY_PROVIDER: _l("Verified by an official identity service"),
}
LEVEL_RANKS = {
    RealNameLevel.SELF_DECLARED: 1,
    RealNameLevel.VERIFIED_IN_PERSON: 2,
    RealNameLevel.VERIFIED_BY_PROVIDER: 2,
}


class RealName(db.Model):
    """One account's real name: at most one per account, one account per ID number."""

    __tablename__ = "real_name"
    __table_args__ = (
        UniqueConstraint("user_id", name="uq_real_name_user"),
        UniqueConstraint("id_number_digest", name="uq_real_name_id_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    # AES-GCM ciphertexts (app.identity.crypto), bound to the account they belong to.
    name_encrypted: Mapped[str] = mapped_column(Text)
    id_number_encrypted: Mapped[str] = mapped_column(Text)
    # HMAC-SHA256 of the normalised number under a key of its own: equal numbers, equal
    # digests, so the unique constraint refuses a number already on another account.
    id_number_digest: Mapped[str] = mapped_column(String(64))
    # 3101**********123X: what pages, exports and the audit log show.
    id_number_masked: Mapped[str] = mapped_column(String(18))
    level: Mapped[RealNameLevel] = mapped_column(str_enum(RealNameLevel, 24))
    # Who checked it: the desk clerk (in person), or the provider's name or issuer.
    verified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    provider: Mapped[str | None] = mapped_column(String(255))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User", foreign_keys=[user_id])
    verified_by = relationship("User", foreign_keys=[verified_by_id])


class ExternalIdentity(db.Model):
    """An identity at an OpenID Connect provider (一网通办) that signs in to one account."""

    __tablename__ = "external_identity"
    __table_args__ = (UniqueConstraint("issuer", "subject", name="uq_external_identity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")


class SignInRequest(db.Model):
    """An authorization request sent to the provider and not yet answered: what the callback
    must find to accept an answer. Only a digest of the `state` is kept; the row is deleted
    when the answer comes (a second answer with the same state finds nothing), and a row older
    than its `expires_at` is refused and swept."""

    __tablename__ = "sso_sign_in_request"
    __table_args__ = (Index("ix_sso_sign_in_request_expires", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    state_digest: Mapped[str] = mapped_column(String(64), unique=True)
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(String(512))
    # The signed-in account that asked to link an identity; None to sign in.
    link_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE")
    )
    next_url: Mapped[str | None] = mapped_column(String(512))
    # An answer already verified that waits for the person's consent to a new account: its
    # claims, sealed (they may hold the ID number). None for a request sent to the provider.
    claims: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
