"""The media library's state changes: ``check_*`` validates, ``do_*`` changes state and writes the audit log."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from loa.audit.log import record
from loa.media import audio, storage
from loa.media.audio import MediaRejected, ProcessedAudio, ProgressCallback
from loa.media.models import MediaAsset
from loa.units.models import Unit

__all__ = [
    "MediaRejected",
    "asset_file_path",
    "check_upload",
    "do_ingest_file",
    "store_root",
    "uploads_dir",
]


def store_root() -> Path:
    """Where audio lives: ``MEDIA_ROOT/audio`` (layout in docs/media.md)."""
    return Path(settings.MEDIA_ROOT) / "audio"


def uploads_dir() -> Path:
    """Uploads waiting for their background job (same file system as the store, removed by the job)."""
    path = store_root() / ".uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def asset_file_path(asset: MediaAsset) -> Path:
    return audio.processed_path(store_root(), asset.sha256)


def clean_name(name: str) -> str:
    """The file name as shown to people: no folders, no control characters, at most 255 characters."""
    base = os.path.basename((name or "").replace("\\", "/"))
    base = "".join(c for c in base if c.isprintable()).strip()
    return base[:255]


def check_upload(path: Path) -> audio.AudioInfo:
    """The quick checks done before queueing (size, content type, container, duration): fast refusals.

    Decoding the whole file happens in the job; a file that fails there is refused by the job.
    """
    return audio.probe(path, decode=False)


def write_capped(chunks: Any, path: Path, limit: int, too_large: Any) -> Path:
    """Stream byte chunks into ``path``, refusing (``too_large(total)`` raises) as soon as ``limit`` is passed;
    on any failure the partial file is removed."""
    total = 0
    try:
        with path.open("wb") as fh:
            for chunk in chunks:
                total += len(chunk)
                if total > limit:
                    too_large(total)
                fh.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def save_upload(chunks: Any, original_name: str) -> Path:
    """Write an uploaded file (an iterable of byte chunks) to the uploads folder, capped at the size limit."""
    limit = int(audio.setting("LOA_MEDIA_MAX_BYTES"))
    suffix = "".join(c for c in Path(clean_name(original_name)).suffix.lower()[:6] if c.isalnum() or c == ".")
    folder = uploads_dir()
    storage.check_free_space(folder)
    path = folder / f"{secrets.token_hex(12)}{suffix}"
    try:
        write_capped(chunks, path, limit, lambda total: audio.check_size(total, limit))
    except OSError as exc:  # the partial file is already gone
        raise storage.classify(exc, folder) from exc
    try:
        audio.check_size(path.stat().st_size, limit)  # an empty upload is refused here
    except MediaRejected:
        path.unlink(missing_ok=True)
        raise
    return path


# do_ingest_file's free-space check: the input size times this must fit above LOA_MEDIA_MIN_FREE_BYTES
SPACE_FACTOR = 2
# a processing failure while the store had less than this free is a full disk, not a corrupt file
FULL_MARGIN_BYTES = 256 * 1024


def _existing(unit: Unit | None, *, sha256: str = "", original_sha256: str = "") -> MediaAsset | None:
    qs = (
        MediaAsset.objects.filter(unit=unit)
        if unit is not None
        else MediaAsset.objects.filter(unit__isnull=True)
    )
    if sha256:
        qs = qs.filter(sha256=sha256)
    if original_sha256:
        qs = qs.filter(original_sha256=original_sha256)
    return qs.first()


def _remove_unreferenced(processed: ProcessedAudio) -> None:
    """After a failed insert: remove the stored files unless another asset points at the same content."""
    if not MediaAsset.objects.filter(sha256=processed.sha256).exists():
        processed.path.unlink(missing_ok=True)
    if not MediaAsset.objects.filter(original_sha256=processed.original_sha256).exists():
        processed.original_path.unlink(missing_ok=True)


def do_ingest_file(
    path: Path | str,
    *,
    unit: Unit | None,
    actor: Any,
    original_name: str = "",
    request: Any = None,
    progress: ProgressCallback | None = None,
    timeout_s: float | None = None,
    work_name: str | None = None,
    known_gain_db: float | None = None,
    speech: bool = False,
) -> MediaAsset:
    """Process an audio file into the library of ``unit`` (``None``: a system asset) and return the asset.

    Idempotent by content: the same bytes (or the same processed result) for the same owner give the same
    asset, without processing twice. Raises :class:`MediaRejected` for bad input; then nothing is stored.
    The source file is left where it is (the caller owns it).
    """
    path = Path(path)
    name = clean_name(original_name or path.name)
    size = 0
    if path.is_file():
        known = _existing(unit, original_sha256=audio.sha256_file(path))
        if known is not None:
            if progress is not None:
                progress(1.0, "Tệp này đã có trong thư viện")
            return known
        size = path.stat().st_size
    root = store_root()
    # out of space is a state, not a corrupt file (loa.media.storage): the original's copy and the processed MP3
    # (never larger than the input in practice) must fit above LOA_MEDIA_MIN_FREE_BYTES
    storage.check_free_space(root, needed=SPACE_FACTOR * size)
    lowest_free = [storage.free_bytes(root)]

    def watch(fraction: float, message: str) -> None:
        # the free space seen while ffmpeg writes: a run that failed on a full disk is not a corrupt file
        lowest_free[0] = min(lowest_free[0], storage.free_bytes(root))
        if progress is not None:
            progress(fraction, message)

    try:
        processed = audio.process_audio(
            path,
            root,
            progress=watch,
            timeout_s=timeout_s,
            work_name=work_name,
            known_gain_db=known_gain_db,
            speech=speech,
        )
    except (MediaRejected, OSError) as exc:
        if storage.is_full_error(exc) or (
            isinstance(exc, MediaRejected) and exc.code != "timeout" and lowest_free[0] < FULL_MARGIN_BYTES
        ):
            raise storage.alarm(root, storage.StorageFull(storage.free_bytes(root))) from exc
        raise
    try:
        with transaction.atomic():
            known = _existing(unit, sha256=processed.sha256)
            if known is not None:
                return known
            asset = MediaAsset.objects.create(
                kind=MediaAsset.Kind.AUDIO,
                sha256=processed.sha256,
                mime_type="audio/mpeg",
                size_bytes=processed.size_bytes,
                original_sha256=processed.original_sha256,
                original_name=name,
                original_format=processed.input_format[:100],
                original_codec=processed.input_codec[:50],
                original_ext=processed.original_path.suffix.lstrip(".")[:10],
                duration_s=processed.duration_s,
                loudness_lufs=processed.loudness_lufs,
                true_peak_dbtp=processed.true_peak_dbtp,
                input_loudness_lufs=processed.input_loudness_lufs,
                sample_rate=processed.sample_rate,
                waveform=processed.waveform,
                unit=unit,
                created_by=actor if getattr(actor, "pk", None) else None,
            )
            record(
                "media.ingested",
                actor=actor,
                request=request,
                unit=unit,
                obj=asset,
                message=f"Thêm âm thanh “{name}” ({processed.duration_s:.1f} giây)",
                data={
                    "sha256": processed.sha256,
                    "original_sha256": processed.original_sha256,
                    "duration_s": processed.duration_s,
                    "loudness_lufs": processed.loudness_lufs,
                    "input_loudness_lufs": processed.input_loudness_lufs,
                },
            )
            return asset
    except IntegrityError:
        # Another job stored the same content for the same owner at the same moment: that asset wins.
        known = _existing(unit, sha256=processed.sha256)
        if known is not None:
            return known
        _remove_unreferenced(processed)
        raise
    except BaseException:
        _remove_unreferenced(processed)
        raise


# ---- background job ------------------------------------------------------------------------------------

JOB_KIND = "media.ingest"


def ingest_upload_task(
    *, job_id: int, upload_path: str, original_name: str, unit_id: int | None, actor_id: int | None
) -> dict[str, Any]:
    """The job behind an upload: process it, report progress, always remove the uploaded temporary file."""
    from django.contrib.auth import get_user_model

    from loa.jobs.models import Job
    from loa.jobs.run import set_progress

    path = Path(upload_path)
    unit = Unit.objects.filter(pk=unit_id).first() if unit_id else None
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    last = [-1]

    def progress(fraction: float, message: str) -> None:
        pct = int(fraction * 100)
        if pct != last[0]:
            last[0] = pct
            set_progress(job_id, min(99, pct), message)

    try:
        asset = do_ingest_file(path, unit=unit, actor=actor, original_name=original_name, progress=progress,
                               work_name=f"job-{job_id}-{secrets.token_hex(4)}")  # fmt: skip
    except (MediaRejected, storage.StorageFull) as exc:
        Job.objects.filter(pk=job_id).update(result={"error": {"code": exc.code, "message": exc.message}})
        raise
    finally:
        _remove_upload(path)
    return {"asset_id": asset.pk, "sha256": asset.sha256, "duration_s": asset.duration_s}


def _abandon_attempt(*, job_id: int, final: bool, upload_path: str, **_kwargs: Any) -> None:
    """An attempt whose worker died (loa.jobs.lease): its working folder goes; after the last one, the upload too."""
    tmp = store_root() / ".tmp"
    for work in tmp.glob(f"job-{int(job_id)}-*"):
        shutil.rmtree(work, ignore_errors=True)
    if final:
        _remove_upload(Path(upload_path))


ingest_upload_task.on_abandon = _abandon_attempt  # type: ignore[attr-defined]


def _remove_upload(path: Path) -> None:
    # only ever files inside the uploads folder: the job never deletes a path it was not given by an upload
    try:
        if path.resolve().parent == uploads_dir().resolve():
            path.unlink(missing_ok=True)
    except OSError:
        pass


INGEST_TASK = "loa.media.services.ingest_upload_task"


def enqueue_upload(
    path: Path, *, unit: Unit, actor: Any, original_name: str, task: str = INGEST_TASK, **params: Any
) -> Any:
    """Queue the processing of an uploaded file (already saved with :func:`save_upload`) as a job.

    ``task`` may name another function that wraps :func:`ingest_upload_task` to do something with the asset
    (the bulletin pages attach it to the bulletin); ``params`` are passed to it."""
    from loa.jobs.run import enqueue

    try:
        return enqueue(
            JOB_KIND,
            task,
            user=actor,
            unit=unit,
            upload_path=str(path),
            original_name=clean_name(original_name),
            unit_id=unit.pk,
            actor_id=getattr(actor, "pk", None),
            **params,
        )
    except BaseException:
        _remove_upload(path)
        raise


def move_into_uploads(src: Path, original_name: str) -> Path:
    """Move a temporary upload file (Django's) into the uploads folder."""
    suffix = "".join(c for c in Path(clean_name(original_name)).suffix.lower()[:6] if c.isalnum() or c == ".")
    dst = uploads_dir() / f"{secrets.token_hex(12)}{suffix}"
    shutil.move(str(src), dst)
    return dst


def job_outcome(job: Any) -> dict[str, Any]:
    """What a processing job's page shows: the asset it made, or why it failed, and whether it is still running."""
    from django.utils.translation import gettext as _

    from loa.jobs.models import Job

    result = job.result or {}
    asset = None
    if job.state == Job.State.DONE and result.get("asset_id"):
        asset = MediaAsset.objects.filter(pk=result["asset_id"]).first()
    error = None
    if job.state == Job.State.FAILED:
        error = (result.get("error") or {}).get("message") or job.message or _("Xử lý tệp thất bại.")
    return {
        "job": job,
        "asset": asset,
        "error": error,
        "running": job.state in (Job.State.QUEUED, Job.State.RUNNING),
    }
