"""Read-aloud (语音播报): text to speech with Debian's espeak-ng, cached on disk for a short time.

What this guarantees:
- `speak` turns a text into an MP3 file (services/mp3.py: speech bitrate, some 15 times smaller
  than espeak-ng's WAV, playable by every browser) with `espeak-ng` (Mandarin voice `cmn` for
  Chinese pages, an English voice for English ones, at the normal or slow speed), run without a
  shell, the text on its standard input (never on the command line, where other users of the
  machine could read it), with a timeout. A text longer than `max_chars` is cut at a line break
  before that length and said to be cut (`Speech.cut`); an empty text is refused.
- The file is kept in `cache_dir` under a keyed hash (HMAC with the app's secret) of the voice,
  speed, format and text: the same words are synthesised once, and a file's name reveals nothing
  of its words and cannot be computed by anyone without the secret. The text itself is never
  stored.
- Pages can hold personal data, so files live at most `cache_seconds` (a file that old is made
  again rather than served) and the cache never holds more than `cache_bytes`: each synthesis
  removes expired files and then the oldest until it fits, and `sweep` (run by `flask sweep`)
  removes expired files on every node.
- Without espeak-ng installed, `speak` raises `Unavailable` (the page says so and still shows
  the words; browsers with their own speech synthesis still read aloud).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import shutil
import subprocess  # nosec B404 # espeak-ng, by absolute path, without a shell
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l

from accessibility.readaloud.services import mp3
from app.errors import DomainError

SPEEDS = ("normal", "slow")
LANGUAGES = ("zh", "en")
KEY = re.compile(r"^[0-9a-f]{64}$")
SUFFIX = mp3.SUFFIX
MIMETYPE = mp3.MIMETYPE
LEGACY = (".wav",)  # recordings kept before MP3: removed by the sweep like expired ones


class Unavailable(DomainError):
    status = 503
    code = "readaloud_unavailable"


class NothingToRead(DomainError):
    code = "readaloud_empty"


@dataclass(frozen=True)
class ReadAloudSettings:
    cache_dir: Path
    secret: bytes
    espeak: str = "espeak-ng"  # a command name found on PATH, or an absolute path
    voice_zh: str = "cmn"
    voice_en: str = "en-gb"
    words_per_minute_normal: int = 160
    words_per_minute_slow: int = 110
    max_chars: int = 1500
    cache_seconds: int = 3600
    cache_bytes: int = 200 * 1024 * 1024
    timeout_seconds: float = 30.0
    bitrate_kbps: int = 24  # MP3 at 16 kHz mono: clear speech at about 180 KB a minute
    sample_rate: int = 16000

    def voice(self, language: str) -> str:
        return self.voice_en if language == "en" else self.voice_zh

    def rate(self, speed: str) -> int:
        return self.words_per_minute_slow if speed == "slow" else self.words_per_minute_normal


@dataclass(frozen=True)
class Speech:
    key: str  # the cached file's name without its suffix (.mp3)
    path: Path
    text: str  # what is read (the text, cut to max_chars)
    cut: bool  # the text was longer than max_chars and only its beginning is read
    cached: bool  # served from the cache, not synthesised now

    @property
    def size(self) -> int:
        """The recording's size in bytes (said beside its link: phones pay for data)."""
        try:
            return self.path.stat().st_size
        except OSError:  # removed by a sweep meanwhile: the link then finds it gone, too
            return 0


def language_of(lang_attribute: str) -> str:
    """The read-aloud language for a page's `lang` ("en", "en-GB" -> "en"; anything else zh)."""
    return "en" if (lang_attribute or "").lower().startswith("en") else "zh"


def _cut(text: str, limit: int) -> tuple[str, bool]:
    text = text.strip()
    if len(text) <= limit:
        return text, False
    head = text[:limit]
    at = head.rfind("\n")
    return (head[:at] if at > limit // 2 else head).strip(), True


def cache_key(settings: ReadAloudSettings, text: str, language: str, speed: str) -> str:
    """The keyed hash naming the audio of `text` in `language` at `speed`."""
    audio = f"{SUFFIX}:{settings.bitrate_kbps}:{settings.sample_rate}"
    message = "\x00".join((settings.voice(language), str(settings.rate(speed)), audio, text))
    return hmac.new(settings.secret, message.encode("utf-8"), hashlib.sha256).hexdigest()


def cached_file(settings: ReadAloudSettings, key: str) -> Path | None:
    """The audio file named `key` if it exists and is younger than `cache_seconds`, else None.
    `key` is checked to be a hash (never a path)."""
    if not KEY.match(key or ""):
        return None
    path = settings.cache_dir / (key + SUFFIX)
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return None
    return path if age < settings.cache_seconds else None


def espeak_path(settings: ReadAloudSettings) -> str | None:
    """The espeak-ng executable, or None when it is not installed."""
    return shutil.which(settings.espeak)


def speak(settings: ReadAloudSettings, text: str, language: str, speed: str) -> Speech:
    """The MP3 audio of `text` (cut to `max_chars`) read in `language` ("zh" or "en") at
    `speed` ("normal" or "slow"): from the cache, or synthesised now and cached. Raises
    NothingToRead for an empty text, Unavailable when espeak-ng is missing, fails or times out."""
    language = language if language in LANGUAGES else "zh"
    speed = speed if speed in SPEEDS else "normal"
    text, cut = _cut(text, settings.max_chars)
    if not text:
        raise NothingToRead(_l("There is nothing on this page to read aloud."))
    key = cache_key(settings, text, language, speed)
    path = cached_file(settings, key)
    if path is not None:
        return Speech(key, path, text, cut, cached=True)
    path = _synthesise(settings, text, language, speed, key)
    return Speech(key, path, text, cut, cached=False)


def _synthesise(settings, text: str, language: str, speed: str, key: str) -> Path:
    program = espeak_path(settings)
    if program is None:
        raise Unavailable(_l("Reading aloud by the server is not available at the moment."))
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    _make_room(settings)
    command = [
        program,
        "-v",
        settings.voice(language),
        "-s",
        str(settings.rate(speed)),
        "-l",
        str(settings.max_chars + 1),  # every line ends a clause: a pause between blocks
        "-w",
        "",  # the partial file, below
        "--stdin",
    ]
    # A sweep on another node (or one whose clock is far ahead) may remove a partial file while
    # it is written: made again once, then refused like any other failure.
    for _attempt in range(2):
        final = _run(settings, command, text, key)
        if final is not None:
            return final
    raise Unavailable(_l("Reading aloud by the server is not available at the moment."))


def _run(settings: ReadAloudSettings, command: list[str], text: str, key: str) -> Path | None:
    """espeak-ng into a partial WAV file, encoded into a partial MP3 beside the final one, then
    renamed into place (a reader never meets half a file; two nodes making the same file both
    end with a whole one). None if a partial file went missing meanwhile; Unavailable if
    espeak-ng fails, times out or says nothing."""
    handle, wav = tempfile.mkstemp(suffix=".part", dir=settings.cache_dir)
    os.close(handle)
    handle, partial = tempfile.mkstemp(suffix=".part", dir=settings.cache_dir)
    os.close(handle)
    command = [*command[:-2], wav, command[-1]]
    try:
        done = subprocess.run(  # nosec B603 # fixed arguments, no shell, the text on stdin
            command,
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=settings.timeout_seconds,
            check=False,
        )
        if done.returncode != 0:
            raise Unavailable(_l("Reading aloud by the server is not available at the moment."))
        try:
            mp3.wav_to_mp3(Path(wav), Path(partial), settings.bitrate_kbps, settings.sample_rate)
        except mp3.NotSpeech as error:  # a WAV header and no sound
            raise Unavailable(
                _l("Reading aloud by the server is not available at the moment.")
            ) from error
        final = settings.cache_dir / (key + SUFFIX)
        os.replace(partial, final)
        return final
    except FileNotFoundError:
        return None
    except subprocess.TimeoutExpired as error:
        raise Unavailable(
            _l("Reading aloud by the server is not available at the moment.")
        ) from error
    finally:
        for leftover in (wav, partial):
            if os.path.exists(leftover):
                os.unlink(leftover)


def _files(settings: ReadAloudSettings, suffixes=(SUFFIX, ".part", *LEGACY)):
    try:
        entries = list(os.scandir(settings.cache_dir))
    except OSError:
        return []
    found = []
    for entry in entries:
        if entry.name.endswith(suffixes):
            try:
                stat = entry.stat()
            except OSError:  # removed meanwhile by another process
                continue
            found.append((stat.st_mtime, stat.st_size, entry.path))
    return sorted(found)


def _remove(path: str) -> bool:
    try:
        os.unlink(path)
        return True
    except OSError:  # another node removed it first
        return False


def sweep(settings: ReadAloudSettings, now: float | None = None) -> int:
    """Remove every cached file older than `cache_seconds` (and a partial file left by a killed
    synthesis); returns how many. Safe to run on several nodes at once."""
    now = time.time() if now is None else now
    return sum(
        _remove(path)
        for modified, _, path in _files(settings)
        if now - modified >= settings.cache_seconds
    )


def _make_room(settings: ReadAloudSettings) -> None:
    """Expired files go, then the oldest until the cache is under its budget (leaving room for
    the file about to be made, a minute of speech at most for most pages)."""
    sweep(settings)
    files = _files(settings, (SUFFIX,))  # never a partial file: another synthesis is writing it
    total = sum(size for _, size, _ in files)
    budget = settings.cache_bytes * 9 // 10
    for _, size, path in files:
        if total <= budget:
            break
        if _remove(path):
            total -= size
