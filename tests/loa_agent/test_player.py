"""The real players, measured: the ffmpeg player renders to WAV files (its test output) whose level, gaps and length
are measured with ffmpeg's volumedetect and numpy; ffplay runs with SDL's dummy audio driver."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from loa_agent.player import BLOCK_S, PCM_RATE, NullPlayer, PcmPlayer, ProcessPlayer, find_player

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(not FFMPEG, reason="cần ffmpeg")


def tone(path: Path, seconds: float) -> Path:
    """A 1 kHz sine at -6 dBFS (what a bulletin's speech would be, as a steady level to measure)."""
    subprocess.run([FFMPEG or "ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"sine=frequency=1000:sample_rate=24000:duration={seconds}", "-af", "volume=4",
                    "-c:a", "libmp3lame", "-b:a", "64k", str(path)], check=True)  # fmt: skip
    return path


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timeout"
        time.sleep(0.02)


def frames(path: Path) -> int:
    """Frames written so far (16-bit mono WAV, 44-byte header); the file grows in real time."""
    return max(0, (path.stat().st_size - 44) // 2) if path.exists() else 0


def mean_volume_db(path: Path, start_s: float, end_s: float) -> float:
    """ffmpeg's volumedetect over [start_s, end_s) of ``path``."""
    out = subprocess.run([FFMPEG or "ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af",
                          f"atrim=start={start_s}:end={end_s},volumedetect", "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr  # fmt: skip
    match = re.search(r"mean_volume: (-?[0-9.]+) dB", out)
    assert match, out
    return float(match.group(1))


def loud_blocks(path: Path, threshold_db: float = -40.0) -> list[bool]:
    """For each 20 ms of ``path``: is it sound (True) or silence?"""
    import numpy as np
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float64")
    n = int(rate * BLOCK_S)
    blocks = data[: len(data) // n * n].reshape(-1, n)
    rms = np.sqrt((blocks**2).mean(axis=1)) + 1e-12
    return [bool(x) for x in 20 * np.log10(rms) > threshold_db]


@needs_ffmpeg
def test_a_volume_change_applies_at_once_and_half_the_volume_is_6_db_less(tmp_path: Path) -> None:
    player = PcmPlayer(FFMPEG or "ffmpeg", output_dir=tmp_path / "out")
    player.play("tone", tone(tmp_path / "tone.mp3", 3), 0.0, 100)
    out = player.outputs[0]
    assert player.applied_volume() == 100
    wait_for(lambda: frames(out) >= 1.2 * PCM_RATE)
    player.set_volume(50)
    changed_s = frames(out) / PCM_RATE
    assert player.applied_volume() == 50
    wait_for(lambda: not player.running())
    assert player.applied_volume() is None  # nothing plays
    total_s = frames(out) / PCM_RATE
    assert total_s == pytest.approx(3.0, abs=0.1)
    before = mean_volume_db(out, 0.2, changed_s - 0.1)
    after = mean_volume_db(out, changed_s + 0.1, total_s - 0.2)
    assert before == pytest.approx(-9.0, abs=1.5)  # the tone as made (-6 dBFS peak, sine: -9 dB mean)
    assert after - before == pytest.approx(-6.0, abs=0.5), (before, after)


@needs_ffmpeg
def test_pause_is_a_gap_of_silence_and_resume_goes_on_where_it_stopped(tmp_path: Path) -> None:
    player = PcmPlayer(FFMPEG or "ffmpeg", output_dir=tmp_path / "out")
    player.play("tone", tone(tmp_path / "tone.mp3", 2), 0.0, 80)
    out = player.outputs[0]
    wait_for(lambda: frames(out) >= 0.6 * PCM_RATE)
    player.pause()
    paused_at = frames(out)
    wait_for(lambda: frames(out) >= paused_at + 0.8 * PCM_RATE)  # the speaker is silent while paused
    player.resume()
    wait_for(lambda: not player.running())
    blocks = loud_blocks(out)
    sound = sum(blocks)
    # all of the item is heard, none of it skipped or repeated (one 20 ms block of slack each side)
    assert abs(sound - 2.0 / BLOCK_S) <= 3, sound
    # one run of silence, at least as long as the pause, between two runs of sound
    runs = [(k, len(list(g))) for k, g in itertools.groupby(blocks)]
    if runs[0] == (False, 1):
        runs = runs[1:]  # the MP3 encoder's padding at the start
    assert [k for k, _ in runs] == [True, False, True], runs
    assert runs[1][1] * BLOCK_S >= 0.75


@needs_ffmpeg
def test_stop_ends_the_output_at_once(tmp_path: Path) -> None:
    player = PcmPlayer(FFMPEG or "ffmpeg", output_dir=tmp_path / "out")
    player.play("tone", tone(tmp_path / "tone.mp3", 4), 0.0, 80)
    out = player.outputs[0]
    wait_for(lambda: frames(out) >= 0.5 * PCM_RATE)
    player.stop()
    assert not player.running() and player.applied_volume() is None
    stopped = frames(out)
    assert stopped < 1.5 * PCM_RATE  # truncated: 4 s of audio, well under 1.5 s written
    player.play("again", tmp_path / "tone.mp3", 3.5, 80)  # from 3.5 s: half a second, then it ends
    wait_for(lambda: not player.running())
    assert frames(out) == stopped  # the stopped play's output never grew again
    assert frames(player.outputs[1]) / PCM_RATE == pytest.approx(0.5, abs=0.08)


@pytest.mark.skipif(not (shutil.which("ffplay") and FFMPEG), reason="cần ffmpeg và ffplay")
def test_ffplay_reports_the_volume_it_really_plays_at(tmp_path: Path) -> None:
    audio = tone(tmp_path / "tone.mp3", 2)
    player = ProcessPlayer(shutil.which("ffplay") or "ffplay", extra_env={"SDL_AUDIODRIVER": "dummy"})
    assert player.command(audio, 1.5, 80)[-5:] == ["-ss", "1.500", "-volume", "80", str(audio)]
    player.play("tone", audio, 0.0, 80)
    assert player.running() and player.applied_volume() == 80
    player.set_volume(30)  # ffplay takes its volume at start: the change waits for the next item, and says so
    assert player.applied_volume() == 80
    player.pause()
    player.resume()
    player.stop()
    assert not player.running() and player.applied_volume() is None
    player.play("tone", audio, 1.5, 30)  # from 1.5 s: it ends by itself half a second later
    assert player.applied_volume() == 30
    wait_for(lambda: not player.running(), 10)


def test_find_player(tmp_path: Path) -> None:
    assert isinstance(find_player("null"), NullPlayer)
    if FFMPEG:
        assert isinstance(find_player("auto"), PcmPlayer) and isinstance(find_player("ffmpeg"), PcmPlayer)
        assert find_player("auto", output_dir=tmp_path).output_dir == tmp_path  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="ffmpeg"):
        find_player("mpv", output_dir=tmp_path)
    with pytest.raises(RuntimeError, match="Không tìm thấy trình phát"):
        find_player("no-such-player-xyz")


@pytest.mark.skipif(not (shutil.which("ffplay") and FFMPEG), reason="cần ffmpeg và ffplay")
@pytest.mark.parametrize("kind", ["ffmpeg", "ffplay"])
def test_the_status_reports_the_volume_the_player_really_applies(kind: str, tmp_path: Path) -> None:
    """A new cap while an item plays: the ffmpeg player applies it at once and the status says so; ffplay keeps the
    volume it started with until the next item, and the status says that (it said the cap before)."""
    import datetime as dt

    from loa_agent.core import AgentCore
    from loa_agent.playlog import MemoryPlayLogStore
    from tests.loa_agent.test_streams_and_volume import (  # type: ignore[import-not-found]
        DEVICE,
        PUBLIC,
        T0,
        file_entry,
        manifest,
    )

    audio = tone(tmp_path / "tone.mp3", 3)
    player: PcmPlayer | ProcessPlayer
    if kind == "ffmpeg":
        player = PcmPlayer(FFMPEG or "ffmpeg", output_dir=tmp_path / "out")
    else:
        player = ProcessPlayer(shutil.which("ffplay") or "ffplay", extra_env={"SDL_AUDIODRIVER": "dummy"})
    core = AgentCore(DEVICE, PUBLIC, player, MemoryPlayLogStore(), media_lookup=lambda sha: audio)
    try:
        core.receive_manifest(manifest(file_entry(), max_volume=80), T0)
        core.tick(T0)
        assert core.status(T0).state == "playing" and core.status(T0).volume == 70
        later = T0 + dt.timedelta(seconds=1)
        core.receive_manifest(manifest(file_entry(), max_volume=40, version=2), later)
        expected = 40 if kind == "ffmpeg" else 70
        assert player.applied_volume() == expected
        assert core.status(later).volume == expected
    finally:
        player.stop()
