"""Codes people read aloud or type, and the keys clients send to make a request safe to
repeat. One definition for every service."""

from __future__ import annotations

import secrets

# No 0/O and no 1/I: a reference is read over the phone and typed from a screenshot.
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

# Booking.idempotency_key and the other key columns hold this many characters.
IDEMPOTENCY_KEY_LENGTH = 64


def new_reference(length: int = 8) -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(length))


def idempotency_key(value: str | None) -> str | None:
    """A client's Idempotency-Key (header or hidden form field) as stored: trimmed, cut to the
    column's length (a longer key in a tampered form failed the insert on PostgreSQL, found by
    tests/test_fuzz.py), None when empty."""
    return (value or "").strip()[:IDEMPOTENCY_KEY_LENGTH] or None
