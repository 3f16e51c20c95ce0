"""The recording's format: espeak-ng writes 16-bit PCM WAV (22,050 Hz mono, about 2.6 MB a
minute); the portal keeps and serves MP3, which every browser's <audio> plays, at a speech
bitrate (24 kbit/s, 16 kHz mono by default: about 180 KB a minute, some 15 times smaller).

The encoder is LAME through `lameenc` (a wheel with LAME inside: no system package), kept
behind this one function so that it can be swapped without touching the rest. The WAV is read
with the standard library's `wave` module (not `audioop`, which Python 3.13 removed).
"""

from __future__ import annotations

import wave
from pathlib import Path

import lameenc

CHUNK_FRAMES = 22050 * 10  # ten seconds of speech at a time: memory stays small for long pages
MIMETYPE = "audio/mpeg"
SUFFIX = ".mp3"
# MPEG-2 Layer III (the low-rate half of MP3, which every MP3 decoder plays) takes these
# sample rates and bitrates; anything else would be silently changed by LAME.
SAMPLE_RATES = (16000, 22050, 24000)
BITRATES = (8, 16, 24, 32, 40, 48, 56, 64)


class NotSpeech(ValueError):
    """The WAV file is not espeak-ng's 16-bit PCM, or holds no sound."""


def wav_to_mp3(source: Path, target: Path, bitrate_kbps: int, sample_rate: int) -> int:
    """Encode the 16-bit mono PCM WAV at `source` (espeak-ng's) into a constant-bitrate mono MP3
    at `target` (`bitrate_kbps`, resampled to `sample_rate`); returns the bytes written. Raises
    NotSpeech for a WAV that is not 16-bit mono PCM or has no frames."""
    if sample_rate not in SAMPLE_RATES or bitrate_kbps not in BITRATES:
        raise ValueError(f"MP3 speech needs a rate in {SAMPLE_RATES} and kbit/s in {BITRATES}")
    try:
        reader = wave.open(str(source), "rb")
    except (wave.Error, EOFError) as error:
        raise NotSpeech(str(error)) from error
    with reader, open(target, "wb") as out:
        if reader.getsampwidth() != 2 or reader.getnchannels() != 1 or reader.getnframes() == 0:
            raise NotSpeech("not 16-bit mono PCM, or no sound")
        encoder = lameenc.Encoder()
        encoder.set_in_sample_rate(reader.getframerate())
        encoder.set_channels(1)
        encoder.set_out_sample_rate(sample_rate)
        encoder.set_bit_rate(bitrate_kbps)
        encoder.set_quality(7)  # LAME's fast setting: speech loses nothing audible at this rate
        written = 0
        while frames := reader.readframes(CHUNK_FRAMES):
            written += out.write(encoder.encode(frames))
        written += out.write(encoder.flush())
    return written
