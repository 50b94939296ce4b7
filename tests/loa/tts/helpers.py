from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pyloudnorm


def measure_mp3(path: Path) -> tuple[int, float, float]:
    """(channels, duration s, integrated LUFS) of an MP3, decoded by ffmpeg and metered by pyloudnorm."""
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=channels,codec_name",
         "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    codec, channels = probe.stdout.strip().split(",")
    assert codec == "mp3"
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1", "-ar", "44100", "-"],
        capture_output=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    samples = np.frombuffer(raw, dtype="<f4").astype(np.float64)
    loudness = pyloudnorm.Meter(44100).integrated_loudness(samples)
    return int(channels), len(samples) / 44100, float(loudness)
