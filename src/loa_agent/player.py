"""Audio output. The agent decides *what* plays and *when* (by the declared duration and its clock); a player only
starts, pauses and stops the sound. :class:`NullPlayer` is the null sink used by tests and the simulator."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class Player(Protocol):
    def play(self, item_id: str, path: Path | None, offset_s: float, volume: int) -> None: ...

    def play_stream(self, item_id: str, url: str, volume: int) -> None:
        """Play a live http(s) stream (a relay) until :meth:`stop`; nothing is written to the cache."""
        ...

    def stop(self) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def set_volume(self, volume: int) -> None: ...


@dataclass
class NullPlayer:
    """Plays nothing; remembers the calls (``calls``) so tests can see what the amplifier would have done."""

    calls: list[tuple[str, ...]] = field(default_factory=list)
    keep: bool = True

    def play(self, item_id: str, path: Path | None, offset_s: float, volume: int) -> None:
        if self.keep:
            self.calls.append(("play", item_id, f"{offset_s:.3f}", str(volume)))

    def play_stream(self, item_id: str, url: str, volume: int) -> None:
        if self.keep:
            self.calls.append(("stream", item_id, url, str(volume)))

    def stop(self) -> None:
        if self.keep:
            self.calls.append(("stop",))

    def pause(self) -> None:
        if self.keep:
            self.calls.append(("pause",))

    def resume(self) -> None:
        if self.keep:
            self.calls.append(("resume",))

    def set_volume(self, volume: int) -> None:
        if self.keep:
            self.calls.append(("volume", str(volume)))


class ProcessPlayer:
    """Plays a file with mpv or ffplay in a child process; pause/resume by SIGSTOP/SIGCONT."""

    def __init__(self, program: str, extra_env: dict[str, str] | None = None) -> None:
        self.program = program
        self.kind = Path(program).name
        self.env = {**os.environ, **(extra_env or {})}
        self.process: subprocess.Popen[bytes] | None = None

    def command(self, path: Path, offset_s: float, volume: int) -> list[str]:
        if self.kind.startswith("mpv"):
            return [self.program, "--no-video", "--really-quiet", f"--start={offset_s:.3f}",
                    f"--volume={volume}", str(path)]  # fmt: skip
        return [self.program, "-nodisp", "-autoexit", "-loglevel", "error", "-ss", f"{offset_s:.3f}",
                "-volume", str(volume), str(path)]  # fmt: skip

    def stream_command(self, url: str, volume: int) -> list[str]:
        if self.kind.startswith("mpv"):
            return [
                self.program,
                "--no-video",
                "--really-quiet",
                "--no-cache",
                f"--volume={volume}",
                "--",
                url,
            ]
        return [self.program, "-nodisp", "-loglevel", "error", "-volume", str(volume), url]

    def play(self, item_id: str, path: Path | None, offset_s: float, volume: int) -> None:
        self.stop()
        if path is None:
            log.warning("không có tệp âm thanh cho %s", item_id)
            return
        self._spawn(self.command(path, offset_s, volume))

    def play_stream(self, item_id: str, url: str, volume: int) -> None:
        self.stop()
        self._spawn(self.stream_command(url, volume))

    def _spawn(self, argv: list[str]) -> None:
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.env,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def pause(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def set_volume(self, volume: int) -> None:
        # mpv/ffplay take the volume at start; the next item uses the new value. A device with a hardware mixer
        # would set it here (amixer).
        log.info("âm lượng %s áp dụng từ bản tin kế tiếp", volume)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def find_player(preference: str = "auto") -> Player:
    """``auto``: mpv, else ffplay, else the null sink; or ``null``, ``mpv``, ``ffplay`` explicitly."""
    if preference == "null":
        return NullPlayer(keep=False)
    names = ["mpv", "ffplay"] if preference == "auto" else [preference]
    for name in names:
        program = shutil.which(name)
        if program:
            return ProcessPlayer(program)
    if preference != "auto":
        raise RuntimeError(f"Không tìm thấy trình phát {preference!r} trên thiết bị.")
    log.warning("không có mpv hay ffplay: dùng đầu ra rỗng (không phát ra loa)")
    return NullPlayer(keep=False)
