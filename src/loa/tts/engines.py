"""Text-to-speech engines behind one interface: ``synthesize(text, voice, speed) -> Path`` of a WAV file.

* :class:`EspeakNgEngine` (default): the ``espeak-ng`` binary when it is on the machine, else the libespeak-ng
  inside the ``espeakng-loader`` wheel, driven in a child process. Voices: Northern ``vi``, Central
  ``vi-vn-x-central``, Southern ``vi-vn-x-south``. Robotic, but offline everywhere.
* :class:`PiperEngine`: only when the operator configured a voice model (``LOA_TTS_PIPER_MODEL``, a ``.onnx``
  file with its ``.onnx.json``) and Piper is installed. Nothing is ever downloaded.

Every synthesis runs in a child process under a time limit (``LOA_TTS_TIMEOUT_S``); the whole process group
is killed when it runs out. Text goes through stdin, never the command line (no option injection, no length
limit of argv).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from django.utils.translation import gettext_noop

from loa.errors import Refusal


class TtsError(Refusal):
    """A synthesis that cannot be done. ``code`` is for machines, ``message`` (Vietnamese) for the operator.

    A missing engine or ffmpeg is the server's fault, not the request's: 503."""

    UNAVAILABLE = frozenset({"engine_missing", "piper_missing", "ffmpeg_missing"})

    def __init__(self, code: str, message: str, status: int | None = None, **kwargs: Any) -> None:
        if status is None and code in self.UNAVAILABLE:
            status = 503
        super().__init__(code, message, status, **kwargs)


@dataclass(frozen=True)
class Voice:
    key: str
    label: str
    espeak: str


VOICES: dict[str, Voice] = {
    "north": Voice("north", gettext_noop("Giọng miền Bắc"), "vi"),
    "central": Voice("central", gettext_noop("Giọng miền Trung"), "vi-vn-x-central"),
    "south": Voice("south", gettext_noop("Giọng miền Nam"), "vi-vn-x-south"),
}
DEFAULT_VOICE = "north"
DEFAULT_SPEED = 140  # words per minute: a calm public-address pace
MIN_SPEED, MAX_SPEED = 80, 260

DEFAULTS: dict[str, Any] = {
    "LOA_TTS_ENGINE": "auto",  # auto: Piper when a model is configured, else espeak-ng
    "LOA_TTS_PIPER_MODEL": "",
    "LOA_TTS_TIMEOUT_S": 120.0,
    "LOA_TTS_ESPEAK_BINARY": "",  # empty: look on PATH; "none": always use the library in the wheel
}


def setting(name: str) -> Any:
    """From the environment first (so the CLI can override), then Django settings, then the default."""
    if name in os.environ:
        return os.environ[name]
    try:
        from django.conf import settings as dj

        if dj.configured:
            return getattr(dj, name, DEFAULTS[name])
    except ImportError:  # pragma: no cover
        pass
    return DEFAULTS[name]


def check_voice(voice: str | None) -> Voice:
    key = (voice or DEFAULT_VOICE).strip().lower()
    aliases = {v.espeak: k for k, v in VOICES.items()} | {"bac": "north", "trung": "central", "nam": "south"}
    key = aliases.get(key, key)
    if key not in VOICES:
        allowed = ", ".join(f"{k} ({v.label.lower()})" for k, v in VOICES.items())
        raise TtsError("voice_unknown", f"Giọng đọc \u201c{voice}\u201d không có. Chọn một trong: {allowed}.")
    return VOICES[key]


def check_speed(speed: int | float | str | None) -> int:
    if speed is None or speed == "":
        return DEFAULT_SPEED
    try:
        value = int(float(speed))
    except (TypeError, ValueError):
        raise TtsError("speed_invalid", "Tốc độ đọc phải là một số (số từ mỗi phút).") from None
    if not MIN_SPEED <= value <= MAX_SPEED:
        raise TtsError(
            "speed_out_of_range",
            f"Tốc độ đọc phải từ {MIN_SPEED} đến {MAX_SPEED} từ mỗi phút (bình thường là {DEFAULT_SPEED}).",
        )
    return value


@runtime_checkable
class TtsEngine(Protocol):
    name: str

    def synthesize(self, text: str, voice: str, speed: int, *, out_dir: Path | None = None) -> Path:
        """Speak ``text`` into a new WAV file (in ``out_dir`` or a temporary folder) and return its path."""
        ...


def _timeout_s() -> float:
    return float(setting("LOA_TTS_TIMEOUT_S"))


def _run(cmd: list[str], text: str, timeout_s: float, env: dict[str, str] | None = None) -> None:
    """Run ``cmd`` with ``text`` on stdin in its own process group; kill the group at the deadline."""
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=env,
    )
    try:
        _out, err = proc.communicate(text.encode("utf-8"), timeout=timeout_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.communicate()
        raise TtsError(
            "tts_timeout",
            f"Tổng hợp giọng nói quá {timeout_s:g} giây nên đã dừng. Hãy chia văn bản thành các đoạn ngắn hơn.",
        ) from None
    finally:
        if proc.poll() is None:  # interrupted: never leave the engine running
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
    if proc.returncode != 0:
        detail = err.decode("utf-8", "replace").strip()[-300:]
        raise TtsError("tts_failed", f"Bộ tổng hợp giọng nói báo lỗi: {detail or proc.returncode}.")


def _new_wav(out_dir: Path | None) -> Path:
    folder = out_dir if out_dir is not None else Path(tempfile.mkdtemp(prefix="loa-tts-"))
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(suffix=".wav", dir=folder)
    os.close(fd)
    return Path(name)


def wav_duration(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / float(w.getframerate())


def _check_output(path: Path) -> Path:
    try:
        ok = path.stat().st_size > 44 and wav_duration(path) > 0
    except (OSError, wave.Error, EOFError):
        ok = False
    if not ok:
        path.unlink(missing_ok=True)
        raise TtsError("tts_empty", "Bộ tổng hợp giọng nói không tạo ra âm thanh. Hãy kiểm tra lại văn bản.")
    return path


class EspeakNgEngine:
    """eSpeak NG: the Debian binary if present, else the library shipped in the ``espeakng-loader`` wheel."""

    name = "espeak-ng"
    # Per voice, the gain (dB, through the media pipeline's peak limiter) that takes this engine's speech to the
    # loudness target: its output level is known (input -20 … -16.7 LUFS, true peak ≈ 0 dBTP; the two-pass search
    # found 4.0–7.7 dB for north and south, 7.9–11.6 dB for central on five texts each, docs/broadcast.md "Where
    # the time goes"). The pipeline then skips measuring the input; it still meters the produced MP3, corrects
    # the gain when it misses the target, and measures the input after all when the miss is large.
    calibrated_gain_db: ClassVar[dict[str, float]] = {"north": 5.5, "central": 9.5, "south": 5.5}

    def __init__(self, binary: str | None = None, timeout_s: float | None = None) -> None:
        configured = str(setting("LOA_TTS_ESPEAK_BINARY") or "") if binary is None else binary
        if configured.lower() == "none":
            self.binary: str | None = None
        else:
            self.binary = configured or shutil.which("espeak-ng")
        self.timeout_s = timeout_s if timeout_s is not None else _timeout_s()

    @property
    def backend(self) -> str:
        return "binary" if self.binary else "library"

    def synthesize(self, text: str, voice: str, speed: int, *, out_dir: Path | None = None) -> Path:
        v = check_voice(voice)
        wpm = check_speed(speed)
        out = _new_wav(out_dir)
        try:
            if self.binary:
                cmd = [self.binary, "-v", v.espeak, "-s", str(wpm), "-b", "1", "-w", str(out), "--stdin"]
                _run(cmd, text, self.timeout_s)
            else:
                if importlib.util.find_spec("espeakng_loader") is None:
                    raise TtsError(
                        "engine_missing",
                        "Máy chủ chưa có espeak-ng (gói hệ thống hoặc gói Python espeakng-loader). "
                        "Hãy báo quản trị hệ thống cài đặt.",
                    )
                env = dict(os.environ)
                src = str(Path(__file__).resolve().parents[2])
                env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
                cmd = [sys.executable, "-m", "loa.tts.espeak_lib", v.espeak, str(wpm), str(out)]
                _run(cmd, text, self.timeout_s, env=env)
            return _check_output(out)
        except BaseException:
            out.unlink(missing_ok=True)
            raise


class PiperEngine:
    """Piper with a voice model the operator provisioned. Never downloads anything.

    The one model speaks with its own accent, so ``voice`` is checked but does not change the speaker;
    ``speed`` (words/minute) maps to Piper's ``length_scale`` around the default pace.
    """

    name = "piper"

    def __init__(self, model: str | Path | None = None, timeout_s: float | None = None) -> None:
        path = str(setting("LOA_TTS_PIPER_MODEL") or "") if model is None else str(model)
        if not path:
            raise TtsError("piper_not_configured", "Chưa cấu hình mô hình giọng Piper (LOA_TTS_PIPER_MODEL).")
        self.model = Path(path)
        self.timeout_s = timeout_s if timeout_s is not None else _timeout_s()
        if not self.model.is_file():
            raise TtsError(
                "piper_model_missing",
                f"Không tìm thấy tệp mô hình giọng Piper {self.model}. Hãy chép tệp .onnx và .onnx.json "
                "vào máy chủ rồi đặt LOA_TTS_PIPER_MODEL; hệ thống không tự tải mô hình.",
            )
        if not Path(str(self.model) + ".json").is_file():
            raise TtsError(
                "piper_config_missing",
                f"Thiếu tệp cấu hình {self.model}.json đi kèm mô hình giọng Piper.",
            )
        self.command = self._command()

    @staticmethod
    def _command() -> list[str]:
        if importlib.util.find_spec("piper") is not None:
            return [sys.executable, "-m", "piper"]
        binary = shutil.which("piper")
        if binary:
            return [binary]
        raise TtsError(
            "piper_missing",
            "Chưa cài Piper trên máy chủ (gói piper-tts). Hãy cài Piper hoặc bỏ cấu hình LOA_TTS_PIPER_MODEL "
            "để dùng giọng espeak-ng.",
        )

    def synthesize(self, text: str, voice: str, speed: int, *, out_dir: Path | None = None) -> Path:
        check_voice(voice)
        wpm = check_speed(speed)
        out = _new_wav(out_dir)
        length_scale = f"{DEFAULT_SPEED / wpm:.3f}"
        cmd = [
            *self.command,
            "--model",
            str(self.model),
            "--output_file",
            str(out),
            "--length_scale",
            length_scale,
        ]
        env = dict(os.environ)
        env["HF_HUB_OFFLINE"] = "1"
        try:
            _run(cmd, text, self.timeout_s, env=env)
            return _check_output(out)
        except BaseException:
            out.unlink(missing_ok=True)
            raise


def get_engine(name: str | None = None) -> TtsEngine:
    """The configured engine: ``LOA_TTS_ENGINE`` = ``auto`` (Piper when a model is set), ``espeak`` or ``piper``."""
    choice = (name or str(setting("LOA_TTS_ENGINE") or "auto")).strip().lower()
    if choice in {"espeak", "espeak-ng", "espeakng"}:
        return EspeakNgEngine()
    if choice == "piper":
        return PiperEngine()
    if choice == "auto":
        return PiperEngine() if setting("LOA_TTS_PIPER_MODEL") else EspeakNgEngine()
    raise TtsError(
        "engine_unknown", f"Bộ tổng hợp giọng nói \u201c{choice}\u201d không có (espeak hoặc piper)."
    )
