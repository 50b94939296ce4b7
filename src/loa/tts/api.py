"""TTS API: the "read as" text of a notice, and a synthesized preview the editor can listen to."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from loa.accounts.access import UnitNotFound, access_anywhere, access_unit, access_unit_code
from loa.api.auth import token_of
from loa.api.errors import ERROR_RESPONSES, ApiError
from loa.media.files import file_response
from loa.tts import services
from loa.tts.engines import DEFAULT_SPEED, MAX_SPEED, MIN_SPEED
from loa.tts.models import SpeechClip
from loa.tts.spans import reading_spans

router = Router()

# The service enforces LOA_TTS_MAX_CHARS with a Vietnamese message; this cap only stops absurd bodies early.
_BODY_CAP = 100_000


class NormalizeIn(Schema):
    text: str = Field(..., max_length=_BODY_CAP, description="Văn bản của bản tin")
    unit: str | None = Field(
        None, max_length=32, description="Mã đơn vị của bản tin: dùng thêm từ viết tắt của đơn vị và cấp trên"
    )


class SpanOut(Schema):
    text: str
    changed: bool = Field(
        ..., description="Đoạn máy đọc khác chữ viết (số, ngày, viết tắt… đã đổi thành chữ)"
    )


class NormalizeOut(Schema):
    read_as: str = Field(..., description="Văn bản sẽ được đọc (đã chuyển số, ngày, giờ, viết tắt thành chữ)")
    spans: list[SpanOut] = Field(..., description="read_as chia thành đoạn, đánh dấu đoạn khác chữ viết")


class SpansIn(Schema):
    text: str = Field(..., max_length=_BODY_CAP, description="Văn bản gốc")
    read_as: str = Field(..., max_length=_BODY_CAP, description="Nội dung “đọc là” (có thể đã sửa tay)")


class SpansOut(Schema):
    spans: list[SpanOut]


class PreviewIn(Schema):
    unit: str = Field(..., max_length=32, description="Mã đơn vị của bản tin (xã/phường hoặc tỉnh)")
    text: str = Field("", max_length=_BODY_CAP, description="Văn bản gốc; bỏ trống nếu gửi read_as")
    read_as: str | None = Field(None, max_length=_BODY_CAP, description="Nội dung \u201cđọc là\u201d đã sửa")
    voice: Literal["north", "central", "south"] = "north"
    speed: int = Field(DEFAULT_SPEED, ge=MIN_SPEED, le=MAX_SPEED, description="Tốc độ đọc, từ mỗi phút")
    title: str = Field("", max_length=300, description="Tiêu đề bản tin: tên của bản đọc trong thư viện")


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


@router.post(
    "/normalize", response={200: NormalizeOut, **ERROR_RESPONSES}, summary="Văn bản \u201cđọc là\u201d"
)
def normalize(request: HttpRequest, payload: NormalizeIn) -> Any:
    if payload.unit:
        unit = access_unit_code(request.user, payload.unit, "tts.use", token_of(request))
    else:
        access_anywhere(request.user, "tts.use", token_of(request))
        unit = None
    read_as = services.normalize(payload.text, unit=unit)
    return {"read_as": read_as, "spans": [s._asdict() for s in reading_spans(payload.text, read_as)]}


@router.post(
    "/spans", response={200: SpansOut, **ERROR_RESPONSES}, summary="Đánh dấu đoạn máy đọc khác chữ viết"
)
def spans(request: HttpRequest, payload: SpansIn) -> Any:
    access_anywhere(request.user, "tts.use", token_of(request))
    return {"spans": [s._asdict() for s in reading_spans(payload.text, payload.read_as)]}


@router.post("/preview", response={201: ClipOut, **ERROR_RESPONSES}, summary="Nghe thử giọng đọc tổng hợp")
def preview(request: HttpRequest, payload: PreviewIn) -> Any:
    unit = access_unit_code(request.user, payload.unit, "tts.use", token_of(request))
    clip = services.do_synthesize(
        payload.text, payload.voice, payload.speed, actor=request.user, read_as=payload.read_as, unit=unit,
        request=request, name=payload.title,
    )  # fmt: skip
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
    # through the media file helper: under ASGI (the demo, `loa serve`) a plain FileResponse made Django warn
    # "StreamingHttpResponse must consume synchronous iterators" in the log at every "Nghe thử"; seeking works too
    return file_response(request, path, "audio/mpeg", shared=False, download_name=f"loa-tts-{clip.pk}.mp3")
