"""The car-park overview map (一张图), drawn on the server as SVG on the district's real outline
(parking/outlines/<adcode>.json, made once by `python -m parking.outline_import <adcode>`).

Guarantees: the map keeps the district's proportions (longitude scaled by the cosine of the
latitude); every car park is numbered as in the list beside it (the list's order); no two
markers overlap (car parks a few metres apart are pushed apart, by no more than they need); no two
number labels overlap each other or another car park's marker (each label takes the first free place
around its marker, further out if needed, with a line back to it); a car park nearly full is
drawn with another shape as well as another colour. The district's main roads
(parking/outlines/<adcode>.roads.json, made by `python -m parking.road_import`, OpenStreetMap data
under the ODbL) are drawn under the marks, with the file's attribution for the caption. Without an
outline for the district the map falls back to the car parks' own bounding box, with no outline
drawn."""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

OUTLINES = Path(__file__).resolve().parent.parent / "outlines"
WIDTH = 640
MARGIN = 16
MARKER = 11  # marker radius, px (the map shrinks to about 0.55 on a phone)
LABEL_H = 24  # a number label's box, px (20 px digits: 11 px on a phone)
DIGIT_W = 12


@dataclass(frozen=True)
class Point:
    number: int
    park: object
    x: float
    y: float
    full: bool  # nearly full: fewer than 10% of the spaces free
    label_x: float
    label_y: float
    leader: bool  # the label sits away from its marker: a line joins them


@dataclass(frozen=True)
class DistrictMap:
    width: int
    height: int
    outline: str  # SVG path data, "" when the district has no outline file
    points: list[Point] = field(default_factory=list)
    has_full: bool = False
    roads: tuple = ()  # ("expressway" | "elevated", SVG path data) under the marks
    roads_attribution: str = ""  # "© OpenStreetMap contributors" when roads are drawn


@functools.cache
def load_roads(adcode: str) -> tuple[tuple, str]:
    """The district's main roads as ((kind, (path of (longitude, latitude), ...)), ...) and
    their attribution, or ((), "") without a roads file."""
    path = OUTLINES / f"{adcode}.roads.json"
    if not adcode.isdigit() or not path.exists():
        return (), ""
    data = json.loads(path.read_text(encoding="utf-8"))
    roads = tuple(
        (road["kind"], tuple(tuple((float(x), float(y)) for x, y in p) for p in road["paths"]))
        for road in data["roads"]
    )
    return roads, data["attribution"]


@functools.cache
def load_outline(adcode: str) -> tuple | None:
    """The district's rings as tuples of (longitude, latitude), or None without a file."""
    path = OUTLINES / f"{adcode}.json"
    if not adcode.isdigit() or not path.exists():
        return None
    rings = json.loads(path.read_text(encoding="utf-8"))["rings"]
    return tuple(tuple((float(x), float(y)) for x, y in ring) for ring in rings)


def nearly_full(park) -> bool:
    return park.free_spaces < 0.1 * park.total_spaces


def overview(parks: list, adcode: str, width: int = WIDTH) -> DistrictMap:
    """The map of `parks` (numbered 1.. in this order) on district `adcode`'s outline."""
    rings = load_outline(adcode) or ()
    located = [p for p in parks if p.latitude is not None and p.longitude is not None]
    lngs = [x for ring in rings for x, _ in ring] + [p.longitude for p in located]
    lats = [y for ring in rings for _, y in ring] + [p.latitude for p in located]
    if not lngs:
        return DistrictMap(width, 0, "")
    west, east, south, north = min(lngs), max(lngs), min(lats), max(lats)
    kx = math.cos(math.radians((north + south) / 2))  # a degree of longitude is shorter
    span_x, span_y = max((east - west) * kx, 1e-3), max(north - south, 1e-3)
    scale = (width - 2 * MARGIN) / span_x
    height = round(span_y * scale + 2 * MARGIN)

    def project(lng: float, lat: float) -> tuple[float, float]:
        return (MARGIN + (lng - west) * kx * scale, MARGIN + (north - lat) * scale)

    outline = " ".join(_path(project, ring) for ring in rings)
    road_lines, attribution = load_roads(adcode) if rings else ((), "")
    # Expressways last, so that they are drawn over the elevated roads they cross.
    drawn = tuple(
        (kind, d)
        for kind, paths in sorted(road_lines, key=lambda road: road[0] == "expressway")
        if (d := " ".join(_path(project, p, closed=False) for p in paths).strip())
    )
    markers = _separate([(p, *project(p.longitude, p.latitude)) for p in located], width, height)
    numbers = {id(p): i for i, p in enumerate(parks, start=1)}
    placed = _place_labels([(numbers[id(p)], x, y) for p, x, y in markers], width, height)
    points = [
        Point(numbers[id(p)], p, round(x, 1), round(y, 1), nearly_full(p), *placed[numbers[id(p)]])
        for p, x, y in markers
    ]
    return DistrictMap(
        width,
        height,
        outline,
        points,
        any(pt.full for pt in points),
        drawn,
        attribution if drawn else "",
    )


def _path(project, ring, closed: bool = True) -> str:
    """One ring (closed) or line as SVG path data in whole pixels, repeated pixels dropped."""
    out, last = [], None
    for lng, lat in ring:
        x, y = project(lng, lat)
        here = (round(x), round(y))
        if here != last:
            out.append(f"{here[0]},{here[1]}")
            last = here
    if not closed:
        return "M" + " L".join(out) if len(out) > 1 else ""
    return "M" + " L".join(out) + " Z" if len(out) > 2 else ""


def _separate(markers, width: int, height: int) -> list:
    """`markers` [(park, x, y)] moved apart until no two are closer than two markers' width
    (their circles drawn without touching), each by as little as it takes, staying on the map.
    Deterministic: markers on the very same spot part along a fixed angle per pair."""
    points = [[x, y] for _p, x, y in markers]
    gap = 2 * MARKER + 2
    for _round in range(300):
        moved = False
        for i in range(len(points)):
            for j in range(i + 1, len(points)):
                dx, dy = points[j][0] - points[i][0], points[j][1] - points[i][1]
                distance = math.hypot(dx, dy)
                if distance >= gap:
                    continue
                if distance < 1e-6:  # the same spot: part along the golden angle
                    angle = (i * 7 + j) * 2.399963
                    dx, dy, distance = math.cos(angle), math.sin(angle), 1.0
                push = (gap - distance) / 2 + 0.05
                for k, sign in ((i, -1), (j, 1)):
                    points[k][0] = min(
                        max(points[k][0] + sign * push * dx / distance, MARKER), width - MARKER
                    )
                    points[k][1] = min(
                        max(points[k][1] + sign * push * dy / distance, MARKER), height - MARKER
                    )
                moved = True
        if not moved:
            break
    return [(p, x, y) for (p, _x, _y), (x, y) in zip(markers, points, strict=True)]


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


# Around a marker, nearest first: right, left, above, below, then the diagonals.
_DIRECTIONS = [(1, 0), (-1, 0), (0, -1), (0, 1), (1, -1), (-1, -1), (1, 1), (-1, 1)]


def _nearest_is_own(cx: float, cy: float, number: int, markers) -> bool:
    """A label set beside its marker without a leader must be clearly nearer to it than to any
    other marker; otherwise a reader can't tell which of two close marks it names (the walk
    found "4" and "5" beside one mark and none beside the next)."""
    own = other = math.inf
    for n, x, y in markers:
        d = math.hypot(cx - x, cy - y)
        if n == number:
            own = d
        else:
            other = min(other, d)
    return own < 0.75 * other


def _place_labels(markers, width: int, height: int) -> dict:
    """number -> (label x, label y (text baseline), leader?), greedily, in number order: each
    label's box avoids every marker and every label placed before it, and stays on the map; a
    label right beside its marker is nearer to it than to any other, and one set further off
    gets a leader line to its marker."""
    taken = [(x - MARKER, y - MARKER, x + MARKER, y + MARKER) for _n, x, y in markers]
    result = {}
    for number, x, y in sorted(markers):
        w = DIGIT_W * len(str(number)) + 4
        spot = None
        for distance in (MARKER + 3, MARKER + 14, MARKER + 28, MARKER + 46, MARKER + 70):
            for dx, dy in _DIRECTIONS:
                cx, cy = x + dx * (distance + w / 2), y + dy * (distance + LABEL_H / 2)
                box = (cx - w / 2, cy - LABEL_H / 2, cx + w / 2, cy + LABEL_H / 2)
                inside = box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height
                leader = distance > MARKER + 3
                if (
                    inside
                    and not any(_overlaps(box, other) for other in taken)
                    and (leader or _nearest_is_own(cx, cy, number, markers))
                ):
                    spot = (box, leader)
                    break
            if spot:
                break
        if spot is None:  # nowhere free: right of the marker, as before
            spot = ((x + MARKER + 3, y - LABEL_H / 2, x + MARKER + 3 + w, y + LABEL_H / 2), False)
        box, leader = spot
        taken.append(box)
        result[number] = (round((box[0] + box[2]) / 2, 1), round(box[3] - 4, 1), leader)
    return result
