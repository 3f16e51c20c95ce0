"""Getting to a car park: links that open it in the map apps residents use (高德 Amap, 百度
Baidu), with its coordinates and name, from the car park's page and a reservation.

The coordinates are stored in WGS-84 (GPS, parking/models.py); both map apps take them as such
when told (`coordinate=wgs84`, `coord_type=wgs84`) and convert to their own datum, so the pin
lands where the barrier is rather than a few hundred metres off (GCJ-02 shifts). The web URIs
open the app on a phone where it is installed (Amap's `callnative=1`) and the map's web page
otherwise; no key is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask_babel import lazy_gettext as _l

from parking.models import CarPark

SOURCE = "citizen-portal"  # the `src` both URI APIs ask a calling site to name itself by


@dataclass(frozen=True)
class MapLink:
    label: str  # "在高德地图中打开"
    url: str


def navigation_links(park: CarPark) -> list[MapLink]:
    """Links opening `park` in 高德 and 百度 maps, pinned at its coordinates with its name and
    address in the reader's language; none without coordinates."""
    if park.latitude is None or park.longitude is None:
        return []
    lat, lng = f"{park.latitude:.6f}", f"{park.longitude:.6f}"
    name, address = str(park.name), str(park.address)
    amap = "https://uri.amap.com/marker?" + urlencode(
        {
            "position": f"{lng},{lat}",
            "name": name,
            "coordinate": "wgs84",
            "callnative": "1",
            "src": SOURCE,
        }
    )
    baidu = "https://api.map.baidu.com/marker?" + urlencode(
        {
            "location": f"{lat},{lng}",
            "title": name,
            "content": address,
            "coord_type": "wgs84",
            "output": "html",
            "src": SOURCE,
        }
    )
    return [
        MapLink(str(_l("Open in Amap")), amap),
        MapLink(str(_l("Open in Baidu Maps")), baidu),
    ]
