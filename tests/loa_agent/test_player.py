"""The real player: ffplay (from Debian's ffmpeg) on a file made by ffmpeg, with SDL's dummy audio driver."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from loa_agent.player import NullPlayer, ProcessPlayer, find_player


@pytest.mark.skipif(not (shutil.which("ffplay") and shutil.which("ffmpeg")), reason="cần ffmpeg và ffplay")
def test_ffplay_plays_pauses_and_stops(tmp_path: Path) -> None:
    audio = tmp_path / "tone.wav"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
                    str(audio)], check=True)  # fmt: skip
    player = ProcessPlayer(shutil.which("ffplay") or "ffplay", extra_env={"SDL_AUDIODRIVER": "dummy"})
    assert player.command(audio, 1.5, 80)[-5:] == ["-ss", "1.500", "-volume", "80", str(audio)]
    player.play("tone", audio, 0.0, 80)
    assert player.running()
    player.pause()
    player.resume()
    player.stop()
    assert not player.running()
    player.play("tone", audio, 1.5, 80)  # from 1.5 s: it ends by itself half a second later
    deadline = time.monotonic() + 10
    while player.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not player.running()


def test_find_player() -> None:
    assert isinstance(find_player("null"), NullPlayer)
    with pytest.raises(RuntimeError, match="Không tìm thấy trình phát"):
        find_player("no-such-player-xyz")
