"""Image uploads, checked by content and re-encoded: only real JPEG/PNG/WebP (and HEIC where
pillow-heif is installed) pictures get through, within size and pixel limits, and what is stored
is a fresh JPEG with no metadata (EXIF, GPS) at most `max_side` pixels on its longest side.

Decoding costs CPU in proportion to pixels, not bytes: a PNG of a few kilobytes can declare
6300 x 6300 pixels. Each request gets UPLOAD_PIXEL_BUDGET pixels of decoding, charged from
each image's header before it is decoded, so no request can hold a worker for long."""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, has_request_context, request
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from app.errors import DomainError

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # refuses decompression bombs before decoding them
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "HEIF"}

try:  # HEIC from iPhones, when the optional library is present
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - optional
    pass


@dataclass
class StoredImage:
    filename: str
    width: int
    height: int
    thumb: str | None = None  # the thumbnail's file name, when one was asked for


def charge_pixels(pixels: int, field: str) -> None:
    """Count `pixels` against this request's decoding budget, or refuse them (DomainError on
    `field`) if they would exceed it. Outside a request (CLI, demo data) there is no budget."""
    if not has_request_context():
        return
    budget = current_app.config.get("UPLOAD_PIXEL_BUDGET") or 0
    # Kept on the request itself: `g` lives as long as the app context, which a test (or a
    # CLI command) may hold across several requests.
    used = getattr(request, "portal_upload_pixels", 0)
    if budget and used + pixels > budget:
        raise DomainError(
            _l("These photos have too many pixels together. Send fewer or smaller photos."),
            field=field,
            code="pixel_budget",
        )
    request.portal_upload_pixels = used + pixels


def store_image(
    data: bytes,
    folder: str,
    *,
    max_side: int = 1600,
    field: str = "photo",
    thumb_side: int | None = None,
) -> StoredImage:
    """Validate and re-encode `data`; save it under UPLOAD_DIR/folder, and a thumbnail at most
    `thumb_side` pixels on its longest side from the same decoding when asked. DomainError if
    refused, before anything is decoded."""
    if len(data) > MAX_BYTES:
        raise DomainError(
            _l("The photo is larger than %(mb)d MB. Choose a smaller one."),
            field=field,
            code="too_large",
            mb=MAX_BYTES // (1024 * 1024),
        )
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ALLOWED_FORMATS:
                raise DomainError(
                    _l("The file must be a JPEG, PNG, WebP or HEIC photo."),
                    field=field,
                    code="bad_type",
                )
            if probe.width * probe.height > MAX_PIXELS:
                raise DomainError(
                    _l("The photo has too many pixels. Choose a smaller one."),
                    field=field,
                    code="too_many_pixels",
                )
            charge_pixels(probe.width * probe.height, field)
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)  # keep the orientation the camera meant
            image = image.convert("RGB")
            image.thumbnail((max_side, max_side))
            out = _jpeg(image)
            width, height = image.size
            if thumb_side:
                image.thumbnail((thumb_side, thumb_side))
                thumb_out = _jpeg(image)
    except DomainError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own bomb check runs inside Image.open, before ours, on the declared size:
        # it raises above 2 x Image.MAX_IMAGE_PIXELS (and warns above it, an exception where
        # warnings are errors). Either way nothing was decoded and the answer is "too many pixels",
        # not "not a photo".
        raise DomainError(
            _l("The photo has too many pixels. Choose a smaller one."),
            field=field,
            code="too_many_pixels",
        ) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise DomainError(
            _l("The file must be a JPEG, PNG, WebP or HEIC photo."), field=field, code="bad_type"
        ) from None
    directory = Path(current_app.config["UPLOAD_DIR"]) / folder
    directory.mkdir(parents=True, exist_ok=True)
    filename = f"{secrets.token_hex(12)}.jpg"
    (directory / filename).write_bytes(out.getvalue())
    thumb = None
    if thumb_side:
        thumb = f"{secrets.token_hex(12)}.jpg"
        (directory / thumb).write_bytes(thumb_out.getvalue())
    return StoredImage(filename=filename, width=width, height=height, thumb=thumb)


def _jpeg(image) -> io.BytesIO:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, optimize=True)  # no exif= : metadata is dropped
    return out


def remove_image(folder: str, filename: str) -> None:
    path = Path(current_app.config["UPLOAD_DIR"]) / folder / filename
    path.unlink(missing_ok=True)
