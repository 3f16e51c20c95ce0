"""Short lists: at most a screenful of results at a time where a list is long (elderly mode
shows 6, issue 14), with large Previous / Next links that keep the person's other choices.
A page past the end is explained (and the last page shown), not silently emptied."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

ELDERLY_PAGE_SIZE = 6  # results per screen in elderly mode (a 390 x 844 phone at 24 px text)
STANDARD_PAGE_SIZE = 20


@dataclass(frozen=True)
class Page:
    """One page of a list: its items, its number (from 1), how many pages there are, the URLs
    of the pages before and after (None at either end) and whether the page asked for was past
    the end (`asked` then holds the number asked for)."""

    items: list
    number: int
    count: int
    total: int
    previous_url: str | None
    next_url: str | None
    asked: int | None = None

    @property
    def first_index(self) -> int:
        """The position (from 1) of this page's first item in the whole list."""
        return 0 if not self.items else (self.number - 1) * self.size + 1

    size: int = STANDARD_PAGE_SIZE


def page_size(elderly: bool) -> int:
    return ELDERLY_PAGE_SIZE if elderly else STANDARD_PAGE_SIZE


def paginate(items: list, raw_page: str | None, size: int, path: str, args) -> Page:
    """The page `raw_page` (a query-string value: anything) of `items`, `size` a page, with
    links to `path` and the request's other `args` (a MultiDict) kept. Not a number, or below
    1: the first page; past the end: the last, with `asked` set so the page can say so."""
    count = max(1, -(-len(items) // size))
    try:
        number = int(raw_page) if raw_page else 1
    except ValueError:
        number = 1
    asked = number if number > count else None
    number = min(max(number, 1), count)
    kept = [(k, v) for k, v in args.items(multi=True) if k != "page"]

    def url(n: int) -> str:
        query = urlencode(kept + ([("page", str(n))] if n > 1 else []))
        return f"{path}?{query}" if query else path

    start = (number - 1) * size
    return Page(
        items=items[start : start + size],
        number=number,
        count=count,
        total=len(items),
        previous_url=url(number - 1) if number > 1 else None,
        next_url=url(number + 1) if number < count else None,
        asked=asked,
        size=size,
    )
