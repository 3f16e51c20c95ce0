"""Identity providers: who checks a real name that a resident declares on the portal.

A provider answers `check(name, id_number) -> CheckResult`. The default, `checksum`, checks
only what the number says about itself (GB 11643 check character and birth date) and says so:
its answer is always the `self_declared` level, never "verified". A district that has an
official check (the public security bureau's 身份核验 service, a bank's, the city's) plugs it
in by configuration (`IDENTITY_PROVIDER`): a name registered here with `register_provider`, or
"package.module:factory", where `factory(config)` returns an object with a `name` and a
`check` method. Its answer is trusted as it is, so only an official check may answer
`verified_by_provider`; a mismatch is a `refused` result with the message to show.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l

from app.identity import idnumber
from app.identity.models import RealNameLevel


@dataclass(frozen=True)
class CheckResult:
    """A provider's answer. `level` is what the name and number are now known to be (None when
    refused); `message` says to the person what was checked, or why it was refused."""

    provider: str
    level: RealNameLevel | None
    message: object

    @property
    def refused(self) -> bool:
        return self.level is None

    @classmethod
    def refuse(cls, provider: str, message) -> CheckResult:
        return cls(provider=provider, level=None, message=message)


class ChecksumOnly:
    """The default: the number is well formed and its birth date real, nothing more. Nobody
    has compared it with the name or with a card, and the result says so."""

    name = "checksum"

    def __init__(self, today: Callable[[], date] | None = None):
        from app import clock

        self._today = today or clock.today

    def check(self, name: str, id_number: str) -> CheckResult:
        idnumber.check(id_number, self._today())  # raises InvalidIdNumber with the reason
        return CheckResult(
            provider=self.name,
            level=RealNameLevel.SELF_DECLARED,
            message=_l(
                "We checked that the number is well formed. Nobody has compared it with your "
                "name or your card: to be verified, show your ID card at a service desk."
            ),
        )


_PROVIDERS: dict[str, Callable[[dict], object]] = {"checksum": lambda config: ChecksumOnly()}


def register_provider(name: str, factory: Callable[[dict], object]) -> None:
    """Make a provider available to IDENTITY_PROVIDER by `name`."""
    _PROVIDERS[name] = factory


def provider_from_config(config) -> object:
    """The provider IDENTITY_PROVIDER names (default "checksum"); a ValueError naming what is
    wrong for an unknown one, so a misconfigured portal fails at its first check rather than
    falling back to something weaker without saying so."""
    name = (config.get("IDENTITY_PROVIDER") or "checksum").strip()
    if name in _PROVIDERS:
        return _PROVIDERS[name](config)
    module_name, _, attribute = name.partition(":")
    if not attribute:
        raise ValueError(f"IDENTITY_PROVIDER {name!r} is neither registered nor module:factory")
    factory = getattr(importlib.import_module(module_name), attribute)
    return factory(config)
