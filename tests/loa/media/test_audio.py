"""The audio pipeline with real ffmpeg: loudness on target for every accepted format, refusals leave nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from loa.media import audio
from loa.media.audio import MediaRejected, process_audio

from .conftest import files_under, measure_lufs

TARGET = -16.0


@pytest.mark.parametrize("name", ["wav", "mp3", "m4a", "ogg", "opus", "quiet_wav"])
def test_each_format_comes_out_on_target_measured_independently(
    name: str, sources: dict[str, Path], tmp_path: Path
) -> None:
    src = sources[name]
    before = src.read_bytes()
    result = process_audio(src, tmp_path / "store")

    lufs, channels, rate = measure_lufs(result.path)
    assert abs(lufs - TARGET) <= 1.0, f"{name}: pyloudnorm measured {lufs:.2f} LUFS"
    assert abs(result.loudness_lufs - TARGET) <= 1.0
    assert result.true_peak_dbtp <= -1.0  # ceiling -1.5 dBTP (the meter rounds to 0.1)
    assert (channels, rate) == (1, 44100)  # the device format (speech made by the engine: tests/loa/tts)
    probe = audio.probe(result.path, decode=False)
    assert probe.codec == "mp3"
    assert abs(result.duration_s - probe.duration_s) < 0.2 and result.duration_s > 2

    # content-addressed, original kept byte for byte, source untouched
    assert result.path == tmp_path / "store" / result.sha256[:2] / result.sha256[2:4] / f"{result.sha256}.mp3"
    assert audio.sha256_file(result.path) == result.sha256
    assert result.original_path.read_bytes() == before
    assert audio.sha256_file(result.original_path) == result.original_sha256
    assert src.read_bytes() == before
    assert not (tmp_path / "store" / ".tmp").exists()

    assert len(result.waveform) == audio.WAVEFORM_POINTS
    assert all(0.0 <= v <= 1.0 for v in result.waveform) and max(result.waveform) > 0.3


def test_a_soft_tone_takes_the_plain_gain_path_and_speech_near_full_scale_the_limiter(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    noise = process_audio(sources["ogg"], tmp_path)
    loud = process_audio(sources["wav"], tmp_path)
    assert noise.limited is False and noise.gain_db > 10
    assert loud.limited is True
    assert noise.input_loudness_lufs is not None and noise.input_loudness_lufs < -25


def test_same_input_gives_the_same_stored_file(sources: dict[str, Path], tmp_path: Path) -> None:
    first = process_audio(sources["mp3"], tmp_path)
    second = process_audio(sources["mp3"], tmp_path)
    assert (first.sha256, first.path) == (second.sha256, second.path)
    assert len(files_under(tmp_path)) == 2  # one processed file, one original


def test_target_can_be_set_per_call(sources: dict[str, Path], tmp_path: Path) -> None:
    result = process_audio(sources["ogg"], tmp_path, target_lufs=-23.0)
    lufs, _ch, _rate = measure_lufs(result.path)
    assert abs(lufs + 23.0) <= 1.0


REFUSALS = [
    ("png_as_mp3", "not_audio", "ảnh PNG"),
    ("empty", "empty_file", "Tệp rỗng"),
    ("truncated", "corrupt", "bị hỏng hoặc không đầy đủ"),
    ("garbage", "not_audio", "không phải âm thanh hợp lệ"),
    ("video_only", "no_audio_stream", "video không có tiếng"),
    ("silent", "silent", "im lặng"),
]


@pytest.mark.parametrize(("name", "code", "words"), REFUSALS)
def test_bad_input_is_refused_with_a_vietnamese_message_and_leaves_nothing(
    name: str, code: str, words: str, sources: dict[str, Path], tmp_path: Path
) -> None:
    store = tmp_path / "store"
    with pytest.raises(MediaRejected) as info:
        process_audio(sources[name], store)
    assert info.value.code == code
    assert words in info.value.message
    assert files_under(store) == []
    assert sources[name].exists()


def test_over_the_duration_limit_is_refused(settings: Any, sources: dict[str, Path], tmp_path: Path) -> None:
    settings.LOA_MEDIA_MAX_DURATION_S = 3
    with pytest.raises(MediaRejected) as info:
        process_audio(sources["wav"], tmp_path)
    assert info.value.code == "too_long"
    assert "vượt giới hạn 3 giây" in info.value.message
    assert files_under(tmp_path) == []


def test_over_the_size_limit_is_refused(settings: Any, sources: dict[str, Path], tmp_path: Path) -> None:
    settings.LOA_MEDIA_MAX_BYTES = 10_000
    with pytest.raises(MediaRejected) as info:
        process_audio(sources["wav"], tmp_path)
    assert info.value.code == "too_large"
    assert files_under(tmp_path) == []


def test_processing_that_runs_out_of_time_is_killed_and_refused(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    started = time.monotonic()
    with pytest.raises(MediaRejected) as info:
        process_audio(sources["long"], tmp_path, timeout_s=0.5)
    assert info.value.code == "timeout"
    assert "quá thời gian" in info.value.message
    assert time.monotonic() - started < 5
    assert files_under(tmp_path) == []


def test_a_named_pipe_is_refused_before_ffmpeg_could_block_on_it(tmp_path: Path) -> None:
    fifo = tmp_path / "never.mp3"
    os.mkfifo(fifo)
    with pytest.raises(MediaRejected) as info:
        process_audio(fifo, tmp_path / "store")
    assert info.value.code == "not_a_file"
    assert files_under(tmp_path / "store") == []


def test_a_hanging_ffmpeg_is_killed_with_its_process_group(tmp_path: Path) -> None:
    """ffmpeg reading a FIFO that never delivers data blocks forever: the time limit kills it."""
    fifo = tmp_path / "hang.wav"
    os.mkfifo(fifo)
    cmd = [audio.ffmpeg_path(), "-nostdin", "-v", "error", "-i", str(fifo), "-f", "null", "-"]
    started = time.monotonic()
    seen: list[int] = []
    real_popen = subprocess.Popen

    def spy(*args: Any, **kwargs: Any) -> Any:
        proc = real_popen(*args, **kwargs)
        seen.append(proc.pid)
        return proc

    subprocess.Popen = spy  # type: ignore[misc]
    try:
        with pytest.raises(MediaRejected) as info:
            audio._run(cmd, time.monotonic() + 1.0)
    finally:
        subprocess.Popen = real_popen  # type: ignore[misc]
    assert info.value.code == "timeout"
    assert 0.9 < time.monotonic() - started < 10
    with pytest.raises(ProcessLookupError):
        os.killpg(seen[0], signal.SIG_DFL or 0)


def test_probe_reads_what_the_file_is(sources: dict[str, Path]) -> None:
    info = audio.probe(sources["m4a"])
    assert info.demuxer == "mov" and info.codec == "aac" and info.channels == 2 and info.sample_rate == 48000
    assert info.original_ext == "m4a"
    assert 4 < info.duration_s < 15


def test_binaries_can_be_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FFMPEG", "/opt/elsewhere/ffmpeg")
    assert audio.ffmpeg_path() == "/opt/elsewhere/ffmpeg"
    monkeypatch.delenv("FFMPEG")
    assert audio.ffmpeg_path() == "/usr/bin/ffmpeg"


@pytest.mark.parametrize("name", ["wav", "mp3", "ogg", "m4a"])
def test_an_engine_s_wav_header_says_what_ffprobe_says(
    name: str, sources: dict[str, Path], tmp_path: Path
) -> None:
    """The speech engine's output is read from its WAV header instead of starting ffprobe; anything that is not a
    16-bit PCM WAV is left to ffprobe (``None``)."""
    from loa.media.audio import probe_engine_wav

    src = sources[name]
    read = probe_engine_wav(src)
    if name != "wav":
        assert read is None
        return
    probed = audio.probe(src, decode=False)
    assert read is not None
    assert (read.demuxer, read.codec, read.sample_rate, read.channels, read.size_bytes) == (
        probed.demuxer, probed.codec, probed.sample_rate, probed.channels, probed.size_bytes,
    )  # fmt: skip
    assert abs(read.duration_s - probed.duration_s) < 0.01
    float_wav = tmp_path / "float.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(src), "-c:a", "pcm_f32le", str(float_wav)], check=True)
    assert probe_engine_wav(float_wav) is None
    assert probe_engine_wav(sources["mp3"].with_name("khong-co.wav")) is None
