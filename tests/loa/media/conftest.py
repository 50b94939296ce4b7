"""Real audio files for the media tests, generated once per session with ffmpeg (and espeak-ng when present).

Each source is a few seconds long; loudness and peaks differ so that both the plain-gain path and the
limiter path of the pipeline are exercised.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyloudnorm
import pytest
import soundfile

from loa.media.audio import ffmpeg_path

SPEECH = (
    "Thông báo của Ủy ban nhân dân phường về việc phòng chống cơn bão số ba. "
    "Đề nghị bà con chằng chống nhà cửa và theo dõi thông tin trên hệ thống loa."
)


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_path(), "-hide_banner", "-v", "error", "-y", *args], check=True, timeout=120)


def measure_lufs(path: Path) -> tuple[float, int, int]:
    """Integrated loudness of ``path`` by pyloudnorm (BS.1770-4), independent of the pipeline's meter.

    Returns (LUFS, channels, sample rate) of the decoded file.
    """
    wav = path.with_suffix(".check.wav")
    ffmpeg("-i", str(path), "-c:a", "pcm_f32le", str(wav))
    try:
        data, rate = soundfile.read(str(wav), dtype="float64")
    finally:
        wav.unlink(missing_ok=True)
    channels = 1 if data.ndim == 1 else data.shape[1]
    return float(pyloudnorm.Meter(rate).integrated_loudness(data)), channels, int(rate)


def _speech_wav(out: Path) -> None:
    espeak = shutil.which("espeak-ng")
    if espeak:
        subprocess.run([espeak, "-v", "vi", "-s", "150", "-w", str(out), SPEECH], check=True, timeout=60)
    else:  # a speech-like stand-in: pink noise shaped into syllables (4 Hz) and phrases
        ffmpeg(
            "-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.5:duration=6:seed=7",
            "-af", "tremolo=f=4:d=0.9,tremolo=f=0.5:d=0.6,highpass=f=120,lowpass=f=5000", str(out),
        )  # fmt: skip


@pytest.fixture(scope="session")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name → a real audio file. Loudness before processing, roughly: loud speech ≈ −18 LUFS with peaks
    near 0 dBFS (limiter path), quiet speech ≈ −38 LUFS, a tremolo tone ≈ −30 LUFS with low peaks (plain gain)."""
    d = tmp_path_factory.mktemp("media-sources")
    speech = d / "speech-base.wav"
    _speech_wav(speech)
    files = {
        "wav": d / "speech.wav",
        "mp3": d / "speech.mp3",
        "m4a": d / "speech.m4a",
        "ogg": d / "tone.ogg",
        "opus": d / "recording.webm",
        "quiet_wav": d / "quiet.wav",
    }
    ffmpeg("-i", str(speech), "-ar", "44100", "-ac", "2", "-c:a", "pcm_s16le", str(files["wav"]))
    ffmpeg("-i", str(speech), "-af", "volume=-3dB", "-c:a", "libmp3lame", "-b:a", "96k", str(files["mp3"]))
    ffmpeg(
        "-i", str(speech), "-af", "volume=-10dB", "-ar", "48000", "-ac", "2", "-c:a", "aac", "-b:a", "96k",
        str(files["m4a"]),
    )  # fmt: skip
    ffmpeg(
        "-f", "lavfi", "-i",
        "aevalsrc=0.05*sin(2*PI*220*t)*(0.6+0.4*sin(2*PI*3*t))+0.02*sin(2*PI*1320*t):s=44100:d=5",
        "-c:a", "libvorbis", "-q:a", "4", str(files["ogg"]),
    )  # fmt: skip
    # what Chromium's MediaRecorder produces: WebM with Opus at 48 kHz
    ffmpeg(
        "-i",
        str(speech),
        "-af",
        "volume=-6dB",
        "-ar",
        "48000",
        "-c:a",
        "libopus",
        "-b:a",
        "32k",
        str(files["opus"]),
    )
    ffmpeg("-i", str(speech), "-af", "volume=-20dB", "-c:a", "pcm_s16le", str(files["quiet_wav"]))

    # bad inputs
    png = d / "image.png"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x64:duration=1", "-frames:v", "1", str(png))
    files["png_as_mp3"] = d / "not-audio.mp3"
    shutil.copyfile(png, files["png_as_mp3"])
    files["empty"] = d / "empty.mp3"
    files["empty"].write_bytes(b"")
    whole = d / "whole.mp3"
    ffmpeg("-i", str(speech), "-c:a", "libmp3lame", "-b:a", "64k", str(whole))
    files["truncated"] = d / "truncated.mp3"
    data = whole.read_bytes()
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["garbage"] = d / "garbage.wav"
    files["garbage"].write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    files["video_only"] = d / "video.mp4"
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=64x64:duration=2", "-an", "-c:v", "mpeg4", str(files["video_only"])
    )
    files["silent"] = d / "silence.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono", "-t", "3", str(files["silent"]))
    # long enough that processing cannot finish under a very short time limit: 30 minutes at 8 kHz
    files["long"] = d / "long.wav"
    ffmpeg(
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000:duration=1800", "-af", "volume=-20dB",
        "-c:a", "pcm_s16le", str(files["long"]),
    )  # fmt: skip
    return files


@pytest.fixture
def store(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """A private MEDIA_ROOT (and Django upload temp dir) per test; yields the audio store folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "upload-tmp")
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000  # uploads stream to temporary files, as large ones do
    (tmp_path / "upload-tmp").mkdir()
    yield tmp_path / "media" / "audio"


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
