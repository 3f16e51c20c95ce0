"""One-off import of a district's main roads for the car-park overview map (parking/_map.html),
beside its outline (parking/outline_import.py): read a Shanghai road overlay derived from
OpenStreetMap, keep the roads inside the district's outline, simplify them (Douglas-Peucker,
~50 m) and write parking/outlines/<adcode>.roads.json, which the portal reads at run time.

The source is `src/data/transport-network.wgs84.json` of the public repository
luiszengii/shanghai-property-sector-map: built by its scripts/build-public-transport-network.py
from Geofabrik's Shanghai extract of OpenStreetMap (snapshot 2026-07-28, ODbL 1.0). It holds
Shanghai's elevated roads and ring expressways whole, and of the other expressways only their
elevated (bridge) sections; we keep those two kinds and no local roads. The written file is a
derived database of OpenStreetMap data and so is under the ODbL too, with its attribution
("© OpenStreetMap contributors"), both written in it and shown under the map:

    python -m parking.road_import 310112 path/to/transport-network.wgs84.json

Coordinates are WGS-84 [longitude, latitude], as the car parks' own, so a road and a car park
beside it are drawn beside each other (the outline is GCJ-02, a few hundred metres off: see
parking/outline_import.py).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from parking.outline_import import OUTLINES, TOLERANCE, simplify

LICENCE = "ODbL-1.0 (Open Database License), https://opendatacommons.org/licenses/odbl/1-0/"
ATTRIBUTION = "© OpenStreetMap contributors"
SOURCE = (
    "OpenStreetMap via Geofabrik (Shanghai extract, 2026-07-28), road overlay of "
    "github.com/luiszengii/shanghai-property-sector-map (src/data/transport-network.wgs84.json)"
)
MIN_KM = 0.5  # shorter pieces (a slip road, an overpass) are noise at district scale


def _inside(x: float, y: float, ring) -> bool:
    """Even-odd rule: is (x, y) inside the polygon `ring`?"""
    found = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            found = not found
    return found


def _km(path) -> float:
    return sum(
        math.hypot((x2 - x1) * 111.32 * math.cos(math.radians(y1)), (y2 - y1) * 110.57)
        for (x1, y1), (x2, y2) in zip(path, path[1:], strict=False)
    )


def clip(path, rings) -> list:
    """The runs of `path` whose points lie inside the outline (any of `rings`)."""
    runs, run = [], []
    for x, y in path:
        if any(_inside(x, y, ring) for ring in rings):
            run.append((x, y))
        elif run:
            runs.append(run)
            run = []
    if run:
        runs.append(run)
    return runs


def wanted(group: dict) -> bool:
    """A main road: an elevated road or ring expressway kept whole ("major"), or a named
    expressway's sections; not an unnamed group ("其他...") or a local road's overpass."""
    if group.get("scope") == "major":
        return True
    return group.get("kind") == "expressway" and not group.get("name", "").startswith("其他")


def roads_from_overlay(
    data: dict, rings, tolerance: float = TOLERANCE, min_km: float = MIN_KM
) -> list:
    """[{name, kind, paths}] of the overlay's main roads inside `rings`, simplified, each path
    at least `min_km` long; roads with nothing left are dropped; sorted by name."""
    rings = [list(map(tuple, ring)) for ring in rings]
    roads = []
    for group in data["elevatedRoads"]:
        if not wanted(group):
            continue
        paths = []
        for path in group["paths"]:
            for run in clip([tuple(p[:2]) for p in path], rings):
                if _km(run) >= min_km:
                    paths.append([[round(x, 5), round(y, 5)] for x, y in simplify(run, tolerance)])
        if paths:
            kind = "expressway" if group.get("kind") == "expressway" else "elevated"
            roads.append({"name": group["name"], "kind": kind, "paths": paths})
    return sorted(roads, key=lambda road: road["name"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Import a district's main roads (OSM, ODbL).")
    parser.add_argument("adcode", help="the district's administrative code, e.g. 310112")
    parser.add_argument("overlay", help="transport-network.wgs84.json (see the module's doc)")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE)
    args = parser.parse_args(argv)
    outline = json.loads((OUTLINES / f"{args.adcode}.json").read_text(encoding="utf-8"))
    data = json.loads(Path(args.overlay).read_text(encoding="utf-8"))
    roads = roads_from_overlay(data, outline["rings"], args.tolerance)
    out = OUTLINES / f"{args.adcode}.roads.json"
    meta = data.get("metadata", {})
    out.write_text(
        json.dumps(
            {
                "adcode": args.adcode,
                "licence": LICENCE,
                "attribution": ATTRIBUTION,
                "source": SOURCE,
                "source_snapshot": meta.get("sourceSnapshotAt"),
                "source_archive_sha256": meta.get("sourceArchiveSha256"),
                "coordinates": "WGS-84 [longitude, latitude]",
                "tolerance_degrees": args.tolerance,
                "roads": roads,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ),
        encoding="utf-8",
    )
    print(f"{out}: {len(roads)} road(s), {sum(len(p) for r in roads for p in r['paths'])} points")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
