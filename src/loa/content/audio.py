"""A bulletin's audio where the officer expects it: an uploaded or recorded file is processed and used for the
bulletin in the same job (no second click), and the speech previewed in the editor is kept when the bulletin is
saved, if the text it was made from is still the text being saved."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _

from loa.content.editing import do_set_audio
from loa.content.errors import BulletinError
from loa.content.models import Bulletin
from loa.media.services import ingest_upload_task
from loa.units.models import Unit

TASK = "loa.content.audio.ingest_for_bulletin_task"


def ingest_for_bulletin_task(
    *,
    job_id: int,
    upload_path: str,
    original_name: str,
    unit_id: int | None,
    actor_id: int | None,
    bulletin_id: int,
) -> dict[str, Any]:
    """The media library's processing job, then the asset becomes the bulletin's audio (a new version; under
    review it returns the bulletin to review like any audio change). If the bulletin can no longer take it,
    the asset stays in the library and the job says why."""
    result = ingest_upload_task(
        job_id=job_id,
        upload_path=upload_path,
        original_name=original_name,
        unit_id=unit_id,
        actor_id=actor_id,
    )
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    bulletin = Bulletin.objects.filter(pk=bulletin_id).first()
    if bulletin is None:
        return result | {"bulletin_error": _("Không tìm thấy bản tin.")}
    try:
        do_set_audio(bulletin, result["asset_id"], actor=actor)
    except BulletinError as exc:
        return result | {"bulletin_error": exc.message}
    return result | {"bulletin_id": bulletin_id}


def check_previewed_clip(origin: Unit, clip_id: str, read_as: str) -> tuple[int, float] | None:
    """The media asset and duration of a speech preview made in the editor, if it belongs to ``origin`` and was
    made from ``read_as`` (the text being saved); ``None`` when there is no usable preview."""
    from loa.tts.models import SpeechClip

    if not clip_id.isdecimal():
        return None
    clip = SpeechClip.objects.filter(pk=int(clip_id), unit=origin).first()
    if clip is None or not clip.media_asset_id.isdecimal():
        return None
    if " ".join(clip.read_as.split()) != " ".join((read_as or "").split()):
        raise BulletinError(
            "preview_outdated",
            _("Nội dung “đọc là” đã đổi sau khi nghe thử: bấm “Chuyển thành âm thanh” để tạo âm thanh mới."),
            409,
            "read_as",
        )
    return int(clip.media_asset_id), float(clip.duration_s)
