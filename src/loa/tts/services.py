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
from django.db.models import Q

from loa.audit.log import record
from loa.media.audio import MediaRejected, ProcessedAudio, process_audio
from loa.media.services import asset_file_path, do_ingest_file
from loa.tts.engines import VOICES, TtsEngine, TtsError, check_speed, check_voice, get_engine
from loa.tts.models import Abbreviation, SpeechClip
from loa.tts.normalize import ContextRule, bundled_abbreviations, normalize_vi

__all__ = [
    "ReadingTables", "SpokenAudio", "TtsError", "abbreviations", "check_text", "do_synthesize", "normalize",
    "reading_tables", "speak",
]  # fmt: skip

DEFAULT_MAX_CHARS = 5000


def max_chars() -> int:
    return int(getattr(settings, "LOA_TTS_MAX_CHARS", DEFAULT_MAX_CHARS))


def _thousands(n: int) -> str:
    """10079 → "10.079" (Vietnamese groups thousands with dots)."""
    return f"{n:,}".replace(",", ".")


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
            f"{what} dài {_thousands(len(text))} ký tự, vượt giới hạn {_thousands(limit)} ký tự. "
            "Hãy chia thành nhiều bản tin ngắn hơn.",
        )
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
        raise TtsError("text_invalid", f"{what} chứa ký tự điều khiển không hợp lệ.")
    return text


@dataclass(frozen=True)
class ReadingTables:
    """What the editors of a unit (and of the units above it) added to the bundled tables."""

    table: dict[str, str]
    rules: list[ContextRule]


def _entries(unit: Any) -> list[Abbreviation]:
    """Active entries for everyone and for ``unit``'s ancestors and itself, from the widest to the narrowest."""
    entries = Abbreviation.objects.filter(active=True).select_related("unit")
    if unit is None:
        entries = entries.filter(unit__isnull=True)
    else:
        entries = entries.filter(Q(unit__isnull=True) | Q(unit__in=unit.ancestors()) | Q(unit=unit))
    return sorted(entries, key=lambda e: (len(e.unit.path) if e.unit else 0, e.text, e.near))


def reading_tables(unit: Any = None) -> ReadingTables:
    """The entries in force for ``unit``: a narrower unit's plain entry overrides a wider one; context rules of the
    narrowest unit are tried first."""
    table: dict[str, str] = {}
    rules: list[ContextRule] = []
    for entry in _entries(unit):
        if entry.near_words:
            rules.insert(0, ContextRule(entry.text, entry.reading, entry.near_words))
        else:
            table[entry.text] = entry.reading
    return ReadingTables(table, rules)


def abbreviations(*, include_db: bool = True, unit: Any = None) -> dict[str, str]:
    """The plain abbreviation table in force: the bundled file, overridden and extended by active entries."""
    table = dict(bundled_abbreviations())
    if include_db:
        table.update(reading_tables(unit).table)
    return table


def _tables(include_db: bool, unit: Any) -> ReadingTables:
    if not include_db:
        return ReadingTables({}, [])
    try:
        return reading_tables(unit)
    except DatabaseError:  # a command run before `loa migrate`: the bundled table still works
        return ReadingTables({}, [])


def normalize(text: str | None, *, include_db: bool = True, unit: Any = None) -> str:
    """The "read as" text of ``text`` (validated), with the abbreviations of ``unit`` and the units above it."""
    text = check_text(text)
    tables = _tables(include_db, unit)
    read_as = normalize_vi(text, tables.table, tables.rules)
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
    gain_db: float | None = None  # the engine's calibrated gain (its output level is known), if any


def _synthesize(
    text: str | None,
    voice: str | None,
    speed: int | str | None,
    *,
    read_as: str | None,
    engine: TtsEngine | None,
    include_db: bool,
    work: Path,
    unit: Any = None,
) -> _Speech:
    v = check_voice(voice)
    wpm = check_speed(speed)
    t0 = time.perf_counter()
    if read_as is not None and read_as.strip():
        spoken = check_text(read_as, what="Nội dung \u201cđọc là\u201d")
    else:
        spoken = normalize(text, include_db=include_db, unit=unit)
    normalize_s = time.perf_counter() - t0
    eng = engine if engine is not None else get_engine()
    t1 = time.perf_counter()
    wav = eng.synthesize(spoken, v.key, wpm, out_dir=work)
    seconds = {"normalize_s": normalize_s, "synthesize_s": time.perf_counter() - t1}
    return _Speech(read_as=spoken, voice=v.key, speed=wpm, engine=eng.name, wav=wav, seconds=seconds,
                   gain_db=(getattr(eng, "calibrated_gain_db", None) or {}).get(v.key))  # fmt: skip


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
            processed = process_audio(speech.wav, store_root, known_gain_db=speech.gain_db, speech=True)
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


def clip_name(title: str) -> str:
    """A speech clip's file name in the library, after what it reads: "Giọng đọc – Thông báo tiêm phòng.wav"."""
    words = " ".join(title.replace("/", " ").replace("\\", " ").split())
    if len(words) > 80:
        words = words[:80].rsplit(" ", 1)[0] + "…"
    return f"Giọng đọc – {words or 'bản tin'}.wav"


def voice_words(voice: str) -> str:
    """A voice as the audit log says it: "giọng miền Bắc" (not the code "north")."""
    label = str(VOICES[voice].label) if voice in VOICES else voice
    return label[:1].lower() + label[1:]


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
    name: str = "",
) -> SpeechClip:
    """Turn ``text`` (or the editor-corrected ``read_as``) into a stored, processed clip; audit it.

    ``name``: what the clip is called in the media library (the bulletin's title); by default the first words
    of what is read.

    This is what the bulletin editor calls for "listen to the TTS preview" and for "make audio from text".
    The audio goes through the media library like an upload (:func:`loa.media.services.do_ingest_file`): the
    clip's ``media_asset_id`` is the :class:`~loa.media.models.MediaAsset` of ``unit`` holding the MP3
    (``clip_file(clip)``); ``clip.read_as`` is what was spoken. Raises :class:`TtsError`; then nothing is stored.
    """
    original = check_text(text) if text is not None and str(text).strip() else ""
    work = Path(tempfile.mkdtemp(prefix="loa-tts-"))
    try:
        speech = _synthesize(
            original or None,
            voice,
            speed,
            read_as=read_as,
            engine=engine,
            include_db=True,
            work=work,
            unit=unit,
        )
        try:
            asset = do_ingest_file(
                speech.wav, unit=unit, actor=actor, request=request,
                original_name=clip_name(name or original or speech.read_as), known_gain_db=speech.gain_db, speech=True,
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
            message=f"Tổng hợp giọng nói ({voice_words(speech.voice)}, {clip.duration_s:.1f} giây)",
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
