"""The citizen's side of feedback (/congdan/phan-anh/): the form, the tracking page and its actions (verify the
contact, rate, reopen once, export, delete), the published answers and the public statistics.

No sign-in. The tracking link is the citizen's key (pages that carry it send no Referer to other sites); the public pages show
only published answers, never a phone number, an e-mail, a photo or an address.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loa.accounts.lockout import client_address
from loa.alerts import keys
from loa.alerts.subscriptions import check_subscription
from loa.alerts.views_public import json_body
from loa.citizen import feedback_workflow as wf
from loa.citizen.feedback_access import access_published_feedback, access_tracking
from loa.citizen.feedback_notify import do_follow_feedback, do_unfollow_feedback
from loa.citizen.feedback_photos import check_photo, max_bytes, max_photos, photo_file
from loa.citizen.feedback_privacy import (
    CONSENT_PURPOSE,
    do_erase_personal_data,
    do_record_export,
    export_data,
)
from loa.citizen.feedback_senders import masked_contact
from loa.citizen.feedback_settings import categories_for
from loa.citizen.feedback_stats import figures
from loa.citizen.models import ClusterIssue, Feedback, Status
from loa.citizen.public_views import alerts_script
from loa.errors import Refusal
from loa.fleet.conf import get as fleet_setting
from loa.fleet.models import Device
from loa.media.uploads import upload_refused
from loa.units.models import Level, Unit

PRIVATE = "no-store"


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {"path": request.path, **extra}


def _private(response: HttpResponseBase) -> HttpResponseBase:
    response["Cache-Control"] = PRIVATE
    response["Referrer-Policy"] = (
        "same-origin"  # never to another site; "no-referrer" makes POSTs Origin: null
    )
    response["X-Robots-Tag"] = "noindex"
    return response


def _commune(code: str) -> Unit | None:
    code = (code or "").strip()
    if not code:
        return None
    return (
        Unit.objects.filter(code=code, level=Level.COMMUNE, is_active=True).select_related("parent").first()
    )


def search_communes(query: str, limit: int = 20) -> list[Unit]:
    """Communes whose name matches ``query`` with or without diacritics ("ha tu" finds "Phường Hà Tu")."""
    wanted = wf.normalise_text(query)
    if len(wanted) < 2:
        return []
    found = []
    for unit in Unit.objects.filter(level=Level.COMMUNE, is_active=True).select_related("parent"):
        if wanted in wf.normalise_text(unit.name) or wanted == unit.code:
            found.append(unit)
            if len(found) >= limit:
                break
    return found


def _form_context(
    request: HttpRequest, commune: Unit | None, values: dict[str, str], error: Refusal | None
) -> dict[str, Any]:
    clusters = (
        list(Device.objects.filter(unit__path__startswith=commune.path, kind="loudspeaker", revoked_at__isnull=True)
             .order_by("name", "device_id")[:200])
        if commune else []
    )  # fmt: skip
    return _context(
        request,
        commune=commune,
        query=request.GET.get("q", "")[:100],
        matches=search_communes(request.GET.get("q", "")) if commune is None else [],
        categories=categories_for(commune).filter(is_active=True) if commune else [],
        clusters=clusters,
        cluster_issues=ClusterIssue.choices,
        values=values,
        error=error,
        consent=CONSENT_PURPOSE,
        max_photos=max_photos(),
        max_mb=max_bytes() // 1048576,
        tiles=str(fleet_setting("LOA_MAP_TILE_URL")),
    )


FIELDS = ("category", "text", "address", "latitude", "longitude", "cluster", "cluster_issue", "contact")


@require_http_methods(["GET", "POST"])
def form(request: HttpRequest) -> HttpResponseBase:
    """The form. GET ?xa=<commune code> (or ?q= to find one); POST stores the feedback, then goes to its tracking
    page. A refused form is shown again with the message next to what to correct (photos must be chosen again)."""
    commune = _commune(request.POST.get("xa") or request.GET.get("xa", ""))
    if request.method == "GET":
        return _private(
            render(request, "citizen/feedback/form.html", _form_context(request, commune, {}, None))
        )
    values = {f: request.POST.get(f, "")[: wf.MAX_TEXT + 1] for f in FIELDS}
    try:
        if upload_refused(request):
            raise Refusal("photo_too_large", _("Ảnh quá lớn (tối đa %(n)s MB mỗi ảnh).") % {"n": max_bytes() // 1048576}, 413,
                          field="photos")  # fmt: skip
        uploads = [u for u in request.FILES.getlist("photos") if u.size]
        if len(uploads) > max_photos():
            raise Refusal("too_many_photos", _("Gửi tối đa %(n)s ảnh.") % {"n": max_photos()}, field="photos")
        photos = [check_photo(u, u.name or "", u.size) for u in uploads]
        draft = wf.Draft(
            unit_code=commune.code if commune else "",
            category_code=values["category"], text=values["text"], address=values["address"],
            latitude=values["latitude"], longitude=values["longitude"], cluster_id=values["cluster"],
            cluster_issue=values["cluster_issue"], contact=values["contact"],
            consent=request.POST.get("consent") == "yes", photos=photos,
        )  # fmt: skip
        feedback, token = wf.do_submit(draft, client_address=client_address(request), request=request)
    except Refusal as refusal:
        context = _form_context(request, commune, values, refusal)
        return _private(render(request, "citizen/feedback/form.html", context, status=refusal.status))
    messages.success(request, _("Đã nhận phản ánh của bạn."))
    request.session["feedback_new"] = feedback.pk
    return _private(redirect("feedback_public:track", tracking=token))


def _track_context(request: HttpRequest, feedback: Feedback, tracking: str) -> dict[str, Any]:
    events = feedback.events.filter(internal=False).exclude(to_status="").select_related("unit")
    return _context(
        request,
        feedback=feedback,
        tracking=tracking,
        events=[(e, Status(e.to_status).label) for e in events],
        status_label=Status(feedback.status).label,
        public=feedback.published_at is not None
        and feedback.status in (Status.PUBLISHED, Status.CLOSED, Status.NOT_FIXABLE),
        can_reopen=feedback.status in (Status.PUBLISHED, Status.CLOSED) and feedback.reopened_count == 0,
        needs_code=bool(feedback.contact) and feedback.contact_verified_at is None,
        sent_to=masked_contact(feedback.contact_kind, feedback.contact),
        just_sent=request.session.pop("feedback_new", None) == feedback.pk,
        link=request.build_absolute_uri(reverse("feedback_public:track", kwargs={"tracking": tracking})),
        photos=list(feedback.photos.all()),
        alerts_script=alerts_script(),
    )


@require_GET
def track(request: HttpRequest, tracking: str) -> HttpResponseBase:
    try:
        feedback = access_tracking(tracking)
    except Refusal as refusal:
        return _private(render(request, "citizen/feedback/gone.html", _context(request, refusal=refusal),
                               status=refusal.status))  # fmt: skip
    return _private(
        render(request, "citizen/feedback/track.html", _track_context(request, feedback, tracking))
    )


def _act(request: HttpRequest, tracking: str, action: Any, done: str) -> HttpResponseBase:
    """Run a citizen's action on their feedback; the tracking page says what happened."""
    try:
        feedback = access_tracking(tracking)
    except Refusal as refusal:
        return _private(render(request, "citizen/feedback/gone.html", _context(request, refusal=refusal),
                               status=refusal.status))  # fmt: skip
    try:
        action(feedback)
    except Refusal as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, done)
    return _private(redirect("feedback_public:track", tracking=tracking))


@require_POST
def verify(request: HttpRequest, tracking: str) -> HttpResponseBase:
    code = request.POST.get("code", "")
    return _act(
        request, tracking, lambda f: wf.do_verify_contact(f, code, request=request), _("Đã xác minh liên hệ.")
    )


@require_POST
def resend(request: HttpRequest, tracking: str) -> HttpResponseBase:
    return _act(
        request, tracking, lambda f: wf.do_resend_code(f, request=request), _("Đã gửi lại mã xác minh.")
    )


@require_POST
def rate(request: HttpRequest, tracking: str) -> HttpResponseBase:
    raw = request.POST.get("rating", "")
    rating = int(raw) if raw.isdigit() else 0
    comment = request.POST.get("comment", "")
    return _act(
        request,
        tracking,
        lambda f: wf.do_rate(f, rating, comment, request=request),
        _("Cảm ơn bạn đã đánh giá."),
    )


@require_POST
def reopen(request: HttpRequest, tracking: str) -> HttpResponseBase:
    note = request.POST.get("note", "")[:2000]

    def act(feedback: Feedback) -> None:
        wf.do_feedback_transition(feedback, Status.IN_PROGRESS, actor=None, request=request, note=note)

    return _act(request, tracking, act, _("Đã mở lại phản ánh; đơn vị sẽ xử lý tiếp."))


def _json_refusal(refusal: Refusal) -> HttpResponseBase:
    return _private(
        JsonResponse(
            {"error": {"code": refusal.code, "message": _(refusal.message), "field": refusal.field}},
            status=refusal.status,
            json_dumps_params={"ensure_ascii": False},
        )
    )


@csrf_exempt  # JSON only (a cross-site form cannot send it), and the tracking link is the key
@never_cache
@require_POST
def follow(request: HttpRequest, tracking: str) -> HttpResponseBase:
    """``{"subscription": <PushSubscription.toJSON()>, "lang": "vi"}``: tell this browser of each change."""
    try:
        feedback = access_tracking(tracking)
        data = json_body(request)
        sub = check_subscription(data.get("subscription"))
        _row, created = do_follow_feedback(feedback, sub, lang=str(data.get("lang") or "vi"))
    except Refusal as refusal:
        return _json_refusal(refusal)
    return _private(
        JsonResponse(
            {
                "created": created,
                "number": feedback.number,
                "public_key": keys.current().public_key,
                "message": _("Đã bật thông báo: bạn sẽ được báo khi phản ánh %(n)s có bước xử lý mới.")
                % {"n": feedback.number},
            },
            status=201 if created else 200,
            json_dumps_params={"ensure_ascii": False},
        )
    )


@csrf_exempt
@never_cache
@require_POST
def unfollow(request: HttpRequest, tracking: str) -> HttpResponseBase:
    """``{"endpoint": "https://…"}``: stop telling this browser."""
    try:
        feedback = access_tracking(tracking)
        endpoint = json_body(request).get("endpoint")
        if not isinstance(endpoint, str) or not endpoint.strip() or len(endpoint) > 1000:
            raise Refusal(
                "endpoint_required", "Thiếu địa chỉ nhận (endpoint) của trình duyệt.", field="endpoint"
            )
        n = do_unfollow_feedback(feedback, endpoint)
    except Refusal as refusal:
        return _json_refusal(refusal)
    message = _("Đã tắt thông báo về phản ánh này.") if n else _("Trình duyệt này chưa bật thông báo.")
    return _private(
        JsonResponse({"removed": n, "message": message}, json_dumps_params={"ensure_ascii": False})
    )


@require_GET
def export(request: HttpRequest, tracking: str) -> HttpResponseBase:
    try:
        feedback = access_tracking(tracking)
    except Refusal as refusal:
        return _private(JsonResponse({"error": {"code": refusal.code, "message": refusal.message}},
                                     status=refusal.status, json_dumps_params={"ensure_ascii": False}))  # fmt: skip
    do_record_export(feedback, request=request)
    response = JsonResponse(export_data(feedback), json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = f'attachment; filename="phan-anh-{feedback.pk}.json"'
    return _private(response)


@require_POST
def erase(request: HttpRequest, tracking: str) -> HttpResponseBase:
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Hãy đánh dấu ô xác nhận trước khi xoá."))
        return _private(redirect("feedback_public:track", tracking=tracking))
    try:
        feedback = access_tracking(tracking)
    except Refusal as refusal:
        return _private(render(request, "citizen/feedback/gone.html", _context(request, refusal=refusal),
                               status=refusal.status))  # fmt: skip
    do_erase_personal_data(feedback, by_citizen=True, request=request)
    return _private(redirect("feedback_public:track", tracking=tracking))


@require_GET
def photo(request: HttpRequest, tracking: str, number: int) -> HttpResponseBase:
    try:
        feedback = access_tracking(tracking)
    except Refusal as refusal:
        return _private(
            HttpResponse(refusal.message, status=refusal.status, content_type="text/plain; charset=utf-8")
        )
    item = feedback.photos.filter(position=number).first()
    if item is None or not photo_file(item.path).exists():
        return _private(
            HttpResponse(_("Không có ảnh này."), status=404, content_type="text/plain; charset=utf-8")
        )
    return _private(FileResponse(photo_file(item.path).open("rb"), content_type="image/jpeg"))


@require_GET
def answers(request: HttpRequest) -> HttpResponse:
    """Published answers, newest first, for a commune (?xa=) or a province (?tinh=)."""
    place = (
        _commune(request.GET.get("xa", ""))
        or Unit.objects.filter(code=request.GET.get("tinh", "").strip(), level=Level.PROVINCE).first()
    )
    rows = Feedback.objects.filter(
        published_at__isnull=False, erased_at__isnull=True,
        status__in=(Status.PUBLISHED, Status.CLOSED, Status.NOT_FIXABLE),
    ).select_related("unit", "category", "handling_unit")  # fmt: skip
    if place is not None:
        rows = rows.filter(unit__path__startswith=place.path)
    return render(
        request,
        "citizen/feedback/answers.html",
        _context(request, place=place, rows=rows.order_by("-published_at")[:50]),
    )


@require_GET
def answer(request: HttpRequest, feedback_id: int) -> HttpResponse:
    try:
        feedback = access_published_feedback(feedback_id)
    except Refusal as refusal:
        return render(request, "citizen/feedback/gone.html", _context(request, refusal=refusal), status=404)
    return render(
        request,
        "citizen/feedback/answer.html",
        _context(request, feedback=feedback, status_label=Status(feedback.status).label),
    )


@require_GET
def stats(request: HttpRequest) -> HttpResponse:
    """Figures per province and commune: ?ma=<unit code>; without one, every province."""
    code = request.GET.get("ma", "").strip()
    unit = Unit.objects.filter(code=code, level__in=(Level.PROVINCE, Level.COMMUNE)).first() if code else None
    if unit is None:
        rows = [(p, figures(p)) for p in Unit.objects.filter(level=Level.PROVINCE).order_by("name")]
        return render(
            request, "citizen/feedback/stats.html", _context(request, unit=None, total=None, rows=rows)
        )
    children = (
        Unit.objects.filter(parent=unit, level=Level.COMMUNE).order_by("name")
        if unit.level == Level.PROVINCE
        else []
    )
    rows = [(c, figures(c)) for c in children]
    rows = [r for r in rows if r[1].received]
    return render(
        request, "citizen/feedback/stats.html", _context(request, unit=unit, total=figures(unit), rows=rows)
    )
