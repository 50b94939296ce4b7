"""The audio pipeline: validate by content, normalise loudness (two-pass EBU R128), transcode, store by sha256.

Everything here runs the real ``ffmpeg``/``ffprobe`` binaries as child processes, each under a time limit (the
whole process group is killed when it runs out), and leaves nothing behind when an input is refused: temporary
files live in ``<store>/.tmp/<random>/`` and that folder is removed whatever happens. Stored files are written
to a temporary name and renamed into place, so a reader never sees half a file.

No Django model is needed here; settings are read from ``django.conf.settings`` when Django is configured,
otherwise the defaults below apply. See docs/media.md.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import itertools
import json
import logging
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from loa.errors import Refusal

# ---- settings ------------------------------------------------------------------------------------------

DEFAULTS: dict[str, Any] = {
    "LOA_MEDIA_MAX_BYTES": 200 * 1024 * 1024,
    "LOA_MEDIA_MAX_DURATION_S": 3 * 3600,
    "LOA_MEDIA_PROBE_TIMEOUT_S": 30.0,
    # None: the processing deadline is 60 s + half the duration (i.e. the pipeline must run at ≥ 2× real time).
    "LOA_MEDIA_TIMEOUT_S": None,
    "LOA_AUDIO_TARGET_LUFS": -16.0,
    "LOA_AUDIO_TRUE_PEAK": -1.5,
    "LOA_AUDIO_SAMPLE_RATE": 44100,
    "LOA_AUDIO_BITRATE": "128k",
    # speech made by the engine (TTS, every emergency read aloud): a speech format for horn loudspeakers, a third of
    # the bytes every device of an area fetches at the same moment (ADR 0019)
    "LOA_SPEECH_SAMPLE_RATE": 22050,
    "LOA_SPEECH_BITRATE": "48k",
}

logger = logging.getLogger(__name__)

WAVEFORM_POINTS = 200
_STDERR_KEEP = 256 * 1024


def setting(name: str) -> Any:
    """A media setting from Django settings when configured, else the default of :data:`DEFAULTS`."""
    try:
        from django.conf import settings as dj

        if dj.configured:
            return getattr(dj, name, DEFAULTS[name])
    except ImportError:  # pragma: no cover - Django is always installed with the server
        pass
    return DEFAULTS[name]


def default_store_root() -> Path:
    """``MEDIA_ROOT/audio`` when Django is configured, else ``$LOA_DATA_DIR/media/audio``."""
    try:
        from django.conf import settings as dj

        if dj.configured:
            return Path(dj.MEDIA_ROOT) / "audio"
    except ImportError:  # pragma: no cover
        pass
    return Path(os.environ.get("LOA_DATA_DIR", ".")) / "media" / "audio"


# ---- errors --------------------------------------------------------------------------------------------

ACCEPTED_HINT = "Hãy chọn tệp MP3, WAV, M4A, OGG hoặc bản ghi âm từ trình duyệt (WebM/OGG)."


class MediaRejected(Refusal):
    """An input the pipeline refuses. ``code`` is for machines, ``message`` (Vietnamese) for the operator.

    A file over the size limit answers 413."""

    def __init__(self, code: str, message: str, status: int | None = None, **kwargs: Any) -> None:
        if status is None and code == "too_large":
            status = 413
        super().__init__(code, message, status, **kwargs)


def _timeout() -> MediaRejected:
    return MediaRejected(
        "timeout",
        "Xử lý tệp âm thanh quá thời gian cho phép nên đã dừng. Tệp có thể bị hỏng hoặc quá dài; "
        "hãy xuất lại tệp (ví dụ sang MP3) rồi tải lên lại.",
    )


# ---- binaries ------------------------------------------------------------------------------------------


def _find_binary(env: str, name: str) -> str:
    override = os.environ.get(env)
    if override:
        return override
    system = Path("/usr/bin") / name
    if system.exists():
        return str(system)
    found = shutil.which(name)
    if found:
        return found
    if name == "ffmpeg":
        try:
            import imageio_ffmpeg

            return str(imageio_ffmpeg.get_ffmpeg_exe())
        except Exception:  # noqa: S110 - not installed, or no bundled binary: report below
            pass
    raise MediaRejected(
        "ffmpeg_missing",
        f"Máy chủ chưa cài {name} nên không xử lý được âm thanh. Hãy báo quản trị hệ thống cài gói ffmpeg.",
    )


def ffmpeg_path() -> str:
    """``$FFMPEG`` → ``/usr/bin/ffmpeg`` → ``ffmpeg`` on PATH → the binary inside ``imageio_ffmpeg``."""
    return _find_binary("FFMPEG", "ffmpeg")


def ffprobe_path() -> str:
    """``$FFPROBE`` → ``/usr/bin/ffprobe`` → ``ffprobe`` on PATH (imageio-ffmpeg ships no ffprobe)."""
    return _find_binary("FFPROBE", "ffprobe")


# ---- running ffmpeg under a deadline --------------------------------------------------------------------


@dataclass
class _Result:
    returncode: int
    stdout: bytes
    stderr: str


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
        pass


def _run(
    cmd: list[str],
    deadline: float,
    *,
    on_stdout: Callable[[bytes], None] | None = None,
    on_progress: Callable[[float], None] | None = None,
    feed: Callable[[], Path] | None = None,
) -> _Result:
    """Run ``cmd`` in its own process group; kill the whole group when ``deadline`` (monotonic) passes.

    ``feed``: ffmpeg's stdin is a pipe; a writer thread calls ``feed()`` (it may wait, and raise to stop ffmpeg)
    and writes the file it returns into the pipe. ffmpeg starts at once, so its loading overlaps the wait.

    ``on_stdout`` receives raw stdout chunks (in a reader thread); with ``on_progress``, stdout is read as
    ``-progress pipe:1`` lines and the callback receives the latest ``out_time`` in seconds, in the calling
    thread, at most four times a second and once at the end; otherwise stdout is collected (≤ 8 MB).
    """
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _timeout()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE if feed is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    in_pipe, out_pipe, err_pipe = proc.stdin, proc.stdout, proc.stderr
    assert out_pipe is not None and err_pipe is not None
    err = bytearray()
    out = bytearray()
    failures: list[BaseException] = []
    latest: list[float] = []  # progress seen by the reader thread; reported from the calling thread

    def read_err() -> None:
        while chunk := os.read(err_pipe.fileno(), 65536):
            err.extend(chunk)
            if len(err) > 2 * _STDERR_KEEP:
                del err[: len(err) - _STDERR_KEEP]

    def read_out() -> None:
        try:
            if on_progress is not None:
                for line in out_pipe:
                    if line.startswith(b"out_time_us="):
                        value = line.split(b"=", 1)[1].strip()
                        if value.isdigit():
                            latest.append(int(value) / 1e6)
                            del latest[:-1]
            else:
                while chunk := os.read(out_pipe.fileno(), 65536):
                    if on_stdout is not None:
                        on_stdout(chunk)
                    elif len(out) < 8 * 1024 * 1024:
                        out.extend(chunk)
        except BaseException as exc:  # a callback failed: stop ffmpeg, report it from the calling thread
            failures.append(exc)
            _kill(proc)
            while os.read(out_pipe.fileno(), 65536):
                pass

    def write_in() -> None:
        assert feed is not None and in_pipe is not None
        try:
            with feed().open("rb") as fh:
                while chunk := fh.read(65536):
                    in_pipe.write(chunk)
        except BrokenPipeError:
            pass  # ffmpeg stopped reading: its exit status and stderr tell why
        except BaseException as exc:  # nothing to feed (the producer failed): stop ffmpeg, report it
            failures.append(exc)
            _kill(proc)
        finally:
            try:
                in_pipe.close()
            except BrokenPipeError:
                pass

    threads = [threading.Thread(target=read_err, daemon=True), threading.Thread(target=read_out, daemon=True)]
    if feed is not None:
        threads.append(threading.Thread(target=write_in, daemon=True))
    for t in threads:
        t.start()
    reported: float | None = None
    try:
        # Callbacks run here, in the calling thread (a progress callback may write to the database). The end of
        # stdout (the process exited) is noticed at once by joining its reader: Popen.wait(timeout) polls with
        # sleeps of up to 50 ms, which each of the emergency's ffmpeg passes paid after ffmpeg had finished.
        while True:
            threads[1].join(timeout=max(0.0, min(0.25, deadline - time.monotonic())))
            if not threads[1].is_alive() or proc.poll() is not None:  # (or something else holds stdout open)
                try:
                    returncode = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                    break
                except subprocess.TimeoutExpired:
                    _kill(proc)
                    raise _timeout() from None
            if time.monotonic() >= deadline:
                _kill(proc)
                raise _timeout() from None
            if on_progress is not None and latest and latest[-1] != reported:
                reported = latest[-1]
                on_progress(reported)
    finally:
        if proc.poll() is None:  # interrupted, or a callback failed: never leave ffmpeg behind
            _kill(proc)
        for t in threads:
            t.join(timeout=10)
        out_pipe.close()
        err_pipe.close()
    if failures:
        raise failures[0]
    if on_progress is not None and latest and latest[-1] != reported:
        on_progress(latest[-1])
    return _Result(returncode, bytes(out), err.decode("utf-8", "replace"))


# ---- probing --------------------------------------------------------------------------------------------

# Container formats we accept (ffprobe ``format_name`` parts). Anything else — playlists (hls, concat), images,
# raw streams guessed from garbage — is refused, which also closes ffmpeg's "playlist reads local files" hole.
ALLOWED_FORMATS = {
    "mp3", "wav", "w64", "mov", "mp4", "m4a", "3gp", "3g2", "ogg", "matroska", "webm", "flac", "aac",
    "amr", "aiff", "asf", "caf", "wv",
}  # fmt: skip

# Extension under which an original is kept, from the demuxer that read it (not from the name it came with).
_ORIGINAL_EXT = {
    "mp3": "mp3", "wav": "wav", "w64": "w64", "mov": "m4a", "ogg": "ogg", "matroska": "webm", "flac": "flac",
    "aac": "aac", "amr": "amr", "aiff": "aiff", "asf": "wma", "caf": "caf", "wv": "wv",
}  # fmt: skip

_MAGIC: list[tuple[bytes, int, str]] = [
    (b"\x89PNG\r\n\x1a\n", 0, "ảnh PNG"),
    (b"\xff\xd8\xff", 0, "ảnh JPEG"),
    (b"GIF87a", 0, "ảnh GIF"),
    (b"GIF89a", 0, "ảnh GIF"),
    (b"WEBP", 8, "ảnh WebP"),
    (b"%PDF", 0, "tài liệu PDF"),
    (b"PK\x03\x04", 0, "tệp nén ZIP hoặc tài liệu Word/Excel"),
    (b"\xd0\xcf\x11\xe0", 0, "tài liệu Word/Excel cũ"),
    (b"Rar!", 0, "tệp nén RAR"),
    (b"7z\xbc\xaf", 0, "tệp nén 7z"),
    (b"\x1f\x8b", 0, "tệp nén GZIP"),
    (b"MZ", 0, "chương trình Windows"),
    (b"\x7fELF", 0, "chương trình"),
]


def _sniff(head: bytes) -> str | None:
    """What a non-audio file looks like, from its first bytes, to tell the operator what they picked."""
    for magic, offset, label in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return label
    text = head.lstrip()[:64].lower()
    if text.startswith((b"<!doctype", b"<html", b"<?xml", b"<svg")):
        return "trang web hoặc tệp văn bản"
    if text.startswith(b"#extm3u"):
        return "danh sách phát (playlist)"
    return None


def _not_audio(what: str | None = None) -> MediaRejected:
    seems = f" (có vẻ là {what})" if what else ""
    return MediaRejected("not_audio", f"Tệp không phải âm thanh hợp lệ{seems}. {ACCEPTED_HINT}")


def _corrupt() -> MediaRejected:
    return MediaRejected(
        "corrupt",
        "Tệp âm thanh bị hỏng hoặc không đầy đủ (có thể tải lên bị ngắt giữa chừng). "
        "Hãy kiểm tra tệp gốc nghe được trọn vẹn, rồi tải lên lại.",
    )


@dataclass(frozen=True)
class AudioInfo:
    """What ffprobe says about a validated input."""

    format_name: str
    demuxer: str
    codec: str
    duration_s: float
    sample_rate: int
    channels: int
    size_bytes: int
    bit_rate: int | None = None

    @property
    def original_ext(self) -> str:
        return _ORIGINAL_EXT.get(self.demuxer, "bin")


def _fmt_duration(seconds: float) -> str:
    total = round(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h} giờ {m:02d} phút"
    return f"{m} phút {s:02d} giây" if m else f"{s} giây"


def _fmt_bytes(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


def check_size(size: int, max_bytes: int | None = None) -> None:
    """Refuse empty and oversized inputs (before reading an upload, and again before probing)."""
    limit = int(setting("LOA_MEDIA_MAX_BYTES") if max_bytes is None else max_bytes)
    if size <= 0:
        raise MediaRejected("empty_file", "Tệp rỗng (0 byte). Hãy chọn lại tệp âm thanh hoặc ghi âm lại.")
    if size > limit:
        raise MediaRejected(
            "too_large",
            f"Tệp quá lớn (hơn {_fmt_bytes(limit)}); giới hạn là {_fmt_bytes(limit)}. "
            "Hãy cắt ngắn hoặc nén lại (ví dụ MP3 128 kbit/s) rồi tải lên lại.",
        )


def check_duration(duration_s: float, max_duration_s: float | None = None) -> None:
    limit = float(setting("LOA_MEDIA_MAX_DURATION_S") if max_duration_s is None else max_duration_s)
    if duration_s > limit:
        raise MediaRejected(
            "too_long",
            f"Âm thanh dài {_fmt_duration(duration_s)}, vượt giới hạn {_fmt_duration(limit)}. "
            "Hãy cắt thành các đoạn ngắn hơn rồi tải lên từng đoạn.",
        )


def _check_file(path: Path) -> os.stat_result:
    try:
        st = path.stat()
    except OSError:
        raise MediaRejected("not_found", "Không tìm thấy tệp cần xử lý. Hãy chọn lại tệp.") from None
    if not path.is_file():  # a FIFO, device or folder: ffmpeg could block on it forever
        raise MediaRejected("not_a_file", f"Đây không phải một tệp dữ liệu thông thường. {ACCEPTED_HINT}")
    check_size(st.st_size)
    with path.open("rb") as fh:
        what = _sniff(fh.read(64))
    if what:
        raise _not_audio(what)
    return st


def _float(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _probe_timeout(deadline: float | None) -> float:
    limit = time.monotonic() + float(setting("LOA_MEDIA_PROBE_TIMEOUT_S"))
    return limit if deadline is None else min(limit, deadline)


def probe_engine_wav(path: Path) -> AudioInfo | None:
    """What a speech engine's own output holds, from its WAV header (16-bit PCM), without starting ffprobe (≈ 50 ms
    of an emergency's path); ``None`` for anything else, which :func:`probe` then validates."""
    import wave

    try:
        with wave.open(str(path), "rb") as w:
            if w.getcomptype() != "NONE" or w.getsampwidth() != 2 or w.getframerate() <= 0:
                return None
            rate, channels, frames = w.getframerate(), w.getnchannels(), w.getnframes()
    except (wave.Error, EOFError, OSError):
        return None
    size = path.stat().st_size
    return AudioInfo(format_name="wav", demuxer="wav", codec="pcm_s16le", duration_s=frames / rate,
                     sample_rate=rate, channels=channels, size_bytes=size, bit_rate=rate * channels * 16)  # fmt: skip


def probe(path: Path | str, *, deadline: float | None = None, decode: bool = True) -> AudioInfo:
    """Validate ``path`` by content and return what it holds.

    Refuses (``MediaRejected``): non-regular files, empty or oversized files, non-audio content (images,
    documents, video without sound, garbage), containers outside :data:`ALLOWED_FORMATS`, durations over the
    limit and — when ``decode`` is true — files that do not decode cleanly from start to end (e.g. a truncated
    MP3). ``deadline`` is a ``time.monotonic()`` value.
    """
    path = Path(path)
    st = _check_file(path)
    cmd = [
        ffprobe_path(), "-v", "error", "-hide_banner", "-print_format", "json", "-show_format", "-show_streams",
        "-protocol_whitelist", "file", "file:" + str(path.resolve()),
    ]  # fmt: skip
    res = _run(cmd, _probe_timeout(deadline))
    info: dict[str, Any] = {}
    if res.returncode == 0:
        try:
            info = json.loads(res.stdout.decode("utf-8", "replace") or "{}")
        except ValueError:
            info = {}
    fmt = info.get("format") or {}
    streams = info.get("streams") or []
    if res.returncode != 0 or not fmt:
        raise _not_audio()
    format_name = str(fmt.get("format_name", ""))
    parts = [p for p in format_name.split(",") if p]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    if not audio:
        if any(p.endswith("_pipe") or p == "image2" for p in parts):
            raise _not_audio("một tệp ảnh")
        if any(s.get("codec_type") == "video" for s in streams):
            raise MediaRejected("no_audio_stream", f"Tệp là video không có tiếng. {ACCEPTED_HINT}")
        raise _not_audio()
    allowed = [p for p in parts if p in ALLOWED_FORMATS]
    if not allowed:
        raise _not_audio(f"định dạng {format_name or 'không rõ'}")
    stream = audio[0]
    duration = _float(fmt.get("duration")) or _float(stream.get("duration")) or 0.0
    check_duration(duration)
    result = AudioInfo(
        format_name=format_name,
        demuxer=parts[0],
        codec=str(stream.get("codec_name", "")),
        duration_s=duration,
        sample_rate=int(_float(stream.get("sample_rate")) or 0),
        channels=int(stream.get("channels") or 0),
        size_bytes=st.st_size,
        bit_rate=int(_float(fmt.get("bit_rate")) or 0) or None,
    )
    if decode:
        first = _measure(
            path, result.demuxer, _chain(None, None), deadline=deadline or _processing_deadline(duration)
        )
        _check_measured(result, first)
    return result


# ---- loudness ------------------------------------------------------------------------------------------
#
# Two-pass EBU R128: pass 1 measures the input with ffmpeg's ``ebur128`` meter (integrated loudness, true
# peak); pass 2 applies one linear gain to reach the target. When that gain would push the true peak over the
# ceiling, a look-ahead limiter holds the peaks and the gain is re-measured through it (a secant step or two,
# each a fast decode), so the result still lands on the target. A third pass meters the produced MP3 itself.
# ffmpeg's ``loudnorm`` filter was tried first: it resamples everything to 192 kHz (≈110× real time per pass
# on one core, too slow for the ≥50× budget of three passes) and its dynamic fallback missed -16 LUFS by 1.5 LU
# on speech with near-full-scale peaks. See docs/media.md.


@dataclass(frozen=True)
class _Target:
    lufs: float
    true_peak: float

    @classmethod
    def from_settings(cls, lufs: float | None = None, true_peak: float | None = None) -> _Target:
        return cls(
            lufs=float(setting("LOA_AUDIO_TARGET_LUFS") if lufs is None else lufs),
            true_peak=float(setting("LOA_AUDIO_TRUE_PEAK") if true_peak is None else true_peak),
        )


@dataclass(frozen=True)
class _Loudness:
    integrated: float  # LUFS; -70.0 means silence (below the absolute gate)
    true_peak: float  # dBTP
    decoded_s: float


_METER = "ebur128=peak=true:framelog=verbose"
_METER_I = "ebur128=framelog=verbose"  # integrated loudness only
_SUMMARY_I = re.compile(r"Integrated loudness:\s*I:\s*(-?[\d.]+|-inf) LUFS", re.S)
_SUMMARY_TP = re.compile(r"True peak:\s*Peak:\s*(-?[\d.]+|-inf) dBFS", re.S)
# sample-peak ceiling of the limiter below the true-peak target (inter-sample peaks, MP3 overshoot)
_LIMITER_MARGIN_DB = 0.6
# libmp3lame in CBR plays back about 0.45 dB lower than its input, loudness and peaks alike (ffmpeg 5.1 /
# LAME 3.100, measured on tones and speech at 96–160 kbit/s; VBR does not). The chain aims that much higher; the
# verification pass still measures the MP3 itself and corrects if an encoder behaves otherwise.
_ENCODER_LEVEL_DB = -0.45
_TOLERANCE_LU = 0.5  # re-encode when the MP3 lands further than this from the target (the promise is ±1 LU)
_MAX_ATTEMPTS = 3
_MAX_GAIN_DB = 40.0


def _meter_summary(stderr: str) -> tuple[float | None, float | None]:
    i_found, tp_found = _SUMMARY_I.findall(stderr), _SUMMARY_TP.findall(stderr)
    integrated = (-70.0 if i_found[-1] == "-inf" else _float(i_found[-1])) if i_found else None
    peak = (-120.0 if tp_found[-1] == "-inf" else _float(tp_found[-1])) if tp_found else None
    return integrated, peak


def _error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if "[error]" in ln or "[fatal]" in ln or "[panic]" in ln]


def _input_args(path: Path, demuxer: str) -> list[str]:
    # the demuxer ffprobe chose, forced; only the file protocol: a crafted file cannot pull in other files/URLs
    return ["-protocol_whitelist", "file", "-f", demuxer, "-i", "file:" + str(path.resolve())]


def _chain(gain_db: float | None, ceiling_db: float | None) -> str:
    """The processing chain: mono at the device sample rate, then gain and (if needed) the peak limiter."""
    rate = int(setting("LOA_AUDIO_SAMPLE_RATE"))
    parts = ["aformat=channel_layouts=mono", f"aresample={rate}"]
    if gain_db is not None:
        parts.append(f"volume={gain_db:.3f}dB")
    if ceiling_db is not None:
        limit = min(1.0, max(0.0625, 10 ** (ceiling_db / 20)))
        parts.append(f"alimiter=limit={limit:.5f}:attack=2:release=50:level=0")
    return ",".join(parts)


def _measure(
    path: Path,
    demuxer: str,
    chain: str,
    *,
    deadline: float,
    expected_s: float = 0.0,
    progress: Callable[[float], None] | None = None,
    true_peak: bool = True,
) -> _Loudness:
    """Decode everything through ``chain`` and meter it; any decoding error refuses the file as corrupt.

    Without ``true_peak`` only the integrated loudness is metered (no 4× oversampling: about twice as fast).
    """
    limit = float(setting("LOA_MEDIA_MAX_DURATION_S"))
    decoded = [0.0]

    def on_progress(t: float) -> None:
        decoded[0] = max(decoded[0], t)
        if progress is not None and expected_s > 0:
            progress(min(1.0, t / expected_s))

    cmd = [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-nostats", "-v", "level+info", "-xerror",
        *_input_args(path, demuxer),
        "-map", "0:a:0", "-vn", "-sn", "-dn", "-t", f"{limit + 1:.0f}",
        "-af", f"{chain},{_METER if true_peak else _METER_I}", "-f", "null", "-", "-progress", "pipe:1",
    ]  # fmt: skip
    res = _run(cmd, deadline, on_progress=on_progress)
    integrated, peak = _meter_summary(res.stderr)
    if not true_peak:
        peak = 0.0
    if res.returncode != 0 or _error_lines(res.stderr) or integrated is None or peak is None:
        raise _corrupt()
    return _Loudness(integrated, peak, decoded[0])


def _plan_limited_gain(
    path: Path,
    demuxer: str,
    gain: float,
    ceiling: float,
    target: _Target,
    *,
    deadline: float,
    progress: Callable[[float], None] | None = None,
) -> tuple[float, int]:
    """Find the gain that lands on the target through the limiter, with fast integrated-only measurements.

    The limiter takes loudness away as the gain pushes more peaks into it (typically 0.4–0.7 LU per dB for
    speech), so a secant search on the whole file, 1–3 quick decodes, replaces encoding several times.
    """
    points: list[tuple[float, float]] = []
    for step in range(3):
        got = _measure(path, demuxer, _chain(gain, ceiling), deadline=deadline, true_peak=False).integrated
        points.append((gain, got))
        if progress is not None:
            progress((step + 1) / 3)
        if abs(got - target.lufs) <= 0.2:  # the meter reports tenths
            break
        gain = _next_gain(points, target.lufs)
    return gain, len(points)  # the last gain tried when on target, else the secant's next estimate


def _check_measured(info: AudioInfo, first: _Loudness) -> None:
    check_duration(first.decoded_s)
    # A file whose header promises much more than decodes (a cut-off download) is incomplete.
    if info.duration_s > 0 and first.decoded_s < info.duration_s * 0.95 - 0.5:
        raise _corrupt()
    if first.integrated <= -69.9 or first.decoded_s < 0.1:
        raise MediaRejected(
            "silent",
            "Tệp âm thanh im lặng hoặc quá ngắn, không có tiếng để phát. Hãy kiểm tra micro rồi ghi âm lại.",
        )


def _next_gain(points: list[tuple[float, float]], target: float) -> float:
    """Secant step on (gain, measured loudness) pairs; the first step assumes 0.6 LU per dB (limiting)."""
    if len(points) == 1:
        slope = 0.6
    else:
        (g0, l0), (g1, l1) = points[-2], points[-1]
        slope = (l1 - l0) / (g1 - g0) if abs(g1 - g0) > 1e-6 else 0.6
        slope = min(1.0, max(0.1, slope))
    gain, got = points[-1]
    return min(_MAX_GAIN_DB, gain + (target - got) / slope)


def _encode(
    path: Path,
    demuxer: str,
    chain: str,
    out: Path,
    *,
    duration_s: float,
    deadline: float,
    progress: Callable[[float], None] | None = None,
    speech: bool = False,
) -> None:
    """Pass 2: run the chain and encode the device format (MP3, mono, constant bit rate, no metadata); ``speech``:
    the speech format (``LOA_SPEECH_SAMPLE_RATE``, ``LOA_SPEECH_BITRATE``)."""
    rate, bitrate = output_format(speech)

    def on_progress(t: float) -> None:
        if progress is not None and duration_s > 0:
            progress(min(1.0, t / duration_s))

    cmd = [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-nostats", "-v", "level+error", "-xerror",
        *_input_args(path, demuxer),
        "-map", "0:a:0", "-vn", "-sn", "-dn", "-map_metadata", "-1", "-t", f"{duration_s + 1:.3f}",
        "-af", chain, "-ac", "1", "-ar", str(rate),
        "-c:a", "libmp3lame", "-b:a", bitrate,
        "-fflags", "+bitexact", "-flags:a", "+bitexact", "-id3v2_version", "0", "-write_xing", "1",
        "-f", "mp3", "-y", str(out), "-progress", "pipe:1",
    ]  # fmt: skip
    res = _run(cmd, deadline, on_progress=on_progress)
    if res.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        raise _corrupt()


@dataclass(frozen=True)
class _OutputAnalysis:
    loudness_lufs: float
    true_peak_dbtp: float
    duration_s: float
    waveform: list[float]


class _Peaks:
    """Running per-block peaks of s16le mono samples, reduced to ``points`` values at the end."""

    def __init__(self, block: int = 80) -> None:
        self.block = block
        self.pending = b""
        self.peaks: list[np.ndarray] = []
        self.samples = 0
        self.limit: int | None = None  # samples past this many are not counted (set before they arrive)
        self.seen = 0

    def feed(self, chunk: bytes) -> None:
        if self.limit is not None:
            keep = max(0, 2 * self.limit - self.seen)
            self.seen += len(chunk)
            chunk = chunk[:keep]
        else:
            self.seen += len(chunk)
        data = self.pending + chunk
        usable = len(data) - len(data) % (2 * self.block)
        self.pending = data[usable:]
        if usable:
            arr = np.frombuffer(data[:usable], dtype="<i2").reshape(-1, self.block)
            self.samples += arr.size
            self.peaks.append(np.abs(arr.astype(np.int32)).max(axis=1))

    def finish(self, points: int = WAVEFORM_POINTS) -> list[float]:
        if len(self.pending) >= 2:
            arr = np.frombuffer(self.pending[: len(self.pending) - len(self.pending) % 2], dtype="<i2")
            self.samples += arr.size
            self.peaks.append(np.array([np.abs(arr.astype(np.int32)).max()]))
        if not self.peaks:
            return [0.0] * points
        allp = np.concatenate(self.peaks).astype(np.float64) / 32768.0
        edges = np.linspace(0, len(allp), points + 1).astype(int)
        return [
            round(float(allp[a:b].max()) if b > a else float(allp[min(a, len(allp) - 1)]), 3)
            for a, b in itertools.pairwise(edges)
        ]


def _analyse_output(
    path: Path, *, deadline: float, rate: int, encoded: concurrent.futures.Future[Path] | None = None
) -> _OutputAnalysis:
    """Pass 3: decode the produced MP3 (``rate`` Hz) once: meter its loudness and true peak, draw the waveform
    (the peak of every 10 ms) and count its duration.

    ``encoded``: ffmpeg starts now and reads the MP3 from a pipe once ``encoded`` holds it (its loading, ≈ 70 ms,
    overlaps the encode). A stream decoder does not trim the encoder's padding at the end as a file decoder does
    (``-write_xing``'s LAME tag), so the samples past the count the tag gives are not counted, either way.
    """
    peaks = _Peaks(block=max(1, rate // 100))

    def tagged(done: Path) -> Path:
        gapless = mp3_gapless_samples(done)
        if gapless is not None and gapless[1] == rate:
            peaks.limit = gapless[0]
        return done

    if encoded is None:
        tagged(path)
        source, feed = _input_args(path, "mp3"), None
    else:
        source = ["-protocol_whitelist", "pipe", "-f", "mp3", "-i", "pipe:0"]

        def feed() -> Path:
            return tagged(encoded.result(timeout=max(0.0, deadline - time.monotonic())))

    cmd = [
        ffmpeg_path(), "-hide_banner", "-nostdin", "-nostats", "-v", "level+info", "-xerror",
        *source,
        "-filter_complex", f"[0:a]asplit=2[m][w];[m]{_METER},anullsink;[w]anull[wo]",
        "-map", "[wo]", "-ac", "1", "-ar", str(rate), "-f", "s16le", "-c:a", "pcm_s16le", "pipe:1",
    ]  # fmt: skip
    res = _run(cmd, deadline, on_stdout=peaks.feed, feed=feed)
    lufs, tp = _meter_summary(res.stderr)
    if res.returncode != 0 or _error_lines(res.stderr) or lufs is None or tp is None:
        raise _corrupt()
    waveform = peaks.finish()
    return _OutputAnalysis(lufs, tp, peaks.samples / rate, waveform)


def _encode_and_analyse(
    path: Path,
    demuxer: str,
    chain: str,
    out: Path,
    *,
    duration_s: float,
    deadline: float,
    progress: Callable[[float], None] | None = None,
    speech: bool = False,
) -> _OutputAnalysis:
    """Passes 2 and 3 overlapped: the meter's ffmpeg loads while the encoder runs, then reads its complete MP3."""
    encoded: concurrent.futures.Future[Path] = concurrent.futures.Future()
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="loa-output-check") as pool:
        rate = output_format(speech)[0]
        analysis = pool.submit(_analyse_output, out, deadline=deadline, rate=rate, encoded=encoded)
        try:
            _encode(
                path, demuxer, chain, out, duration_s=duration_s, deadline=deadline, progress=progress,
                speech=speech,
            )  # fmt: skip
        except BaseException as exc:
            encoded.set_exception(exc)  # the meter is stopped; leaving the block waits for it
            raise
        encoded.set_result(out)
        return analysis.result()


_MP3_RATES = (44100, 48000, 32000)


def mp3_gapless_samples(path: Path) -> tuple[int, int] | None:
    """(samples, sample rate) of the audio in an MP3 whose first frame carries a LAME tag (what ``-write_xing``
    writes): frames × samples per frame − the encoder's delay − its padding, as a gapless decoder plays it.
    None when the file does not start with such a frame."""
    with path.open("rb") as fh:
        head = fh.read(1024)
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    version, layer, rate_index = (head[1] >> 3) & 3, (head[1] >> 1) & 3, (head[2] >> 2) & 3
    if layer != 1 or version == 1 or rate_index == 3:  # Layer III only; 1 is a reserved version
        return None
    rate = _MP3_RATES[rate_index] >> {3: 0, 2: 1, 0: 2}[version]  # MPEG-1, MPEG-2, MPEG-2.5
    mono = head[3] >> 6 == 3
    side_info = (17 if mono else 32) if version == 3 else (9 if mono else 17)
    per_frame = 1152 if version == 3 else 576
    pos = 4 + side_info
    if head[pos : pos + 4] not in (b"Xing", b"Info"):
        return None
    flags = int.from_bytes(head[pos + 4 : pos + 8], "big")
    pos += 8
    if not flags & 1:  # no frame count
        return None
    frames = int.from_bytes(head[pos : pos + 4], "big")
    pos += 4 + (4 if flags & 2 else 0) + (100 if flags & 4 else 0) + (4 if flags & 8 else 0)
    tag = head[pos : pos + 24]
    if len(tag) < 24 or tag[:4] not in (b"LAME", b"Lavf", b"Lavc"):
        return None
    delays = int.from_bytes(tag[21:24], "big")
    samples = frames * per_frame - (delays >> 12) - (delays & 0xFFF)
    return (samples, rate) if samples > 0 else None


# ---- storage -------------------------------------------------------------------------------------------


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def processed_path(store_root: Path, sha256: str) -> Path:
    """``<store>/aa/bb/<sha256>.mp3``: where the device-format file of that content lives."""
    return store_root / sha256[:2] / sha256[2:4] / f"{sha256}.mp3"


def original_path(store_root: Path, sha256: str, ext: str) -> Path:
    """``<store>/originals/aa/bb/<sha256>.<ext>``: the upload as it came, kept for re-processing."""
    return store_root / "originals" / sha256[:2] / sha256[2:4] / f"{sha256}.{ext}"


def _copy_hashing(src: Path, dst: Path, max_bytes: int) -> str:
    """Copy ``src`` to ``dst`` (a private working copy), hashing it; refuse if it grows past ``max_bytes``."""
    h = hashlib.sha256()
    total = 0
    with src.open("rb") as fin, dst.open("wb") as fout:
        while chunk := fin.read(1024 * 1024):
            total += len(chunk)
            if total > max_bytes:
                check_size(total, max_bytes)
            h.update(chunk)
            fout.write(chunk)
    check_size(total, max_bytes)
    return h.hexdigest()


def _place(tmp: Path, final: Path) -> bool:
    """Move ``tmp`` to ``final`` atomically. Returns True when this call created ``final``.

    Content-addressed: when ``final`` exists it already holds these bytes, so the temporary copy is dropped.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        tmp.unlink(missing_ok=True)
        return False
    staged = final.with_name(f".{final.name}.{secrets.token_hex(6)}.part")
    try:
        shutil.copyfile(tmp, staged) if tmp.stat().st_dev != final.parent.stat().st_dev else tmp.rename(
            staged
        )
        with staged.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(staged, final)
    finally:
        staged.unlink(missing_ok=True)
    return True


# ---- the pipeline --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessedAudio:
    """The result of :func:`process_audio`. Paths are absolute; loudness is measured on the output file."""

    sha256: str
    path: Path
    original_sha256: str
    original_path: Path
    duration_s: float
    loudness_lufs: float
    true_peak_dbtp: float
    sample_rate: int
    waveform: list[float] = field(default_factory=list)
    input_format: str = ""
    input_codec: str = ""
    input_loudness_lufs: float | None = None
    input_true_peak_dbtp: float | None = None
    gain_db: float = 0.0
    limited: bool = False
    passes: int = 0
    size_bytes: int = 0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"], data["original_path"] = str(self.path), str(self.original_path)
        return data


ProgressCallback = Callable[[float, str], None]


def _processing_deadline(duration_s: float) -> float:
    configured = setting("LOA_MEDIA_TIMEOUT_S")
    budget = float(configured) if configured is not None else 60.0 + 0.5 * duration_s
    return time.monotonic() + budget


class _LevelNotAsKnown(Exception):
    """The "known" gain left the output far from the target: process again, measuring the input."""


def output_format(speech: bool = False) -> tuple[int, str]:
    """Sample rate and MP3 bit rate of what devices play: the device format, or the speech format."""
    if speech:
        return int(setting("LOA_SPEECH_SAMPLE_RATE")), str(setting("LOA_SPEECH_BITRATE"))
    return int(setting("LOA_AUDIO_SAMPLE_RATE")), str(setting("LOA_AUDIO_BITRATE"))


def process_audio(
    src: Path | str,
    store_root: Path | str | None = None,
    *,
    target_lufs: float | None = None,
    true_peak_db: float | None = None,
    timeout_s: float | None = None,
    progress: ProgressCallback | None = None,
    work_name: str | None = None,
    known_gain_db: float | None = None,
    speech: bool = False,
) -> ProcessedAudio:
    """See :func:`_process_audio`. With ``known_gain_db``, an output that the gain leaves more than
    :data:`_KNOWN_GAIN_MISS_LU` from the target (or still off it after the corrections) is processed again the
    full way (input measured), so a wrong calibration costs time, never loudness."""
    kwargs: dict[str, Any] = {"target_lufs": target_lufs, "true_peak_db": true_peak_db, "timeout_s": timeout_s,
                              "progress": progress, "work_name": work_name, "speech": speech}  # fmt: skip
    if known_gain_db is not None:
        try:
            return _process_audio(src, store_root, known_gain_db=known_gain_db, **kwargs)
        except _LevelNotAsKnown:
            logger.info("Mức âm của nguồn khác mức đã hiệu chuẩn (%.1f dB): đo lại toàn bộ", known_gain_db)
    return _process_audio(src, store_root, **kwargs)


_KNOWN_GAIN_MISS_LU = 2.0


def _process_audio(
    src: Path | str,
    store_root: Path | str | None = None,
    *,
    target_lufs: float | None = None,
    true_peak_db: float | None = None,
    timeout_s: float | None = None,
    progress: ProgressCallback | None = None,
    work_name: str | None = None,
    known_gain_db: float | None = None,
    speech: bool = False,
) -> ProcessedAudio:
    """Validate, normalise (two-pass EBU R128 ``loudnorm``) and transcode ``src`` to mono MP3; store both.

    ``store_root`` defaults to ``MEDIA_ROOT/audio``. ``timeout_s`` bounds the whole run (default: settings
    ``LOA_MEDIA_TIMEOUT_S``, else 60 s + half the duration). ``progress(fraction, message)`` is called as the
    work advances. Raises :class:`MediaRejected` for any input it refuses; then nothing is left on disk.
    The source file itself is never modified or removed. ``work_name`` names the working folder
    (``<store>/.tmp/<work_name>``, random by default) so that a job can find it if its process dies.

    ``known_gain_db``: the gain that takes this source to the target through the peak limiter, known beforehand
    (a speech engine's calibrated output level): the input is not measured (pass 1 and the limiter's gain search
    are skipped); the produced MP3 is still metered and the gain corrected, as always, when it misses the target.

    ``speech``: encoded in the speech format (:func:`output_format`), for what a speech engine made.
    """
    src = Path(src)
    store = Path(store_root) if store_root is not None else default_store_root()
    target = _Target.from_settings(target_lufs, true_peak_db)
    started = time.monotonic()
    deadline = started + timeout_s if timeout_s is not None else None

    def report(fraction: float, message: str) -> None:
        if progress is not None:
            progress(max(0.0, min(1.0, fraction)), message)

    _check_file(src)
    work = store / ".tmp" / (work_name or secrets.token_hex(8))
    work.mkdir(parents=True, exist_ok=False)
    created: list[Path] = []
    try:
        report(0.0, "Đang kiểm tra tệp")
        ext_guess = "".join(c for c in src.suffix.lower()[1:6] if c.isalnum()) or "bin"
        working = work / f"original.{ext_guess}"
        original_sha = _copy_hashing(src, working, int(setting("LOA_MEDIA_MAX_BYTES")))
        # a speech engine's output (its level is known) is a plain WAV: its header says all, else ffprobe
        info = (probe_engine_wav(working) if known_gain_db is not None else None) or probe(
            working, deadline=deadline, decode=False
        )
        if deadline is None:
            deadline = _processing_deadline(info.duration_s)
        # ``pre`` is what the chain must deliver so that the encoded MP3 lands on ``target``.
        pre = _Target(target.lufs - _ENCODER_LEVEL_DB, target.true_peak - _ENCODER_LEVEL_DB)
        first: _Loudness | None = None
        planned = 0
        if known_gain_db is not None:
            # a known level: one encode through the limiter, then the output check below (and its correction)
            gain, decoded_s = min(_MAX_GAIN_DB, known_gain_db), info.duration_s
            ceiling: float | None = pre.true_peak - _LIMITER_MARGIN_DB
        else:
            report(0.05, "Đang đo độ lớn âm thanh")
            first = _measure(
                working, info.demuxer, _chain(None, None), deadline=deadline, expected_s=info.duration_s,
                progress=lambda f: report(0.05 + 0.25 * f, "Đang đo độ lớn âm thanh"),
            )  # fmt: skip
            _check_measured(info, first)
            decoded_s = first.decoded_s
            # Linear gain to the target; a peak limiter only when that gain would break the true-peak ceiling.
            gain = min(_MAX_GAIN_DB, pre.lufs - first.integrated)
            ceiling = None if first.true_peak + gain <= pre.true_peak else pre.true_peak - _LIMITER_MARGIN_DB
        if ceiling is not None and first is not None:
            gain, planned = _plan_limited_gain(
                working, info.demuxer, gain, ceiling, pre, deadline=deadline,
                progress=_stage(report, 0.3, 0.2, "Đang tính mức chuẩn hóa"),
            )  # fmt: skip
        out_tmp = work / "out.mp3"
        points: list[tuple[float, float]] = []
        for attempt in range(_MAX_ATTEMPTS):
            start, span = 0.5 + 0.4 * attempt / _MAX_ATTEMPTS, 0.4 / _MAX_ATTEMPTS
            message = "Đang chuẩn hóa và chuyển sang MP3" if attempt == 0 else "Đang tinh chỉnh độ lớn"
            report(start, message)
            analysis = _encode_and_analyse(
                working, info.demuxer, _chain(gain, ceiling), out_tmp, duration_s=decoded_s,
                deadline=deadline, progress=_stage(report, start, span * 0.7, message), speech=speech,
            )  # fmt: skip
            if first is None:  # the input was not metered: the same checks on what it decoded to
                _check_measured(
                    info, _Loudness(analysis.loudness_lufs, analysis.true_peak_dbtp, analysis.duration_s)
                )
            points.append((gain, analysis.loudness_lufs))
            over = analysis.true_peak_dbtp - target.true_peak
            if abs(target.lufs - analysis.loudness_lufs) <= _TOLERANCE_LU and over <= 0.1:
                break
            if first is None and (
                attempt == _MAX_ATTEMPTS - 1
                or abs(target.lufs - analysis.loudness_lufs) > _KNOWN_GAIN_MISS_LU
            ):
                raise _LevelNotAsKnown
            if attempt == _MAX_ATTEMPTS - 1:
                break  # keep the last result: it is the closest the limiter allows
            # The limiter, the encoder's low-pass and inter-sample peaks moved the result: correct the gain.
            if over > 0.1:
                ceiling = (pre.true_peak - _LIMITER_MARGIN_DB if ceiling is None else ceiling) - over
            gain = _next_gain(points, target.lufs)
            if ceiling is None and first is not None and first.true_peak + gain > pre.true_peak:
                ceiling = pre.true_peak - _LIMITER_MARGIN_DB
        check_duration(analysis.duration_s)
        if analysis.duration_s < 0.1:
            raise _corrupt()
        sha = sha256_file(out_tmp)
        size = out_tmp.stat().st_size
        final_orig = original_path(store, original_sha, info.original_ext)
        final = processed_path(store, sha)
        if _place(working, final_orig):
            created.append(final_orig)
        if _place(out_tmp, final):
            created.append(final)
        report(1.0, "Xong")
        return ProcessedAudio(
            sha256=sha,
            path=final.resolve(),
            original_sha256=original_sha,
            original_path=final_orig.resolve(),
            duration_s=round(analysis.duration_s, 3),
            loudness_lufs=analysis.loudness_lufs,
            true_peak_dbtp=analysis.true_peak_dbtp,
            sample_rate=output_format(speech)[0],
            waveform=analysis.waveform,
            input_format=info.format_name,
            input_codec=info.codec,
            input_loudness_lufs=first.integrated if first is not None else None,
            input_true_peak_dbtp=first.true_peak if first is not None else None,
            gain_db=round(gain, 2),
            passes=(0 if first is None else 1) + planned + 2 * len(points),
            limited=ceiling is not None,
            size_bytes=size,
        )
    except BaseException:
        for path in created:
            path.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
        _prune_empty(store / ".tmp")


def _stage(report: ProgressCallback, start: float, span: float, message: str) -> Callable[[float], None]:
    return lambda f: report(start + span * f, message)


def _prune_empty(folder: Path) -> None:
    try:
        folder.rmdir()  # only succeeds when empty: another run may be using it
    except OSError:
        pass
