"""Speech whose level is known (the speech engine's calibrated gain) skips measuring the input: one encode, one
check of the produced MP3 — and still lands on the loudness target, measured independently (pyloudnorm)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from loa.media.audio import process_audio
from loa.tts import services as tts
from loa.tts.engines import EspeakNgEngine

from .conftest import measure_lufs

TARGET = -16.0
TEXTS = [
    "Cảnh báo khẩn: lũ quét và sạt lở đất. Bà con không qua ngầm, tràn; di chuyển ngay đến nơi an toàn.",
    "Xin chào bà con.",
]

needs_espeak = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng không có trên máy")


@needs_espeak
@pytest.mark.parametrize(("voice", "text"), [("north", TEXTS[0]), ("central", TEXTS[1]), ("south", TEXTS[0])])
def test_engine_speech_with_its_calibrated_gain_is_on_target_without_measuring_the_input(
    voice: str, text: str, tmp_path: Path
) -> None:
    assert voice in EspeakNgEngine.calibrated_gain_db
    spoken = tts.speak(text, voice=voice, store_root=tmp_path, include_db=False)
    result = spoken.audio
    assert (
        result.input_loudness_lufs is None
    )  # the input was not metered (pass 1 and the gain search skipped)
    assert result.passes <= 4  # encode + check, at most one correction (was 5–6 passes)
    lufs, channels, _rate = measure_lufs(result.path)
    assert abs(lufs - TARGET) <= 1.0, f"{voice}: pyloudnorm measured {lufs:.2f} LUFS"
    assert abs(result.loudness_lufs - TARGET) <= 0.5 and result.true_peak_dbtp <= -1.5
    assert channels == 1


@pytest.mark.parametrize("wrong", [-6.0, 1.0])
def test_a_known_gain_that_misses_is_not_trusted(
    wrong: float, sources: dict[str, Path], tmp_path: Path
) -> None:
    """A wrong "known" gain is not trusted: the produced MP3 is metered, and a large miss (12 dB short) or one
    the corrections do not fix sends the file the full way (the input measured) — on target either way."""
    result = process_audio(sources["wav"], tmp_path / "store", known_gain_db=wrong)
    lufs, _channels, _rate = measure_lufs(result.path)
    assert abs(lufs - TARGET) <= 1.0, f"pyloudnorm measured {lufs:.2f} LUFS"
    assert abs(result.loudness_lufs - TARGET) <= 0.5 and result.true_peak_dbtp <= -1.5
