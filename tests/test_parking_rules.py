"""Parking's pure rules: plates, and fees with worked examples for every tariff rule."""

from datetime import datetime, timedelta, timezone

import pytest

from app.errors import DomainError
from parking.services.plates import mask_plate, normalize_plate
from parking.services.tariffs import TariffRules, quote

SHANGHAI = timezone(timedelta(hours=8))
RULES = TariffRules(
    free_minutes=15,
    first_hour_fen=1000,
    period_minutes=30,
    period_fen=500,
    night_unit_fen=200,
    day_starts=7 * 60,
    day_ends=19 * 60,
    daily_cap_fen=6000,
)


def at(hour, minute=0, day=1):
    return datetime(2026, 12, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    "raw, plate",
    [
        ("沪A12345", "沪A12345"),
        ("沪 a·123 45", "沪A12345"),
        ("沪Ａ１２３４５", "沪A12345"),
        ("沪AD12345", "沪AD12345"),
        ("沪A12345F", "沪A12345F"),
        ("苏E-B2C3D", "苏EB2C3D"),
    ],
)
def test_plates_are_normalised(raw, plate):
    assert normalize_plate(raw) == plate


@pytest.mark.parametrize(
    "raw", ["", "A12345", "沪I12345", "沪A1234", "沪A123456X", "沪AX12345", "Q沪12345"]
)
def test_bad_plates_are_refused_with_a_clear_message(raw):
    with pytest.raises(DomainError) as info:
        normalize_plate(raw)
    assert info.value.field == "plate" and "沪A12345" in str(info.value)


def test_plates_are_masked_for_staff():
    assert mask_plate("沪A12345") == "沪A1**45" and mask_plate("沪AD12345") == "沪AD***45"


@pytest.mark.parametrize(
    "entry, exit, fen, why",
    [
        (at(9), at(9, 10), 0, "within the free 15 minutes"),
        (at(9), at(9, 15), 0, "exactly the free minutes"),
        (at(9), at(9, 16), 1000, "past the free minutes the whole stay counts: first hour"),
        (at(9), at(10), 1000, "the first hour"),
        (at(9), at(10, 1), 1500, "a started period counts in full"),
        (at(9), at(11), 2000, "first hour and two day periods"),
        (at(18, 30), at(20), 1200, "first hour starts by day, the next period starts at night"),
        (at(20), at(21, 30), 400, "night: the first hour and one period, each at the night price"),
        (at(6, 30), at(7, 45), 700, "first hour starts at night (200), then two day periods"),
    ],
)
def test_fee_rules_worked_examples(entry, exit, fen, why):
    assert quote(RULES, entry, exit).fen == fen, why


def test_daily_cap_applies_per_24_hours_from_entry():
    # 09:00 day 1 to 15:00 day 2. First 24 hours: first hour 1000, 09:00-19:00 periods 18 x 500,
    # night 19:00-07:00 24 x 200, 07:00-09:00 4 x 500: 16,800 -> cap 6,000.
    # Next 6 hours (09:00-15:00): 12 x 500 = 6,000 -> at the cap. Total 12,000.
    result = quote(RULES, at(9), at(15, day=2))
    assert result.fen == 12000 and result.capped_days == 1
    assert quote(RULES, at(9), at(10, day=2)).fen == 6000 + 2 * 500


def test_no_cap_and_no_free_minutes():
    rules = TariffRules(free_minutes=0, daily_cap_fen=None)
    assert quote(rules, at(9), at(9, 1)).fen == 1000
    assert quote(rules, at(9), at(9, day=2)).fen == 1000 + 18 * 500 + 24 * 200 + 4 * 500


def test_exit_before_entry_is_an_error():
    with pytest.raises(ValueError):
        quote(RULES, at(10), at(9))
