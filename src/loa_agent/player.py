"""Audio output. The agent decides *what* plays and *when* (by the declared duration and its clock); a player only
starts, pauses and stops the sound and sets its volume.

* :class:`PcmPlayer` (the default on a device): ffmpeg decodes the file to 16-bit PCM, the agent applies the volume
  to every 20 ms block and writes the blocks in real time to the sound card (ffmpeg's ALSA output) or, for tests
  and checks, to one WAV file per play. A volume change applies to the next block, a pause writes silence, a stop
  ends the output at once: what is heard is what :meth:`PcmPlayer.applied_volume` and the status report.
* :class:`ProcessPlayer`: mpv or ffplay in a child process (pause by SIGSTOP/SIGCONT; the volume is set when an
  item starts, so a change applies from the next item, and the status says so).
* :class:`NullPlayer`: the null sink of the simulator and the unit tests."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import threading
import time
import wave
from array import array
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

    def applied_volume(self) -> int | None:
        """The volume of what is coming out now, when the player knows it (``None``: nothing plays, or it cannot
        tell); the status reports it instead of the volume the agent asked for."""
        ...


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

    def applied_volume(self) -> int | None:
        return None  # plays nothing: the status reports the volume the agent asked for


class ProcessPlayer:
    """Plays a file with mpv or ffplay in a child process; pause/resume by SIGSTOP/SIGCONT."""

    def __init__(self, program: str, extra_env: dict[str, str] | None = None) -> None:
        self.program = program
        self.kind = Path(program).name
        self.env = {**os.environ, **(extra_env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.started_volume: int | None = None

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
        self.started_volume = volume

    def play_stream(self, item_id: str, url: str, volume: int) -> None:
        self.stop()
        self._spawn(self.stream_command(url, volume))
        self.started_volume = volume

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

    def applied_volume(self) -> int | None:
        return self.started_volume if self.running() else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


PCM_RATE = 24_000  # Hz, mono: speech and announcements on a loudspeaker horn
BLOCK_S = 0.02
BLOCK_SAMPLES = int(PCM_RATE * BLOCK_S)


def scale(block: bytes, volume: int) -> bytes:
    """16-bit little-endian PCM ``block`` at ``volume`` % (linear gain: half the volume is 6 dB less)."""
    if volume >= 100:
        return block
    samples = array("h")
    samples.frombytes(block)
    if volume <= 0:
        return bytes(len(block))
    gain = volume / 100
    return array("h", [int(x * gain) for x in samples]).tobytes()


class _WavSink:
    def __init__(self, path: Path) -> None:
        self.wav = wave.open(str(path), "wb")  # closed by close()
        self.wav.setnchannels(1)
        self.wav.setsampwidth(2)
        self.wav.setframerate(PCM_RATE)

    def write(self, block: bytes) -> None:
        self.wav.writeframes(block)  # the header is patched after every write: the file is always readable

    def close(self) -> None:
        self.wav.close()


class _ProcessSink:
    def __init__(self, argv: list[str]) -> None:
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)  # fmt: skip
        self.failed = False

    def write(self, block: bytes) -> None:
        if self.failed or self.process.stdin is None:
            return
        try:
            self.process.stdin.write(block)
        except (BrokenPipeError, OSError):
            self.failed = True
            log.warning("đầu ra âm thanh đã dừng (mã %s)", self.process.poll())

    def close(self) -> None:
        if self.process.stdin is not None:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class PcmPlayer:
    """ffmpeg decodes, the agent sets the level and keeps time, the sink sounds: see the module's docstring.

    ``output_dir`` set: each play is written to ``<output_dir>/<n>-<item_id>.wav`` in real time (pauses as silence,
    a stop ends the file) instead of the sound card; :attr:`outputs` lists the files in order."""

    def __init__(self, ffmpeg: str, output_dir: Path | None = None, alsa_device: str = "default") -> None:
        self.ffmpeg = ffmpeg
        self.output_dir = output_dir
        self.alsa_device = alsa_device
        self.outputs: list[Path] = []
        self._lock = threading.Lock()
        self._volume = 0
        self._paused = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._decoder: subprocess.Popen[bytes] | None = None

    # what the agent calls
    def play(self, item_id: str, path: Path | None, offset_s: float, volume: int) -> None:
        self.stop()
        if path is None:
            log.warning("không có tệp âm thanh cho %s", item_id)
            return
        self._start(item_id, ["-ss", f"{offset_s:.3f}", "-i", str(path)], volume)

    def play_stream(self, item_id: str, url: str, volume: int) -> None:
        self.stop()
        self._start(item_id, ["-i", url], volume)

    def stop(self) -> None:
        thread = self._thread
        self._stop.set()
        if self._decoder is not None and self._decoder.poll() is None:
            self._decoder.kill()
        if thread is not None:
            thread.join(timeout=5)
        self._thread = None
        self._decoder = None

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def set_volume(self, volume: int) -> None:
        with self._lock:
            self._volume = max(0, min(100, volume))

    def applied_volume(self) -> int | None:
        with self._lock:
            return self._volume if self.running() else None

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # the rendering thread
    def _start(self, item_id: str, source: list[str], volume: int) -> None:
        self._stop = threading.Event()
        self._paused.clear()
        self.set_volume(volume)
        decoder = subprocess.Popen(
            [self.ffmpeg, "-nostdin", "-loglevel", "error", *source, "-vn", "-f", "s16le", "-acodec", "pcm_s16le",
             "-ac", "1", "-ar", str(PCM_RATE), "-"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        sink: _WavSink | _ProcessSink
        if self.output_dir is not None:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in item_id)[:80]
            path = self.output_dir / f"{len(self.outputs) + 1:04d}-{safe}.wav"
            self.outputs.append(path)
            sink = _WavSink(path)
        else:
            sink = _ProcessSink([self.ffmpeg, "-nostdin", "-loglevel", "error", "-f", "s16le", "-ar", str(PCM_RATE),
                                 "-ac", "1", "-i", "-", "-f", "alsa", self.alsa_device])  # fmt: skip
        self._decoder = decoder
        self._thread = threading.Thread(target=self._render, args=(decoder, sink, self._stop), daemon=True,
                                        name=f"player-{item_id}")  # fmt: skip
        self._thread.start()

    def _render(
        self, decoder: subprocess.Popen[bytes], sink: _WavSink | _ProcessSink, stop: threading.Event
    ) -> None:
        size = BLOCK_SAMPLES * 2
        silence = bytes(size)
        started = time.monotonic()
        blocks = 0
        try:
            assert decoder.stdout is not None
            while not stop.is_set():
                if self._paused.is_set():
                    block = silence
                else:
                    block = decoder.stdout.read(size)
                    if not block:
                        break  # the end of the item
                    with self._lock:
                        volume = self._volume
                    block = scale(block, volume)
                sink.write(block)
                blocks += 1
                # real time: the next block is due when this one has been heard
                stop.wait(max(0.0, started + blocks * BLOCK_S - time.monotonic()))
        except Exception:  # the player thread must never take the agent down
            log.exception("lỗi khi phát âm thanh")
        finally:
            sink.close()
            if decoder.poll() is None:
                decoder.kill()
            decoder.wait()


def find_player(preference: str = "auto", output_dir: Path | None = None) -> Player:
    """``auto``: ffmpeg (:class:`PcmPlayer`), else mpv, else ffplay, else the null sink; or ``null``, ``ffmpeg``,
    ``mpv``, ``ffplay`` explicitly. ``output_dir`` (ffmpeg only) writes WAV files instead of the sound card."""
    if output_dir is not None and preference not in ("auto", "ffmpeg"):
        raise RuntimeError("Chỉ trình phát ffmpeg ghi được âm thanh ra tệp (--output).")
    if preference == "null":
        return NullPlayer(keep=False)
    if preference in ("auto", "ffmpeg"):
        ffmpeg = shutil.which("ffmpeg")
        if ffmpeg:
            return PcmPlayer(ffmpeg, output_dir=output_dir)
        if preference == "ffmpeg" or output_dir is not None:
            raise RuntimeError("Không tìm thấy trình phát 'ffmpeg' trên thiết bị.")
    names = ["mpv", "ffplay"] if preference == "auto" else [preference]
    for name in names:
        program = shutil.which(name)
        if program:
            return ProcessPlayer(program)
    if preference != "auto":
        raise RuntimeError(f"Không tìm thấy trình phát {preference!r} trên thiết bị.")
    log.warning("không có mpv hay ffplay: dùng đầu ra rỗng (không phát ra loa)")
    return NullPlayer(keep=False)
