"""Finding the places a file names (districts, towns, estates) from dicts built in three queries,
so that checking 10,000 rows asks the database nothing per row.

Names match by their Chinese or English form, case-, width- and space-insensitive; a district
also by its code (行政区划代码). A town is looked for inside the row's district; without a
district column, a town name two districts share is an error asking for the district."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.imports.kinds import RowError
from app.places.models import District, Estate, Town


@lru_cache(maxsize=65536)  # a file repeats its districts, towns and estates on every row
def fold(value: str | None) -> str:
    return unicodedata.normalize("NFKC", value or "").strip().casefold()


class Places:
    """Lookups for one import. `actor` a district administrator (an administrator role held for
    districts, not everywhere): only their districts' places are found, so each row that names
    another district's place is an error saying so. None (the command) or an installation-wide
    administrator: every district."""

    def __init__(self, session, actor=None, *, estates: bool = True):
        from app.accounts.models import Role

        allowed = actor.district_ids(Role.ADMINISTRATOR) if actor is not None else None
        self.allowed: set[int] | None = set(allowed) if allowed is not None else None
        self.districts: dict[str, District] = {}
        for district in session.scalars(select(District)):
            for name in (district.code, district.name_zh, district.name_en):
                if name:
                    self.districts[fold(name)] = district
        self.towns: dict[tuple[int, str], Town] = {}
        self.towns_by_name: dict[str, list[Town]] = defaultdict(list)
        for town in session.scalars(select(Town)):
            for name in {fold(town.name_zh), fold(town.name_en)}:
                if name:
                    self.towns[(town.district_id, name)] = town
                    self.towns_by_name[name].append(town)
        self.estates: dict[tuple[int, str], Estate] = {}
        self._estate_memo: dict[tuple, Estate] = {}
        if estates:
            for estate in session.scalars(select(Estate)):
                self.add_estate(estate)

    def add_estate(self, estate: Estate) -> None:
        for name in {fold(estate.name_zh), fold(estate.name_en)}:
            if name:
                self.estates[(estate.town_id, name)] = estate

    def district(self, name: str, column: str = "district") -> District:
        if not name:
            raise RowError(_l("Fill in the district"), column)
        found = self.districts.get(fold(name))
        if found is None:
            raise RowError(_l("No district called %(name)s", name=name), column)
        self._mine(found.id, column)
        return found

    def _mine(self, district_id: int, column: str) -> None:
        if self.allowed is not None and district_id not in self.allowed:
            raise RowError(_l("You administer other districts than this one"), column)

    def town(self, values: dict, column: str = "town") -> Town:
        """The row's town, inside its district when the row has one."""
        name = values.get(column, "")
        if not name:
            raise RowError(_l("Fill in the town"), column)
        if values.get("district"):
            district = self.district(values["district"])
            found = self.towns.get((district.id, fold(name)))
            if found is None:
                raise RowError(
                    _l(
                        "No town called %(name)s in %(district)s", name=name, district=district.name
                    ),
                    column,
                )
            return found
        candidates = self.towns_by_name.get(fold(name), [])
        if self.allowed is not None:
            candidates = [t for t in candidates if t.district_id in self.allowed] or candidates
        if not candidates:
            raise RowError(_l("No town called %(name)s", name=name), column)
        if len({t.id for t in candidates}) > 1:
            raise RowError(
                _l(
                    "Several districts have a town called %(name)s: fill in the district", name=name
                ),
                "district",
            )
        self._mine(candidates[0].district_id, column)
        return candidates[0]

    def estate(self, values: dict, column: str = "estate") -> Estate:
        key = (values.get("district", ""), values.get("town", ""), values.get(column, ""))
        found = self._estate_memo.get(key)
        if found is None:
            found = self._estate_memo[key] = self._estate(values, column)
        return found

    def _estate(self, values: dict, column: str) -> Estate:
        town = self.town(values)
        name = values.get(column, "")
        if not name:
            raise RowError(_l("Fill in the estate"), column)
        found = self.estates.get((town.id, fold(name)))
        if found is None:
            raise RowError(
                _l("No estate called %(name)s in %(town)s", name=name, town=town.name), column
            )
        return found


def coordinates(values: dict) -> tuple[float | None, float | None]:
    """WGS-84 (latitude, longitude) from the row, both or neither; RowError on the column that is
    not a number or is outside China's bounds (a swapped pair is the usual mistake)."""
    lat_text, lng_text = values.get("latitude", ""), values.get("longitude", "")
    if not lat_text and not lng_text:
        return None, None
    result = []
    for column, text, low, high in (
        ("latitude", lat_text, 3.0, 54.0),
        ("longitude", lng_text, 73.0, 136.0),
    ):
        if not text:
            raise RowError(_l("Give both latitude and longitude, or neither"), column)
        try:
            number = float(unicodedata.normalize("NFKC", text))
        except ValueError:
            raise RowError(
                _l("%(value)s is not a number of degrees, like 31.11", value=text), column
            ) from None
        if not low <= number <= high:
            raise RowError(
                _l(
                    "%(value)s is outside China (WGS-84 degrees: latitude 3 to 54, "
                    "longitude 73 to 136). Are latitude and longitude swapped?",
                    value=text,
                ),
                column,
            )
        result.append(round(number, 6))
    return result[0], result[1]


def whole_number(values: dict, column: str, *, default: int | None = None) -> int:
    text = unicodedata.normalize("NFKC", values.get(column, "")).strip()
    if not text and default is not None:
        return default
    if not text.isdigit():
        raise RowError(_l("Write a whole number, like 40"), column)
    return int(text)
