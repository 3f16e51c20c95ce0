"""The car-park list (issue 14, section 2): the car parks before the filters, which fold
behind one button, and at most 6 a screen in elderly mode with Previous / Next."""

from __future__ import annotations

import re


def _parks(html: str) -> list[str]:
    # Each car park's heading, after its number on the map where the map is shown.
    return re.findall(
        r'<h3>(?:<span class="park-number">\d+</span> )?<a href="/parking/\d+">([^<]+)</a></h3>',
        html,
    )


def test_car_parks_come_before_the_folded_filters_six_a_screen_in_elderly_mode(client, car_park):
    for i in range(8):  # and the fixture's own: 9
        car_park(name=f"停车场{i}", reservable=0)
    html = client.get("/parking").get_data(as_text=True)
    assert len(_parks(html)) == 9 and 'class="pagination"' not in html  # standard: one page
    assert '<details class="filters">' in html and 'id="q"' in html
    assert html.index('id="results"') < html.index('class="venue-list"')
    client.set_cookie("display_mode", "elderly")
    first = client.get("/parking?q=停车场").get_data(as_text=True)
    assert len(_parks(first)) == 6 and "第 1 页，共 2 页" in first and 'start="1"' in first
    nxt = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = client.get(nxt).get_data(as_text=True)
    assert len(_parks(second)) == 3 and 'start="7"' in second and 'rel="prev"' in second
    assert set(_parks(first)).isdisjoint(_parks(second))
    # A place that cannot be found opens the filters and says so.
    html = client.get("/parking?near=火星").get_data(as_text=True)
    assert '<details class="filters" open>' in html and "火星" in html


def test_demo_car_parks_have_street_addresses_shown_with_navigation_links(client, session, places):
    """Issue 14: a full street address (road and number) on the list and the car park's page,
    each with its 高德 and 百度 links; a demo seeded with town-only addresses gets them too."""
    from sqlalchemy import select

    from parking.demo import ADDRESSES, CAR_PARKS, seed_parking
    from parking.models import CarPark

    seed_parking(session)
    parks = list(session.scalars(select(CarPark)))
    assert parks and all(re.search(r"路 \d+号$", p.address_zh) for p in parks)
    assert all(
        re.match(r"\d+ [A-Z]\w+ (Road|Highway), Minhang, Shanghai$", p.address_en) for p in parks
    )
    hospital = next(p for p in parks if p.name_zh == "闵行区中心医院停车场")
    assert hospital.address_zh == "上海市闵行区新松路 170号"
    html = client.get("/parking?sort=name").get_data(as_text=True)
    item = html.split("闵行区中心医院停车场</a>", 1)[1].split("</li>", 1)[0]
    assert "上海市闵行区新松路 170号" in item
    assert "https://uri.amap.com/marker?" in item and "https://api.map.baidu.com/marker?" in item
    page = client.get(f"/parking/{hospital.id}").get_data(as_text=True)
    assert "上海市闵行区新松路 170号" in page and "在高德地图中打开" in page
    client.set_cookie("locale", "en")
    assert "170 Xinsong Road, Minhang, Shanghai" in client.get("/parking").get_data(as_text=True)
    # An older demo (the town's name only) is given its street address on the next seeding.
    hospital.address_zh = f"上海市闵行区{hospital.town.name_zh}"
    session.commit()
    seed_parking(session)
    assert hospital.address_zh == "上海市闵行区新松路 170号"
    assert set(ADDRESSES) == {row[0] for row in CAR_PARKS}  # every demo car park has one
