"""Media API: upload audio (processed by a background job), follow the job, read an asset, fetch its audio."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import reverse
from ninja import Router, Schema, Status

from loa.accounts.access import access_system, access_unit, access_unit_code, access_units
from loa.api.auth import token_of
from loa.api.errors import ERROR_RESPONSES, ApiError
from loa.jobs.lease import stalled_note
from loa.jobs.models import Job
from loa.media import services
from loa.media.access import MediaAssetNotFound, access_media_asset
from loa.media.audio import MediaRejected, check_size, setting
from loa.media.files import file_response
from loa.media.models import MediaAsset
from loa.media.uploads import upload_refused

router = Router()


class AssetOut(Schema):
    id: int
    kind: str
    sha256: str
    mime_type: str
    size_bytes: int
    original_name: str
    original_sha256: str
    original_format: str
    duration_s: float | None
    loudness_lufs: float | None
    true_peak_dbtp: float | None
    input_loudness_lufs: float | None
    sample_rate: int | None
    unit_code: str | None
    created_at: str
    url: str
    waveform: list[float]

    @staticmethod
    def of(asset: MediaAsset) -> dict[str, Any]:
        return {
            "id": asset.pk,
            "kind": asset.kind,
            "sha256": asset.sha256,
            "mime_type": asset.mime_type,
            "size_bytes": asset.size_bytes,
            "original_name": asset.original_name,
            "original_sha256": asset.original_sha256,
            "original_format": asset.original_format,
            "duration_s": asset.duration_s,
            "loudness_lufs": asset.loudness_lufs,
            "true_peak_dbtp": asset.true_peak_dbtp,
            "input_loudness_lufs": asset.input_loudness_lufs,
            "sample_rate": asset.sample_rate,
            "unit_code": asset.unit.code if asset.unit_id and asset.unit else None,
            "created_at": asset.created_at.isoformat(),
            "url": reverse("media:file", args=[asset.sha256]),
            "waveform": list(asset.waveform or []),
        }


class AssetPage(Schema):
    count: int
    items: list[AssetOut]


class JobError(Schema):
    code: str
    message: str


class JobOut(Schema):
    id: int
    state: str
    state_label: str
    progress: int
    message: str
    error: JobError | None
    asset: AssetOut | None

    @staticmethod
    def of(job: Job) -> dict[str, Any]:
        result = job.result or {}
        asset = None
        if job.state == Job.State.DONE and result.get("asset_id"):
            found = MediaAsset.objects.select_related("unit").filter(pk=result["asset_id"]).first()
            asset = AssetOut.of(found) if found else None
        error = result.get("error") if job.state == Job.State.FAILED else None
        if job.state == Job.State.FAILED and not error:
            error = {"code": "processing_failed", "message": job.message or "Xử lý tệp thất bại."}
        return {
            "id": job.pk,
            "state": job.state,
            "state_label": str(job.get_state_display()),
            "progress": job.progress,
            "message": stalled_note(job) or job.message,
            "error": error,
            "asset": asset,
        }


def access_asset(request: HttpRequest, asset_id: int, action: str = "media.view") -> MediaAsset:
    """The asset, if the caller may do ``action`` on it (:func:`loa.media.access.access_media_asset`: its owner
    unit's scope, or — to listen — a published bulletin the caller sees that carries it)."""
    asset = MediaAsset.objects.select_related("unit").filter(pk=asset_id).first()
    try:
        return access_media_asset(request.user, asset, action, token_of(request))
    except MediaAssetNotFound:
        raise ApiError(
            404, "asset_not_found", "Không tìm thấy tệp trong thư viện, hoặc tệp nằm ngoài phạm vi."
        ) from None


def access_media_job(request: HttpRequest, job_id: int) -> Job:
    job = Job.objects.select_related("unit").filter(pk=job_id, kind=services.JOB_KIND).first()
    if job is None:
        raise ApiError(404, "job_not_found", "Không tìm thấy tác vụ xử lý tệp.")
    if job.unit is None:
        access_system(request.user, "media.view", token_of(request))
    else:
        access_unit(request.user, job.unit, "media.view", token_of(request))
    return job


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "unit_code"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "Tệp âm thanh"},
                        "unit_code": {"type": "string", "description": "Mã đơn vị sở hữu"},
                    },
                }
            }
        },
    }
}


def receive_upload(request: HttpRequest, unit: Any, **then: Any) -> Job:
    """Take the ``file`` of a multipart request: save it, check it quickly, queue its processing.

    Shared by the API and the console. Raises :class:`MediaRejected` (nothing kept) on bad input. ``then``:
    ``task`` and its parameters, for a job that does more with the asset (:func:`services.enqueue_upload`).
    """
    if upload_refused(request):
        check_size(int(setting("LOA_MEDIA_MAX_BYTES")) + 1)  # raises "too_large"
    upload = request.FILES.get("file")
    if upload is None:
        raise MediaRejected("file_required", "Chưa chọn tệp âm thanh để tải lên.")
    name = services.clean_name(upload.name or "ghi-am")
    path = services.save_upload(upload.chunks(), name)
    try:
        services.check_upload(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return services.enqueue_upload(path, unit=unit, actor=request.user, original_name=name, **then)


@router.post(
    "/audio",
    response={202: JobOut, 413: dict, **ERROR_RESPONSES},
    summary="Tải lên một tệp âm thanh (xử lý nền)",
    openapi_extra=_UPLOAD_BODY,
)
def upload_audio(request: HttpRequest) -> Any:
    unit_code = request.POST.get("unit_code", "")  # parses the body (the upload handler may cut it off)
    if upload_refused(request):
        check_size(int(setting("LOA_MEDIA_MAX_BYTES")) + 1)  # raises "too_large" (413)
    if not unit_code:
        raise ApiError(422, "unit_code_required", "Thiếu mã đơn vị (unit_code) sở hữu tệp.")
    unit = access_unit_code(request.user, unit_code, "media.upload", token_of(request))
    job = receive_upload(request, unit)
    return Status(202, JobOut.of(job))


@router.get("/jobs/{job_id}", response={200: JobOut, **ERROR_RESPONSES}, summary="Tiến độ xử lý một tệp")
def get_job(request: HttpRequest, job_id: int) -> Any:
    return JobOut.of(access_media_job(request, job_id))


@router.get("", response={200: AssetPage, **ERROR_RESPONSES}, summary="Thư viện âm thanh trong phạm vi")
def list_assets(
    request: HttpRequest, unit: str | None = None, q: str | None = None, offset: int = 0, limit: int = 50
) -> Any:
    units = access_units(request.user, "media.view", token_of(request))
    qs = MediaAsset.objects.select_related("unit").filter(unit__in=units)
    if unit:
        owner = access_unit_code(request.user, unit, "media.view", token_of(request))
        qs = qs.filter(unit__path__startswith=owner.path)
    if q:
        qs = qs.filter(original_name__icontains=q.strip()[:100])
    offset, limit = min(max(0, offset), 10**9), max(1, min(limit, 200))
    return {"count": qs.count(), "items": [AssetOut.of(a) for a in qs[offset : offset + limit]]}


@router.get("/{asset_id}", response={200: AssetOut, **ERROR_RESPONSES}, summary="Một tệp trong thư viện")
def get_asset(request: HttpRequest, asset_id: int) -> Any:
    return AssetOut.of(access_asset(request, asset_id))


@router.get(
    "/{asset_id}/audio",
    response={200: None, 206: None, **ERROR_RESPONSES},
    summary="Âm thanh đã xử lý (MP3), hỗ trợ Range",
)
def get_audio(request: HttpRequest, asset_id: int) -> HttpResponseBase:
    asset = access_asset(request, asset_id)
    path = services.asset_file_path(asset)
    if not path.is_file():
        raise ApiError(404, "file_missing", "Tệp âm thanh không còn trên máy chủ. Hãy báo quản trị hệ thống.")
    return file_response(request, path, asset.mime_type, download_name=asset.file_name)
