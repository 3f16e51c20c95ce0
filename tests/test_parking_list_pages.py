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
