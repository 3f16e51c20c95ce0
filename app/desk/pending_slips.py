"""A scanned slip kept while the clerk corrects the consent form: a browser cannot keep a chosen
file across a page with errors, so the desk keeps it (under UPLOAD_DIR/consent-slips-pending,
never served) and the form carries its id in a hidden field. The id names the clerk who sent
it and 96 random bits: another clerk's id, a guessed id or one older than KEEP_SECONDS finds
nothing. The file is only bytes as sent; the consent service checks it when it is recorded."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

from app.uploads import MAX_BYTES

FOLDER = "consent-slips-pending"
KEEP_SECONDS = 24 * 3600  # a form corrected later than a day is started again
_ID = re.compile(r"^(\d+)-([0-9a-f]{24})$")


def _folder(upload_dir: str) -> Path:
    return Path(upload_dir) / FOLDER


def _path(upload_dir: str, slip_id: str, clerk_id: int) -> Path | None:
    match = _ID.match(slip_id or "")
    if match is None or int(match.group(1)) != clerk_id:
        return None
    path = _folder(upload_dir) / slip_id
    if not path.is_file() or path.stat().st_mtime < time.time() - KEEP_SECONDS:
        return None
    return path


def keep(upload_dir: str, clerk_id: int, data: bytes) -> str | None:
    """Keep `data` for `clerk_id`'s retry; its id (None when larger than an upload may be:
    the service would refuse it anyway). Slips left over a day are removed first."""
    if not data or len(data) > MAX_BYTES:
        return None
    folder = _folder(upload_dir)
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - KEEP_SECONDS
    for old in folder.iterdir():
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    slip_id = f"{clerk_id}-{secrets.token_hex(12)}"
    (folder / slip_id).write_bytes(data)
    return slip_id


def take(upload_dir: str, clerk_id: int, slip_id: str) -> bytes | None:
    """The bytes kept under `slip_id` for `clerk_id`; None if there are none for them."""
    path = _path(upload_dir, slip_id, clerk_id)
    return path.read_bytes() if path is not None else None


def drop(upload_dir: str, clerk_id: int, slip_id: str | None) -> None:
    """Forget a kept slip (recorded, replaced or refused)."""
    path = _path(upload_dir, slip_id or "", clerk_id)
    if path is not None:
        path.unlink(missing_ok=True)
