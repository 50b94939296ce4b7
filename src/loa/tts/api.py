"""TTS API: the "read as" text of a notice, and a synthesized preview the editor can listen to."""

from __future__ import annotations

from typing import Any, Literal

from django.http import FileResponse, HttpRequest
from ninja import Field, Router, Schema, Status

from loa.accounts.access import UnitNotFound, access_anywhere, access_unit, access_unit_code
from loa.api.auth import token_of
from loa.api.errors import ERROR_RESPONSES, ApiError
from loa.tts import services
from loa.tts.engines import DEFAULT_SPEED, MAX_SPEED, MIN_SPEED, TtsError
from loa.tts.models import SpeechClip

router = Router()

# The service enforces LOA_TTS_MAX_CHARS with a Vietnamese message; this cap only stops absurd bodies early.
_BODY_CAP = 100_000


class NormalizeIn(Schema):
    text: str = Field(..., max_length=_BODY_CAP, description="Văn bản của bản tin")


class NormalizeOut(Schema):
    read_as: str = Field(..., description="Văn bản sẽ được đọc (đã chuyển số, ngày, giờ, viết tắt thành chữ)")


class PreviewIn(Schema):
    unit: str = Field(..., max_length=32, description="Mã đơn vị của bản tin (xã/phường hoặc tỉnh)")
    text: str = Field("", max_length=_BODY_CAP, description="Văn bản gốc; bỏ trống nếu gửi read_as")
    read_as: str | None = Field(None, max_length=_BODY_CAP, description="Nội dung \u201cđọc là\u201d đã sửa")
    voice: Literal["north", "central", "south"] = "north"
    speed: int = Field(DEFAULT_SPEED, ge=MIN_SPEED, le=MAX_SPEED, description="Tốc độ đọc, từ mỗi phút")


class ClipOut(Schema):
    id: int
    unit: str | None
    url: str
    duration_s: float
    loudness_lufs: float
    sha256: str
    voice: str
    speed: int
    engine: str
    read_as: str
    media_asset_id: int | None = Field(None, description="Tệp âm thanh trong thư viện (gắn vào bản tin)")

    @staticmethod
    def of(clip: SpeechClip) -> dict[str, Any]:
        return {
            "id": clip.pk,
            "unit": clip.unit.code if clip.unit_id and clip.unit else None,
            "url": f"/api/v1/tts/clips/{clip.pk}/audio",
            "duration_s": clip.duration_s,
            "loudness_lufs": clip.loudness_lufs,
            "sha256": clip.sha256,
            "voice": clip.voice,
            "speed": clip.speed,
            "engine": clip.engine,
            "read_as": clip.read_as,
            "media_asset_id": int(clip.media_asset_id) if clip.media_asset_id.isdigit() else None,
        }


def _error(exc: TtsError) -> ApiError:
    status = 503 if exc.code in {"engine_missing", "piper_missing", "ffmpeg_missing"} else 400
    if exc.code in {"tts_timeout", "timeout"}:
        status = 400
    return ApiError(status, exc.code, exc.message)


@router.post(
    "/normalize", response={200: NormalizeOut, **ERROR_RESPONSES}, summary="Văn bản \u201cđọc là\u201d"
)
def normalize(request: HttpRequest, payload: NormalizeIn) -> Any:
    access_anywhere(request.user, "tts.use", token_of(request))
    try:
        return {"read_as": services.normalize(payload.text)}
    except TtsError as exc:
        raise _error(exc) from exc


@router.post("/preview", response={201: ClipOut, **ERROR_RESPONSES}, summary="Nghe thử giọng đọc tổng hợp")
def preview(request: HttpRequest, payload: PreviewIn) -> Any:
    unit = access_unit_code(request.user, payload.unit, "tts.use", token_of(request))
    try:
        clip = services.do_synthesize(
            payload.text, payload.voice, payload.speed, actor=request.user, read_as=payload.read_as, unit=unit,
            request=request,
        )  # fmt: skip
    except TtsError as exc:
        raise _error(exc) from exc
    return Status(201, ClipOut.of(clip))


def _clip(request: HttpRequest, clip_id: int) -> SpeechClip:
    clip = SpeechClip.objects.select_related("unit").filter(pk=clip_id).first()
    if clip is None:
        raise ApiError(404, "clip_not_found", "Không tìm thấy bản đọc tổng hợp.")
    if clip.unit is None:
        access_anywhere(request.user, "tts.use", token_of(request))
    else:
        try:
            access_unit(request.user, clip.unit, "tts.use", token_of(request))
        except UnitNotFound as exc:
            raise ApiError(404, "clip_not_found", "Không tìm thấy bản đọc tổng hợp.") from exc
    return clip


@router.get("/clips/{clip_id}", response={200: ClipOut, **ERROR_RESPONSES}, summary="Một bản đọc tổng hợp")
def get_clip(request: HttpRequest, clip_id: int) -> Any:
    return ClipOut.of(_clip(request, clip_id))


@router.get("/clips/{clip_id}/audio", response={200: None, **ERROR_RESPONSES}, summary="Tệp MP3 của bản đọc")
def clip_audio(request: HttpRequest, clip_id: int) -> Any:
    clip = _clip(request, clip_id)
    path = services.clip_file(clip)
    if not path.is_file():
        raise ApiError(404, "clip_file_missing", "Tệp âm thanh của bản đọc không còn trên máy chủ.")
    return FileResponse(path.open("rb"), content_type="audio/mpeg", filename=f"loa-tts-{clip.pk}.mp3")
