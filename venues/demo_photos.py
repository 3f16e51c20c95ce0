"""Demo venues get a drawing of their kind of building (static/img/venues/*.svg, drawn for the
project and plainly drawings, never stock photos), with descriptions that say so. Copied into the
upload folder like an uploaded photo, so the pages show them as they show real ones."""

from __future__ import annotations

import shutil
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from venues.models import Venue, VenuePhoto, VenueType
from venues.services.photos import FOLDER

DRAWINGS = Path(__file__).resolve().parent.parent / "static" / "img" / "venues"
SIZE = (480, 300)  # the drawings' viewBox
# kind -> (Chinese description, English description)
ALT = {
    VenueType.MUSEUM: (
        "示意插画：有立柱和台阶的博物馆（绘图，非实景照片）",
        "Drawing of a museum with columns and steps (an illustration, not a photo)",
    ),
    VenueType.LIBRARY: (
        "示意插画：图书馆外观和书架（绘图，非实景照片）",
        "Drawing of a library and its bookshelves (an illustration, not a photo)",
    ),
    VenueType.CULTURE_CENTRE: (
        "示意插画：文化中心的拱形大楼（绘图，非实景照片）",
        "Drawing of a culture centre's arched building (an illustration, not a photo)",
    ),
    VenueType.SPORTS_HALL: (
        "示意插画：体育馆和球（绘图，非实景照片）",
        "Drawing of a sports hall and balls (an illustration, not a photo)",
    ),
    VenueType.COURT: (
        "示意插画：室外球场和球网（绘图，非实景照片）",
        "Drawing of an outdoor court and its net (an illustration, not a photo)",
    ),
    VenueType.COMMUNITY_CENTRE: (
        "示意插画：社区活动中心的小楼（绘图，非实景照片）",
        "Drawing of a community centre building (an illustration, not a photo)",
    ),
}


def attach_drawings(session) -> None:
    """Give each venue without a photo the drawing of its kind, as its first photo (and cover).
    Inside the caller's unit of work; venues that have photos are left as they are."""
    folder = Path(current_app.config["UPLOAD_DIR"]) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for venue in session.scalars(select(Venue).where(Venue.cover_photo_id.is_(None))):
        if venue.photos:
            continue
        name = f"drawing-{venue.type.value}.svg"
        if not (folder / name).exists():
            shutil.copyfile(DRAWINGS / f"{venue.type.value}.svg", folder / name)
        alt_zh, alt_en = ALT[venue.type]
        photo = VenuePhoto(
            venue=venue,
            filename=name,
            thumb=name,
            width=SIZE[0],
            height=SIZE[1],
            alt_zh=alt_zh,
            alt_en=alt_en,
            position=1,
        )
        session.add(photo)
        session.flush()
        venue.cover_photo_id = photo.id
