"""Console pages of broadcasting: schedules with guardrails and the 24-hour preview ("what plays here, and
when"), programme and schedule forms, emergency broadcast with live progress, proof of play with CSV export.

Every view authorises through :mod:`loa.accounts.access`; every change goes through a ``do_*`` service.
"""

from __future__ import annotations

import datetime as dt
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
from loa.broadcast import handoffs, preview, proof, services
from loa.broadcast.compile import effective_limits, recurrence_of
from loa.broadcast.guardrails import windows_text
from loa.broadcast.models import Emergency, ItemKind, Programme, RelaySource, Schedule
from loa.broadcast.recurrence import LOCAL_TZ, describe
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
    from loa.fleet.models import Device

    schedules = list(
        Schedule.objects.filter(unit__path__startswith=unit.path, state=Schedule.State.ACTIVE)
        .select_related("unit", "programme")
        .prefetch_related("target_units", "target_devices")[:200]
    )
    rows = [(s, describe(recurrence_of(s))) for s in schedules]
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
        .filter(unit__path__startswith=unit.path)
        .order_by("device_id")[:500],
    }
    return render(request, "broadcast/overview.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def programme_new(request: HttpRequest) -> HttpResponse:
    unit = _unit(request, "schedule.edit")
    relays = RelaySource.objects.filter(province=unit.province, is_active=True)
    if request.method == "POST":
        items = []
        text = request.POST.get("text", "").strip()
        if text:
            items.append(services.ItemSpec(kind=ItemKind.TTS, text=text))
        relay = request.POST.get("relay_source", "")
        if relay.isdecimal():  # not isdigit(): "²" is a digit that int() refuses
            minutes = request.POST.get("minutes", "30")
            items.append(services.ItemSpec(kind=ItemKind.RELAY, relay_source_id=int(relay),
                                           duration_s=float(minutes) * 60 if minutes.isdecimal() else None))  # fmt: skip
        try:
            programme = services.do_create_programme(
                unit, request.POST.get("title", ""), items, actor=request.user, request=request
            )
        except services.BroadcastError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Đã tạo chương trình “%(t)s”.") % {"t": programme.title})
            return redirect("broadcast:schedule_new")
    return render(
        request,
        "broadcast/programme_new.html",
        {"unit": unit, "relays": relays, "post": request.POST},
        status=400 if request.method == "POST" else 200,  # a POST that reaches here was refused
    )


def _dates(raw: str) -> list[dt.date]:
    out = []
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if part:
            try:
                out.append(dt.datetime.strptime(part, "%d/%m/%Y").date())
            except ValueError:
                out.append(dt.date.fromisoformat(part))
    return out


@login_required
@require_http_methods(["GET", "POST"])
def schedule_new(request: HttpRequest) -> HttpResponse:
    unit = _unit(request, "schedule.edit")
    own = Programme.objects.filter(unit__path__in=_ancestors(unit.path))
    programmes = own.order_by("-created_at")[:100]
    violations: list[Any] = []
    if request.method == "POST":
        p = request.POST
        try:
            programme = own.get(pk=int(p.get("programme", "0") or 0))
        except (Programme.DoesNotExist, ValueError):
            messages.error(request, _("Chọn một chương trình."))
            return render(
                request,
                "broadcast/schedule_new.html",
                {"unit": unit, "programmes": programmes, "post": p},
                status=400,
            )
        try:
            spec = services.ScheduleSpec(
                title=p.get("title", ""),
                programme=programme,
                kind=p.get("kind", "daily"),
                times=[t.strip() for t in p.get("times", "").split(",") if t.strip()],
                start_date=_dates(p.get("start_date", ""))[0] if p.get("start_date") else None,
                weekdays=[int(d) for d in p.getlist("weekdays") if d.isdecimal()],
                dates=_dates(p.get("dates", "")),
                rrule=p.get("rrule", ""),
                exdates=_dates(p.get("exdates", "")),
                valid_from=_dates(p.get("valid_from", ""))[0] if p.get("valid_from") else None,
                valid_until=_dates(p.get("valid_until", ""))[0] if p.get("valid_until") else None,
                repeat_mode=p.get("repeat_mode", "none"),
                repeat_count=int(p.get("repeat_count") or 1),
                repeat_every_min=int(p.get("repeat_every_min") or 0),
                repeat_span_min=int(p.get("repeat_span_min") or 0),
                target_units=[
                    access_unit_code(request.user, c, "schedule.edit") for c in p.getlist("targets")
                ]
                or [unit],
            )
            schedule = services.do_create_schedule(
                spec, owner=unit, actor=request.user, request=request,
                override_reason=p.get("override_reason", ""),
                may_override=can(request.user, unit, "schedule.override"),
            )  # fmt: skip
        except ValueError:
            messages.error(request, _("Ngày phải có dạng dd/mm/yyyy; số lần và số phút phải là số."))
        except services.BroadcastError as exc:
            messages.error(request, exc.message)
            violations = exc.details
        else:
            messages.success(request, _("Đã đặt lịch “%(t)s”.") % {"t": schedule.title})
            return redirect("broadcast:overview")
    context = {
        "unit": unit,
        "programmes": programmes,
        "post": request.POST,
        "violations": violations,
        "can_override": can(request.user, unit, "schedule.override"),
        "zones": Unit.objects.filter(path__startswith=unit.path, is_active=True).order_by("path")[:200],
    }
    return render(
        request, "broadcast/schedule_new.html", context, status=400 if request.method == "POST" else 200
    )


def _ancestors(path: str) -> list[str]:
    out, acc = [], ""
    for c in (c for c in path.split("/") if c):
        acc += c + "/"
        out.append(acc)
    return out


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


@login_required
@require_http_methods(["GET", "POST"])
def emergency_new(request: HttpRequest) -> HttpResponse:
    unit = _unit(request, "broadcast.emergency")
    if request.method == "POST":
        p = request.POST
        target = access_unit_code(request.user, p.get("unit", unit.code), "broadcast.emergency")
        handed = {h.bulletin_id: h.bulletin for h in handoffs.waiting_emergencies(target)}
        bulletin = handed.get(int(p["bulletin"])) if p.get("bulletin", "").isdecimal() else None
        try:
            e = em.do_start_emergency(
                target, actor=request.user, totp=p.get("totp", ""), text=p.get("text", ""),
                repeat=int(p.get("repeat") or em.DEFAULT_REPEAT), tone=bool(p.get("tone")),
                title=bulletin.title if bulletin else "", bulletin=bulletin,
                requested_at=timezone.now(), request=request,
            )  # fmt: skip
        except ValueError:
            messages.error(request, _("Số lần phát phải là số."))
        except services.BroadcastError as exc:
            messages.error(request, exc.message)
        else:
            return redirect("broadcast:emergency", emergency_id=e.pk)
    recent = Emergency.objects.filter(unit__path__startswith=unit.path).select_related("unit")[:20]
    areas = Unit.objects.filter(path__startswith=unit.path, is_active=True, level__lte=2).order_by("path")[
        :200
    ]
    waiting = handoffs.waiting_emergencies(unit)
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
    context = {"unit": unit, "recent": recent, "areas": areas, "post": post, "waiting": waiting}
    return render(
        request, "broadcast/emergency_new.html", context, status=400 if request.method == "POST" else 200
    )


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
    context = {"e": e, "p": em.progress(e), "can_cancel": can(request.user, e.unit, "broadcast.emergency")}
    template = "broadcast/_progress.html" if request.headers.get("HX-Request") else "broadcast/emergency.html"
    return render(request, template, context)


@login_required
@require_POST
def emergency_cancel(request: HttpRequest, emergency_id: int) -> HttpResponse:
    e = _emergency(request, emergency_id, "broadcast.emergency")
    try:
        em.do_cancel_emergency(e, actor=request.user, totp=request.POST.get("totp", ""), request=request)
    except services.BroadcastError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Đã phát lệnh hủy tới mọi cụm loa của %(u)s.") % {"u": e.unit.name})
    return redirect("broadcast:emergency", emergency_id=e.pk)


def _range(request: HttpRequest) -> tuple[dt.date, dt.date]:
    today = timezone.now().astimezone(LOCAL_TZ).date()
    try:
        since = dt.date.fromisoformat(request.GET.get("since", "")) if request.GET.get("since") else today
        until = dt.date.fromisoformat(request.GET.get("until", "")) if request.GET.get("until") else since
    except ValueError:
        since = until = today
    if since.year < 2000 or until.year > 9000:  # 9999-12-31 + 1 day, or year 1 in UTC, overflow
        since = until = today
    if until < since or (until - since).days > 31:
        until = since
    return since, until


@login_required
@require_GET
def proof_page(request: HttpRequest) -> HttpResponse:
    unit = _unit(request, "schedule.view")
    since, until = _range(request)
    start = dt.datetime.combine(since, dt.time.min, tzinfo=LOCAL_TZ)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=LOCAL_TZ)
    schedule = request.GET.get("schedule", "")
    rows = proof.report(unit, start, end, schedule_id=int(schedule) if schedule.isdecimal() else None)
    if request.GET.get("format") == "csv":
        response = HttpResponse(proof.to_csv(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="nhat-ky-phat-{unit.code}-{since}.csv"'
        return response
    shown = [(r, proof.STATUS_LABELS.get(r.status, r.status), proof.REASON_LABELS.get(r.reason, r.reason))
             for r in rows[:1000]]  # fmt: skip
    summary = [(proof.STATUS_LABELS.get(k, k), n) for k, n in sorted(proof.summary(rows).items())]
    context = {
        "unit": unit, "rows": shown, "total": len(rows), "summary": summary,
        "since": since, "until": until, "schedule": schedule,
    }  # fmt: skip
    return render(request, "broadcast/proof.html", context)
