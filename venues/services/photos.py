"""Venue photos: administrators add them (checked by content, re-encoded without metadata, at
most PHOTO_SIDE pixels, with a THUMB_SIDE thumbnail), describe them in both languages, put them in
order and remove them. The first in order is the venue's cover (Venue.cover_photo_id), shown
on the search results.

Guarantees: a photo's record and its files are saved together or not at all (a failed unit
removes the files it wrote); a removed photo's files go only once the removal is committed;
positions within a venue stay distinct after every move."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.accounts.models import User
from app.audit.services import record
from app.db import unit_of_work
from app.errors import DomainError
from app.uploads import remove_image, store_image
from venues.models import Venue, VenuePhoto

FOLDER = "venues"
PHOTO_SIDE = 1600  # px, longest side: sharp on a desktop, light on a phone
THUMB_SIDE = 480  # px: the search results show it at most 240 CSS px wide (2x screens)


def add_photo(
    session, staff: User, venue: Venue, data: bytes, alt_zh: str, alt_en: str
) -> VenuePhoto:
    """Store the photo and its thumbnail (re-encoded, no EXIF) and record it last in the venue's
    order. DomainError (field "photo") if the file is not an acceptable picture, or (field
    "alt_zh" / "alt_en") if a description is missing: the photo is described in both languages
    for people who cannot see it."""
    alt_zh, alt_en = (alt_zh or "").strip(), (alt_en or "").strip()
    if not alt_zh:
        raise DomainError(_l("Describe the photo in Chinese"), field="alt_zh", code="alt_missing")
    if not alt_en:
        raise DomainError(_l("Describe the photo in English"), field="alt_en", code="alt_missing")
    stored = store_image(data, FOLDER, max_side=PHOTO_SIDE, thumb_side=THUMB_SIDE)
    with unit_of_work(session) as unit:
        unit.after_rollback(lambda: remove_image(FOLDER, stored.filename))
        unit.after_rollback(lambda: remove_image(FOLDER, stored.thumb))
        last = session.scalar(
            select(func.max(VenuePhoto.position)).where(VenuePhoto.venue_id == venue.id)
        )
        photo = VenuePhoto(
            venue=venue,
            filename=stored.filename,
            thumb=stored.thumb,
            width=stored.width,
            height=stored.height,
            alt_zh=alt_zh,
            alt_en=alt_en,
            position=(last or 0) + 1,
        )
        session.add(photo)
        session.flush()
        _set_cover(session, venue.id)
        record(session, staff, "venue.photo", photo, venue_id=venue.id)
    return photo


def delete_photo(session, staff: User, photo: VenuePhoto) -> None:
    """Remove the photo's record and, once that is committed, its files."""
    files = [name for name in (photo.filename, photo.thumb) if name]
    with unit_of_work(session) as unit:
        record(session, staff, "venue.photo_removed", photo, venue_id=photo.venue_id)
        venue_id = photo.venue_id
        session.delete(photo)
        session.flush()
        _set_cover(session, venue_id)
        for name in files:
            unit.after_commit(lambda name=name: remove_image(FOLDER, name))


def move_photo(session, staff: User, photo: VenuePhoto, step: int) -> bool:
    """Swap the photo with its neighbour before (step -1) or after (step +1) it in the venue's
    order; False when it is already first or last. Positions are renumbered 1..n on the way, so
    photos that shared a position (older rows) get distinct ones."""
    with unit_of_work(session):
        photos = list(
            session.scalars(
                select(VenuePhoto)
                .where(VenuePhoto.venue_id == photo.venue_id)
                .order_by(VenuePhoto.position, VenuePhoto.id)
                .with_for_update()
            )
        )
        index = next(i for i, p in enumerate(photos) if p.id == photo.id)
        other = index + step
        moved = 0 <= other < len(photos)
        if moved:
            photos[index], photos[other] = photos[other], photos[index]
            record(session, staff, "venue.photo_moved", photo, venue_id=photo.venue_id)
        for position, row in enumerate(photos, start=1):
            row.position = position
        session.flush()
        _set_cover(session, photo.venue_id)
    return moved


def _set_cover(session, venue_id: int) -> None:
    """The venue names its first photo (or none): what the search results show."""
    venue = session.get(Venue, venue_id)
    venue.cover_photo_id = session.scalar(
        select(VenuePhoto.id)
        .where(VenuePhoto.venue_id == venue_id)
        .order_by(VenuePhoto.position, VenuePhoto.id)
        .limit(1)
    )
