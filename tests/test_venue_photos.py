"""Venue photos (issue 14.6): administrators add them described in both languages, checked by
content and re-encoded without EXIF with a thumbnail; put them in order; remove them after a
confirmation. The first is the venue's cover on the search results; the venue page shows all, in
order. Demo venues get drawings made for the project, described as drawings."""

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from tests.conftest import login, submit


def jpeg(colour="red", size=(2400, 1200), camera=None) -> bytes:
    image = Image.new("RGB", size, colour)
    exif = Image.Exif()
    if camera:
        exif[0x010F] = camera
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def uploads(app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    return tmp_path / "venues"


def send(client, venue_id, data, name="p.jpg"):
    return submit(
        client,
        f"/staff/venues/{venue_id}/photos",
        {"photo": (io.BytesIO(data), name), "alt_zh": "大厅全景", "alt_en": "The hall"},
        content_type="multipart/form-data",
    )


def test_upload_stores_a_clean_resized_photo_and_thumbnail_in_order(
    client, session, make_venue, make_user, uploads
):
    from venues.models import Venue, VenuePhoto

    venue = make_venue()
    login(client, make_user("venue_admin", scope=venue).username)
    assert send(client, venue.id, jpeg(camera="SecretCam")).status_code == 302
    assert send(client, venue.id, jpeg("blue", (300, 200)), name="x.gif").status_code == 302
    session.expire_all()
    first, second = session.scalars(select(VenuePhoto).order_by(VenuePhoto.position)).all()
    assert (first.position, second.position) == (1, 2)
    stored = (uploads / first.filename).read_bytes()
    assert b"SecretCam" not in stored
    assert Image.open(io.BytesIO(stored)).size == (1600, 800) == (first.width, first.height)
    assert max(Image.open(uploads / first.thumb).size) == 480
    assert session.get(Venue, venue.id).cover_photo_id == first.id
    # The venue page shows both in order; the search results the cover's thumbnail.
    page = client.get(f"/venues/{venue.id}").get_data(as_text=True)
    assert page.index(first.filename) < page.index(second.thumb)
    results = client.get("/venues").get_data(as_text=True)
    assert f'src="/media/venues/{first.thumb}" alt="大厅全景"' in results


@pytest.mark.parametrize(
    "data, fields, message",
    [
        (b"<?php echo 1; ?>", {}, "JPEG、PNG、WebP 或 HEIC"),
        (None, {"alt_en": ""}, "用英文描述"),
        (None, {"alt_zh": ""}, "用中文描述"),
    ],
)
def test_refusals_keep_the_answers_and_store_nothing(
    client, session, make_venue, make_user, uploads, data, fields, message
):
    from venues.models import VenuePhoto

    venue = make_venue()
    login(client, make_user("venue_admin").username)
    answers = {"alt_zh": "大厅全景", "alt_en": "The hall"} | fields
    html = submit(
        client,
        f"/staff/venues/{venue.id}/photos",
        {"photo": (io.BytesIO(data or jpeg()), "p.jpg"), **answers},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert message in html and "error-summary" in html
    assert 'value="大厅全景"' in html or not answers["alt_zh"]
    assert session.scalar(select(VenuePhoto.id)) is None
    assert not uploads.exists() or not any(uploads.iterdir())


def test_move_and_remove_after_confirmation(client, session, make_venue, make_user, uploads):
    from venues.models import Venue, VenuePhoto
    from venues.services.photos import add_photo

    venue = make_venue()
    admin = make_user("venue_admin", scope=venue)
    a = add_photo(session, admin, venue, jpeg("red"), "甲", "A")
    b = add_photo(session, admin, venue, jpeg("blue"), "乙", "B")
    login(client, admin.username)
    photos_url = f"/staff/venues/{venue.id}/photos"
    submit(client, f"{photos_url}/{b.id}/move", {"step": "earlier"}, form_url=photos_url)
    session.expire_all()
    assert [p.id for p in session.get(Venue, venue.id).photos] == [b.id, a.id]
    assert session.get(Venue, venue.id).cover_photo_id == b.id
    # Removing asks first, says it cannot be undone, and the button is a warning.
    confirm = client.get(f"{photos_url}/{b.id}/delete").get_data(as_text=True)
    assert "无法撤销" in confirm and "button-warning" in confirm
    assert session.get(VenuePhoto, b.id) is not None
    b_files, b_id = (b.filename, b.thumb), b.id
    response = submit(client, f"{photos_url}/{b.id}/delete", {})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(VenuePhoto, b_id) is None
    assert not any((uploads / name).exists() for name in b_files)
    assert session.get(Venue, venue.id).cover_photo_id == a.id
    # Another venue's photo is not reachable through this venue.
    other = make_venue(name="别的馆")
    assert client.get(f"/staff/venues/{other.id}/photos/{a.id}/delete").status_code in (403, 404)


def test_demo_venues_get_drawings_described_as_drawings(session, make_venue, uploads):
    from app.db import unit_of_work
    from venues.demo_photos import attach_drawings
    from venues.models import Venue

    make_venue(), make_venue(name="第二馆")
    for _ in range(2):  # the seeder runs again on every `make run`: nothing doubled
        with unit_of_work(session):
            attach_drawings(session)
    venues = session.scalars(select(Venue)).all()
    assert all(v.cover_photo_id and len(v.photos) == 1 for v in venues)
    cover = venues[0].cover_photo
    assert cover.filename.endswith(".svg") and (uploads / cover.filename).exists()
    assert "绘图" in cover.alt_zh and "not a photo" in cover.alt_en
    svg = (uploads / cover.filename).read_text()
    assert re.search(r"<svg[^>]*viewBox", svg) and "<script" not in svg
