"""Console pages of broadcasting: schedules with guardrails and the 24-hour preview ("what plays here, and
when"), schedule cancellation, emergency broadcast with live progress. The schedule and programme forms:
:mod:`loa.broadcast.schedule_views`; proof of play and the plan of today: :mod:`loa.broadcast.plays_views`.

Every view authorises through :mod:`loa.accounts.access`; every change goes through a ``do_*`` service.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loa.accounts.access import access_unit, access_unit_code, can
from loa.broadcast import emergency as em
from loa.broadcast import handoffs, preview, services
from loa.broadcast.compile import effective_limits, recurrence_of
from loa.broadcast.guardrails import windows_text
from loa.broadcast.models import Emergency, Schedule
from loa.broadcast.schedule_form import rule_text
from loa.console.current import current_unit
from loa.units.models import Unit


def _unit(request: HttpRequest, action: str) -> Unit:
    unit = current_unit(request)
    if unit is None:
        raise Http404(_("Chưa chọn đơn vị."))
    return access_unit(request.user, unit, action)


@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    unit = _unit(request, "schedule.view")
    from loa.fleet.models import Device, DeviceKind

    schedules = list(
        Schedule.objects.filter(unit__path__startswith=unit.path, state=Schedule.State.ACTIVE)
        .select_related("unit", "programme")
        .prefetch_related("target_units", "target_devices")[:200]
    )
    rows = [(s, rule_text(recurrence_of(s))) for s in schedules]
    device_id = request.GET.get("device", "").strip()[:20]
    device = None
    if device_id:
        device = Device.objects.filter(device_id=device_id, unit__path__startswith=unit.path).first()
        if device is None:
            raise Http404(_("Không tìm thấy cụm loa trong đơn vị này."))
        upcoming = preview.device_preview(device)
    else:
        upcoming = preview.unit_preview(unit)
    limits = effective_limits(unit)
    context = {
        "unit": unit,
        "rows": rows,
        "upcoming": upcoming,
        "device": device,
        "conflicts": sum(1 for r in upcoming if r.conflict or r.refused),
        "limits": limits,
        "windows": windows_text(limits.windows),
        "can_edit": can(request.user, unit, "schedule.edit"),
        "can_emergency": can(request.user, unit, "broadcast.emergency"),
        "devices": Device.objects.active()
        .filter(unit__path__startswith=unit.path, kind=DeviceKind.LOUDSPEAKER)
        .select_related("unit__parent")
        .order_by("unit__path", "name", "device_id")[:500],
    }
    return render(request, "broadcast/overview.html", context)


@login_required
@require_POST
def schedule_cancel(request: HttpRequest, schedule_id: int) -> HttpResponse:
    s = Schedule.objects.select_related("unit").filter(pk=schedule_id).first()
    if s is None:
        raise Http404(_("Không tìm thấy lịch phát."))
    access_unit(request.user, s.unit, "schedule.edit")
    try:
        services.do_cancel_schedule(s, actor=request.user, request=request)
    except services.BroadcastError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Đã hủy lịch “%(t)s”.") % {"t": s.title})
    return redirect("broadcast:overview")


def _emergency_areas(unit: Unit) -> Any:
    return Unit.objects.filter(path__startswith=unit.path, is_active=True, level__lte=2).order_by("path")[
        :200
    ]


@login_required
@require_http_methods(["GET", "POST"])
def emergency_new(request: HttpRequest) -> HttpResponse:
    """Two steps: the form (the area starts empty), then a confirmation naming the communes and loudspeakers
    the emergency reaches, computed here, with the TOTP code. The confirmation carries the device count it
    showed; if the area changed meanwhile the page asks again with the new figures."""
    unit = _unit(request, "broadcast.emergency")
    waiting = handoffs.waiting_emergencies(unit)
    if request.method == "POST":
        p = request.POST
        code = p.get("unit", "").strip()
        if p.get("step") == "edit":  # "Sửa lại" on the confirmation: back to the form, as it was filled
            pass
        elif not code:
            messages.error(request, _("Chọn vùng phát."))
        else:
            target = access_unit_code(request.user, code, "broadcast.emergency")
            handed = {h.bulletin_id: h.bulletin for h in handoffs.waiting_emergencies(target)}
            bulletin = handed.get(int(p["bulletin"])) if p.get("bulletin", "").isdecimal() else None
            try:
                repeat = int(p.get("repeat") or em.DEFAULT_REPEAT)
                em.check_emergency(target, text=p.get("text", ""), media_asset_id=None, repeat=repeat)
                scope = em.reach(target)
                if p.get("step") != "confirm" or p.get("devices") != str(scope.devices):
                    if p.get("step") == "confirm":
                        messages.warning(
                            request, _("Số cụm loa của vùng phát vừa thay đổi: xem lại rồi xác nhận.")
                        )
                    context = {"unit": unit, "target": target, "scope": scope, "post": p, "repeat": repeat,
                               "bulletin": bulletin}  # fmt: skip
                    return render(request, "broadcast/emergency_confirm.html", context)
                e = em.do_start_emergency(
                    target, actor=request.user, totp=p.get("totp", ""), text=p.get("text", ""),
                    repeat=repeat, tone=bool(p.get("tone")),
                    title=bulletin.title if bulletin else "", bulletin=bulletin,
                    requested_at=timezone.now(), request=request,
                )  # fmt: skip
            except ValueError:
                messages.error(request, _("Số lần phát phải là số."))
            except services.BroadcastError as exc:
                messages.error(request, exc.message)
                if exc.code.startswith("totp"):  # the approver retypes the code on the same confirmation
                    context = {"unit": unit, "target": target, "scope": em.reach(target), "post": p,
                               "repeat": int(p.get("repeat") or em.DEFAULT_REPEAT), "bulletin": bulletin}  # fmt: skip
                    return render(request, "broadcast/emergency_confirm.html", context, status=400)
            else:
                if e.tone_failed:
                    messages.warning(
                        request,
                        _("Không tạo được chuông báo động: bản tin khẩn cấp đã phát không có chuông."),
                    )
                return redirect("broadcast:emergency", emergency_id=e.pk)
    recent = list(Emergency.objects.filter(unit__path__startswith=unit.path).select_related("unit")[:20])
    post: Any = request.POST
    chosen = request.GET.get("bulletin", "")
    for h in waiting:
        if chosen == str(h.bulletin_id):
            b = h.bulletin
            post = {
                "text": b.read_as or b.body or b.summary or b.title,
                "bulletin": b.pk,
                "unit": h.unit.code,
            }
    context = {
        "unit": unit,
        "recent": [(e, em.status(e)) for e in recent],
        "areas": _emergency_areas(unit),
        "post": post,
        "waiting": waiting,
    }
    refused = request.method == "POST" and request.POST.get("step") != "edit"
    return render(request, "broadcast/emergency_new.html", context, status=400 if refused else 200)


def _emergency(request: HttpRequest, emergency_id: int, action: str) -> Emergency:
    e = Emergency.objects.select_related("unit").filter(pk=emergency_id).first()
    if e is None:
        raise Http404(_("Không tìm thấy lượt phát khẩn cấp."))
    access_unit(request.user, e.unit, action)
    return e


@login_required
@require_GET
def emergency_detail(request: HttpRequest, emergency_id: int) -> HttpResponse:
    e = _emergency(request, emergency_id, "schedule.view")
    p = em.progress(e)
    state = em.status(e, p)
    context = {
        "e": e,
        "p": p,
        "status": state,
        "can_cancel": can(request.user, e.unit, "broadcast.emergency"),
    }
    if request.headers.get("HX-Request"):
        # 286 tells htmx to stop polling: once finished or cancelled, the figures no longer change
        status = 200 if state.state == "active" else 286
        return render(request, "broadcast/_progress.html", context, status=status)
    return render(request, "broadcast/emergency.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def emergency_cancel(request: HttpRequest, emergency_id: int) -> HttpResponse:
    """GET (or a POST without ``confirm``) asks first, naming what the cancel reaches; the POST cancels."""
    e = _emergency(request, emergency_id, "broadcast.emergency")
    if request.method == "GET" or request.POST.get("confirm") != "1":
        if e.state == Emergency.State.CANCELLED:
            messages.info(request, _("Phát khẩn cấp này đã được hủy."))
            return redirect("broadcast:emergency", emergency_id=e.pk)
        context = {"e": e, "scope": em.reach(e.unit), "status": em.status(e)}
        return render(request, "broadcast/emergency_cancel.html", context)
    try:
        em.do_cancel_emergency(e, actor=request.user, totp=request.POST.get("totp", ""), request=request)
    except services.BroadcastError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Đã phát lệnh hủy tới mọi cụm loa của %(u)s.") % {"u": e.unit.name})
    return redirect("broadcast:emergency", emergency_id=e.pk)
