"""Image uploads, checked by content and re-encoded: only real JPEG/PNG/WebP (and HEIC where
pillow-heif is installed) pictures get through, within size and pixel limits, and what is stored
is a fresh JPEG with no metadata (EXIF, GPS) at most `max_side` pixels on its longest side."""
from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
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


def store_image(data: bytes, folder: str, *, max_side: int = 1600, field: str = "photo") -> StoredImage:
    """Validate and re-encode `data`; save it under UPLOAD_DIR/folder. DomainError if refused."""
    if len(data) > MAX_BYTES:
        raise DomainError(_l("The photo is larger than %(mb)d MB. Choose a smaller one."),
                          field=field, code="too_large", mb=MAX_BYTES // (1024 * 1024))
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ALLOWED_FORMATS:
                raise DomainError(_l("The file must be a JPEG, PNG, WebP or HEIC photo."),
                                  field=field, code="bad_type")
            if probe.width * probe.height > MAX_PIXELS:
                raise DomainError(_l("The photo has too many pixels. Choose a smaller one."),
                                  field=field, code="too_many_pixels")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image)  # keep the orientation the camera meant
            image = image.convert("RGB")
            image.thumbnail((max_side, max_side))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=85, optimize=True)  # no exif= : metadata is dropped
            width, height = image.size
    except DomainError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own bomb check runs inside Image.open, before ours, on the declared size:
        # it raises above 2 x Image.MAX_IMAGE_PIXELS (and warns above it, an exception where
        # warnings are errors). Either way nothing was decoded and the answer is "too many pixels",
        # not "not a photo".
        raise DomainError(_l("The photo has too many pixels. Choose a smaller one."),
                          field=field, code="too_many_pixels") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise DomainError(_l("The file must be a JPEG, PNG, WebP or HEIC photo."),
                          field=field, code="bad_type") from None
    directory = Path(current_app.config["UPLOAD_DIR"]) / folder
    directory.mkdir(parents=True, exist_ok=True)
    filename = f"{secrets.token_hex(12)}.jpg"
    (directory / filename).write_bytes(out.getvalue())
    return StoredImage(filename=filename, width=width, height=height)


def remove_image(folder: str, filename: str) -> None:
    path = Path(current_app.config["UPLOAD_DIR"]) / folder / filename
    path.unlink(missing_ok=True)
