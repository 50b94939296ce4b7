"""Text-to-speech services: ``check_*`` validates, ``do_synthesize`` changes state (a stored clip) and audits.

The path of a text to the loudspeakers: ``normalize`` (the "read as" text the editor sees and may correct) →
the engine (:mod:`loa.tts.engines`) writes a WAV → the same audio pipeline as uploads
(:func:`loa.media.audio.process_audio`: loudness-normalized mono MP3 stored by sha256) → a :class:`SpeechClip`.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction

from loa.audit.log import record
from loa.media.audio import MediaRejected, ProcessedAudio, process_audio
from loa.media.services import asset_file_path, do_ingest_file
from loa.tts.engines import TtsEngine, TtsError, check_speed, check_voice, get_engine
from loa.tts.models import Abbreviation, SpeechClip
from loa.tts.normalize import bundled_abbreviations, normalize_vi

__all__ = ["SpokenAudio", "TtsError", "abbreviations", "check_text", "do_synthesize", "normalize", "speak"]

DEFAULT_MAX_CHARS = 5000


def max_chars() -> int:
    return int(getattr(settings, "LOA_TTS_MAX_CHARS", DEFAULT_MAX_CHARS))


def check_text(text: str | None, *, what: str = "Văn bản cần đọc") -> str:
    """The text, NFC and trimmed; refuse empty, too long or control characters, with a Vietnamese message."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise TtsError("text_invalid", f"{what} phải là chuỗi ký tự.")
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").strip()
    if not text:
        raise TtsError("text_empty", f"{what} đang để trống. Hãy nhập nội dung cần đọc.")
    limit = max_chars()
    if len(text) > limit:
        raise TtsError(
            "text_too_long",
            f"{what} dài {len(text):,} ký tự, vượt giới hạn {limit:,} ký tự. Hãy chia thành nhiều bản tin ngắn hơn.".replace(
                ",", "."
            ),
        )
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
        raise TtsError("text_invalid", f"{what} chứa ký tự điều khiển không hợp lệ.")
    return text


def _db_abbreviations() -> dict[str, str]:
    return dict(Abbreviation.objects.filter(active=True).values_list("text", "reading"))


def abbreviations(*, include_db: bool = True) -> dict[str, str]:
    """The abbreviation table in force: the bundled file, overridden and extended by active admin entries."""
    table = dict(bundled_abbreviations())
    if include_db:
        table.update(_db_abbreviations())
    return table


def _extra(include_db: bool) -> dict[str, str]:
    if not include_db:
        return {}
    try:
        return _db_abbreviations()
    except DatabaseError:  # a command run before `loa migrate`: the bundled table still works
        return {}


def normalize(text: str | None, *, include_db: bool = True) -> str:
    """The "read as" text of ``text`` (validated), with the editors' abbreviations."""
    text = check_text(text)
    read_as = normalize_vi(text, _extra(include_db))
    if not read_as.strip():
        raise TtsError("text_unreadable", "Văn bản không có chữ nào đọc được.")
    return read_as


@dataclass(frozen=True)
class SpokenAudio:
    read_as: str
    voice: str
    speed: int
    engine: str
    audio: ProcessedAudio
    seconds: dict[str, float]


@dataclass(frozen=True)
class _Speech:
    read_as: str
    voice: str
    speed: int
    engine: str
    wav: Path
    seconds: dict[str, float]


def _synthesize(
    text: str | None,
    voice: str | None,
    speed: int | str | None,
    *,
    read_as: str | None,
    engine: TtsEngine | None,
    include_db: bool,
    work: Path,
) -> _Speech:
    v = check_voice(voice)
    wpm = check_speed(speed)
    t0 = time.perf_counter()
    if read_as is not None and read_as.strip():
        spoken = check_text(read_as, what="Nội dung \u201cđọc là\u201d")
    else:
        spoken = normalize(text, include_db=include_db)
    normalize_s = time.perf_counter() - t0
    eng = engine if engine is not None else get_engine()
    t1 = time.perf_counter()
    wav = eng.synthesize(spoken, v.key, wpm, out_dir=work)
    seconds = {"normalize_s": normalize_s, "synthesize_s": time.perf_counter() - t1}
    return _Speech(read_as=spoken, voice=v.key, speed=wpm, engine=eng.name, wav=wav, seconds=seconds)


def speak(
    text: str | None,
    voice: str | None = None,
    speed: int | str | None = None,
    *,
    read_as: str | None = None,
    engine: TtsEngine | None = None,
    store_root: Path | None = None,
    include_db: bool = True,
) -> SpokenAudio:
    """Normalize (or take the corrected ``read_as``), synthesize, and process through the media pipeline.

    Stores the processed MP3 content-addressed under ``store_root`` (default ``MEDIA_ROOT/audio``) and writes
    nothing to the database (the CLI and the benchmark use it). Raises :class:`TtsError`.
    """
    work = Path(tempfile.mkdtemp(prefix="loa-tts-"))
    try:
        speech = _synthesize(
            text, voice, speed, read_as=read_as, engine=engine, include_db=include_db, work=work
        )
        t2 = time.perf_counter()
        try:
            processed = process_audio(speech.wav, store_root)
        except MediaRejected as exc:
            raise TtsError(exc.code, exc.message) from exc
        seconds = speech.seconds | {"process_s": time.perf_counter() - t2}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return SpokenAudio(
        read_as=speech.read_as, voice=speech.voice, speed=speech.speed, engine=speech.engine, audio=processed,
        seconds=seconds,
    )  # fmt: skip


def _stored_path(path: Path) -> str:
    root = Path(settings.MEDIA_ROOT).resolve()
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path.resolve())


def clip_file(clip: SpeechClip) -> Path:
    path = Path(clip.path)
    return path if path.is_absolute() else Path(settings.MEDIA_ROOT) / path


def do_synthesize(
    text: str | None,
    voice: str | None = None,
    speed: int | str | None = None,
    *,
    actor: Any,
    read_as: str | None = None,
    unit: Any = None,
    request: Any = None,
    engine: TtsEngine | None = None,
) -> SpeechClip:
    """Turn ``text`` (or the editor-corrected ``read_as``) into a stored, processed clip; audit it.

    This is what the bulletin editor calls for "listen to the TTS preview" and for "make audio from text".
    The audio goes through the media library like an upload (:func:`loa.media.services.do_ingest_file`): the
    clip's ``media_asset_id`` is the :class:`~loa.media.models.MediaAsset` of ``unit`` holding the MP3
    (``clip_file(clip)``); ``clip.read_as`` is what was spoken. Raises :class:`TtsError`; then nothing is stored.
    """
    original = check_text(text) if text is not None and str(text).strip() else ""
    work = Path(tempfile.mkdtemp(prefix="loa-tts-"))
    try:
        speech = _synthesize(
            original or None, voice, speed, read_as=read_as, engine=engine, include_db=True, work=work
        )
        try:
            asset = do_ingest_file(
                speech.wav, unit=unit, actor=actor, request=request,
                original_name=f"tts-{speech.voice}-{speech.speed}.wav",
            )  # fmt: skip
        except MediaRejected as exc:
            raise TtsError(exc.code, exc.message) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with transaction.atomic():
        clip = SpeechClip.objects.create(
            unit=unit,
            text=original or speech.read_as,
            read_as=speech.read_as,
            voice=speech.voice,
            speed=speech.speed,
            engine=speech.engine,
            sha256=asset.sha256,
            path=_stored_path(asset_file_path(asset)),
            duration_s=asset.duration_s or 0.0,
            loudness_lufs=asset.loudness_lufs if asset.loudness_lufs is not None else 0.0,
            media_asset_id=str(asset.pk),
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        record(
            "tts.synthesized",
            actor=actor,
            request=request,
            unit=unit,
            obj=clip,
            message=f"Tổng hợp giọng nói ({speech.voice}, {clip.duration_s:.1f} giây)",
            data={
                "voice": speech.voice,
                "speed": speech.speed,
                "engine": speech.engine,
                "sha256": asset.sha256,
                "media_asset_id": asset.pk,
                "duration_s": clip.duration_s,
                "chars": len(speech.read_as),
                "corrected": bool(read_as and read_as.strip()),
            },
        )
    return clip
