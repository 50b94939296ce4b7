"""The TTS engines, for real: the espeak-ng binary, the library in the espeakng-loader wheel, Piper when a
voice model is provided (skipped otherwise)."""

from __future__ import annotations

import os
import shutil
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from loa.tts.engines import (
    DEFAULT_SPEED,
    EspeakNgEngine,
    PiperEngine,
    TtsError,
    check_speed,
    check_voice,
    get_engine,
    wav_duration,
)

TEXT = "Ủy ban nhân dân xã thông báo lịch tiêm phòng ngày hai mươi hai tháng năm"
HAS_BINARY = shutil.which("espeak-ng") is not None


def _samples(path: Path) -> tuple[int, np.ndarray]:
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        return w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def _assert_speech(path: Path) -> float:
    rate, samples = _samples(path)
    assert rate == 22050
    duration = len(samples) / rate
    assert 2.0 < duration < 10.0
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) / 32768
    assert rms > 0.02  # speech, not silence
    return duration


@pytest.mark.skipif(not HAS_BINARY, reason="espeak-ng is not installed on this machine")
@pytest.mark.parametrize("voice", ["north", "central", "south"])
def test_binary_speaks_every_voice(voice: str, tmp_path: Path) -> None:
    engine = EspeakNgEngine()
    assert engine.backend == "binary"
    out = engine.synthesize(TEXT, voice, DEFAULT_SPEED, out_dir=tmp_path)
    assert out.parent == tmp_path
    _assert_speech(out)


@pytest.mark.parametrize("voice", ["north", "south"])
def test_library_in_the_wheel_speaks_without_the_system_package(voice: str, tmp_path: Path) -> None:
    engine = EspeakNgEngine(binary="none")
    assert engine.backend == "library"
    _assert_speech(engine.synthesize(TEXT, voice, DEFAULT_SPEED, out_dir=tmp_path))


def test_voices_sound_different_and_speed_changes_the_duration(tmp_path: Path) -> None:
    engine = EspeakNgEngine()
    north = engine.synthesize(TEXT, "north", 140, out_dir=tmp_path)
    south = engine.synthesize(TEXT, "south", 140, out_dir=tmp_path)
    assert north.read_bytes() != south.read_bytes()
    slow = wav_duration(engine.synthesize(TEXT, "north", 100, out_dir=tmp_path))
    fast = wav_duration(engine.synthesize(TEXT, "north", 220, out_dir=tmp_path))
    assert fast < slow * 0.75


def test_text_that_looks_like_an_option_is_spoken_not_obeyed(tmp_path: Path) -> None:
    out = EspeakNgEngine().synthesize("--version -w /etc/passwd", "north", 140, out_dir=tmp_path)
    assert wav_duration(out) > 0.5
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


@pytest.mark.parametrize("binary", [None, "none"])
def test_synthesis_runs_under_a_time_limit_and_leaves_nothing(binary: str | None, tmp_path: Path) -> None:
    engine = EspeakNgEngine(binary=binary, timeout_s=0.05)
    with pytest.raises(TtsError) as err:
        engine.synthesize(TEXT * 200, "north", 140, out_dir=tmp_path)
    assert err.value.code == "tts_timeout"
    assert "quá" in err.value.message
    assert list(tmp_path.iterdir()) == []


def test_a_broken_binary_is_reported_in_vietnamese(tmp_path: Path) -> None:
    with pytest.raises(TtsError) as err:
        EspeakNgEngine(binary="/bin/false").synthesize(TEXT, "north", 140, out_dir=tmp_path)
    assert err.value.code == "tts_failed"
    assert list(tmp_path.iterdir()) == []


def test_voice_and_speed_checks() -> None:
    assert check_voice(None).espeak == "vi"
    assert check_voice("Central").espeak == "vi-vn-x-central"
    assert check_voice("vi-vn-x-south").key == "south"
    with pytest.raises(TtsError) as err:
        check_voice("tay-nguyen")
    assert err.value.code == "voice_unknown" and "Giọng đọc" in err.value.message
    assert check_speed(None) == DEFAULT_SPEED
    assert check_speed("160") == 160
    bad_speeds: list[tuple[Any, str]] = [
        ("nhanh", "speed_invalid"),
        (10, "speed_out_of_range"),
        (1000, "speed_out_of_range"),
    ]
    for bad, code in bad_speeds:
        with pytest.raises(TtsError) as err:
            check_speed(bad)
        assert err.value.code == code


def test_piper_needs_a_configured_model_and_never_downloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LOA_TTS_PIPER_MODEL", raising=False)
    monkeypatch.delenv("LOA_TTS_ENGINE", raising=False)
    with pytest.raises(TtsError) as err:
        PiperEngine(model="")
    assert err.value.code == "piper_not_configured"
    missing = tmp_path / "vi_VN-test-medium.onnx"
    with pytest.raises(TtsError) as err:
        PiperEngine(model=missing)
    assert err.value.code == "piper_model_missing" and "không tự tải" in err.value.message
    missing.write_bytes(b"not a model")
    with pytest.raises(TtsError) as err:
        PiperEngine(model=missing)
    assert err.value.code == "piper_config_missing"
    assert isinstance(get_engine(), EspeakNgEngine)
    monkeypatch.setenv("LOA_TTS_PIPER_MODEL", str(tmp_path / "absent.onnx"))
    with pytest.raises(TtsError) as err:
        get_engine()
    assert err.value.code == "piper_model_missing"
    assert isinstance(get_engine("espeak"), EspeakNgEngine)
    with pytest.raises(TtsError) as err:
        get_engine("festival")
    assert err.value.code == "engine_unknown"


PIPER_MODEL = os.environ.get("LOA_TTS_PIPER_MODEL", "")


@pytest.mark.skipif(not (PIPER_MODEL and Path(PIPER_MODEL).is_file()), reason="no Piper voice model provided")
def test_piper_speaks_with_the_operator_model(tmp_path: Path) -> None:  # pragma: no cover - needs a model
    out = PiperEngine(model=PIPER_MODEL).synthesize(TEXT, "north", 140, out_dir=tmp_path)
    assert wav_duration(out) > 1.0
