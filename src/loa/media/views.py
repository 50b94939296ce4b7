"""Console pages of the media library: upload or record, follow processing, listen, see the waveform.

Every view authorises through ``access_*`` (:mod:`loa.accounts.access`).
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from loa.accounts.access import access_system, access_unit, access_unit_code, access_units, can
from loa.citizen import public_cache
from loa.citizen.public_fastpath import MAX_BODY_BYTES, mark_keepable
from loa.console.current import current_unit
from loa.jobs.models import Job
from loa.media import services
from loa.media.access import access_media_asset
from loa.media.api import receive_upload
from loa.media.audio import WAVEFORM_POINTS, MediaRejected, check_size, setting
from loa.media.file_access import MediaFileRefused, access_media_file
from loa.media.files import file_response, mark_same_for_everyone
from loa.media.models import MediaAsset
from loa.media.storage import store_is_full
from loa.media.uploads import upload_refused


def _access_asset(request: HttpRequest, asset_id: int) -> MediaAsset:
    asset = MediaAsset.objects.select_related("unit").filter(pk=asset_id).first()
    return access_media_asset(request.user, asset, "media.view")


def _access_job(request: HttpRequest, job_id: int) -> Job:
    job = Job.objects.select_related("unit").filter(pk=job_id, kind=services.JOB_KIND).first()
    if job is None:
        raise Http404("Không tìm thấy tác vụ.")
    if job.unit is None:
        access_system(request.user, "media.view")
    else:
        access_unit(request.user, job.unit, "media.view")
    return job


def waveform_svg_points(values: list[float], width: int = WAVEFORM_POINTS, height: int = 60) -> str:
    """The waveform as a symmetric polygon (``points`` of an SVG polygon) in a ``width``×``height`` box."""
    if not values:
        return ""
    n = len(values)
    mid = height / 2
    step = width / max(1, n - 1)
    top = [f"{i * step:.1f},{mid - max(0.01, min(1.0, v)) * mid:.1f}" for i, v in enumerate(values)]
    bottom = [
        f"{i * step:.1f},{mid + max(0.01, min(1.0, v)) * mid:.1f}"
        for i, v in reversed(list(enumerate(values)))
    ]
    return " ".join(top + bottom)


@login_required
@require_GET
def library(request: HttpRequest) -> HttpResponse:
    unit = current_unit(request)
    units = access_units(request.user, "media.view")
    qs = MediaAsset.objects.select_related("unit").filter(unit__in=units)
    if unit is not None:
        qs = qs.filter(unit__path__startswith=unit.path)
    q = request.GET.get("q", "").strip()[:100]
    if q:
        qs = qs.filter(original_name__icontains=q)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    upload_units = list(access_units(request.user, "media.upload").filter(is_active=True, level__lte=2)[:500])
    context: dict[str, Any] = {
        "page": page,
        "q": q,
        "unit": unit,
        "upload_units": upload_units,
        "can_upload": unit is not None and can(request.user, unit, "media.upload"),
        "max_mb": int(setting("LOA_MEDIA_MAX_BYTES")) // (1024 * 1024),
        "max_minutes": int(setting("LOA_MEDIA_MAX_DURATION_S")) // 60,
        # said before anyone picks a file, not only after the upload is refused
        "storage_full": bool(upload_units) and store_is_full(services.store_root()),
    }
    return render(request, "media/library.html", context)


@login_required
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    """Receive a file (picked or recorded in the browser); answer with the progress fragment (htmx) or page."""
    try:
        unit_code = request.POST.get("unit_code", "")  # parses the body (the upload handler may cut it off)
        if upload_refused(request):
            check_size(int(setting("LOA_MEDIA_MAX_BYTES")) + 1)  # raises "too_large"
        unit = access_unit_code(request.user, unit_code, "media.upload")
        job = receive_upload(request, unit)
    except MediaRejected as exc:
        status = 413 if exc.code == "too_large" else 400
        context = {"error": exc.message, "code": exc.code}
        if request.headers.get("HX-Request"):
            return render(request, "media/_job.html", context, status=200)
        return render(request, "media/job.html", context, status=status)
    if request.headers.get("HX-Request"):
        return render(request, "media/_job.html", {"job": job, **_job_context(job)})
    return redirect("media:job", job_id=job.pk)


def _job_context(job: Job) -> dict[str, Any]:
    return services.job_outcome(job)


@login_required
@require_GET
def job(request: HttpRequest, job_id: int) -> HttpResponse:
    found = _access_job(request, job_id)
    template = "media/_job.html" if request.headers.get("HX-Request") else "media/job.html"
    return render(request, template, _job_context(found))


@login_required
@require_GET
def asset(request: HttpRequest, asset_id: int) -> HttpResponse:
    found = _access_asset(request, asset_id)
    context = {
        "asset": found,
        "points": waveform_svg_points(list(found.waveform or [])),
        "wave_width": WAVEFORM_POINTS,
        "file_exists": services.asset_file_path(found).is_file(),
    }
    return render(request, "media/asset.html", context)


@require_GET
def file(request: HttpRequest, sha256: str) -> HttpResponseBase:
    """The processed audio by content address: ``/media/files/<sha256>.mp3``, for whoever
    :func:`loa.media.file_access.access_media_file` allows (published media to anyone, the rest to the devices
    it was sent to and the users who may see it)."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise Http404("Không có tệp này.")
    found = MediaAsset.objects.filter(sha256=sha256).select_related("unit").first()
    if found is None:
        raise Http404("Không có tệp này.")
    stamp = public_cache.stamp()  # before the rule: a change after it makes the kept answer stale
    try:
        grant = access_media_file(request, found)
    except MediaFileRefused as exc:
        if exc.status == 401:
            response = HttpResponse(
                "Cần đăng nhập, hoặc tên và mật khẩu MQTT của cụm loa (HTTP Basic).",
                status=401,
                content_type="text/plain; charset=utf-8",
            )
            response["WWW-Authenticate"] = 'Basic realm="loa-media", charset="UTF-8"'
            return response
        raise Http404("Không có tệp này.") from None
    path = services.store_root() / sha256[:2] / sha256[2:4] / f"{sha256}.mp3"
    if not path.is_file():
        raise Http404("Không có tệp này.")
    served = file_response(request, path, "audio/mpeg", immutable=True, shared=grant.public)
    if grant.public:
        # the same for everyone: a shared cache (nginx, deploy/nginx/loa.conf) may give it to every device of an
        # emergency whatever its credentials (ADR 0019)
        mark_same_for_everyone(served)
    else:  # who asks decides a private answer
        served["Vary"] = "Authorization, Cookie"
    if grant.public and grant.until is not None:  # public for a while only (an emergency in force)
        remaining = max(0, int((grant.until - timezone.now()).total_seconds()))
        served["Cache-Control"] = f"public, max-age={remaining}, immutable"
    if grant.public and served.status_code == 200 and path.stat().st_size <= MAX_BODY_BYTES:
        # the same answer for everyone: the fast path in front of Django may replay it (ADR 0019)
        until = grant.until.timestamp() if grant.until is not None else time.time() + public_cache.MAX_AGE_S
        mark_keepable(request, stamp, until)
    return served
