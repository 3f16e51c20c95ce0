"""`make screens` (bench/screens.py): every page it photographs is a GET route of the portal, every
combination the issue asks for is taken, and the index links each picture that was written."""

from bench import screens

IDS = {
    "venue": 1,
    "space": 2,
    "day": "2026-12-01",
    "bucket": 3,
    "booking": "B123",
    "ticket": "R123",
    "park": 4,
}


def test_every_page_is_a_get_route():
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
    adapter = app.url_map.bind("localhost")
    pages = screens.shots(IDS)
    endpoints = {adapter.match(s.path.format(**IDS).split("?")[0], "GET")[0] for s in pages}
    assert {
        "main.home",
        "venues.index",
        "venues.show",
        "venues.day",
        "venues.party",
        "venues.check",
        "my_bookings.index",
        "parking.index",
        "parking.show",
        "parking_driver.reserve",
        "repairs.report",
        "repairs.ticket",
        "repairs.queue",
        "notifications.inbox",
        "accessibility.display_settings",
    } <= endpoints
    assert len({s.slug for s in pages}) == len(pages)


def test_combinations_and_index(tmp_path):
    combos = screens.combinations(quick=False)
    assert len(combos) == 8
    assert {c[0] for c in combos} == {"zh_CN", "en"}
    assert {c[1] for c in combos} == {"standard", "elderly"}
    assert screens.DEVICES == {"phone": (390, 844), "desktop": (1280, 900)}
    pages = screens.shots(IDS)[:2]
    (tmp_path / screens.file_name(pages[0], *combos[0])).write_bytes(b"png")
    index = screens.write_index(tmp_path, pages, combos).read_text()
    assert f'<a href="{screens.file_name(pages[0], *combos[0])}">' in index
    assert screens.file_name(pages[1], *combos[0]) not in index  # not written: not linked
    assert index.count("<td>—</td>") == 2 * len(combos) - 1
