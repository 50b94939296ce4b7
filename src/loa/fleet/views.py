"""Console pages of the fleet: list, map, device page, enrolment codes, commands with per-device delivery state.

Every view authorises through :mod:`loa.accounts.access`.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from loa.accounts.access import access_anywhere, access_unit, access_unit_code, access_units, can
from loa.console.current import current_unit
from loa.fleet import conf, services
from loa.fleet.models import Alarm, Command, CommandDelivery, Device, EnrolmentCode, PlayLog, StatusSample
from loa.units.models import Level, Unit


def _device(request: HttpRequest, device_id: str, action: str) -> Device:
    device = Device.objects.select_related("unit").filter(device_id=device_id).first()
    if device is None:
        raise Http404(_("Không tìm thấy cụm loa."))
    access_unit(request.user, device.unit, action)
    return device


def _scoped_devices(request: HttpRequest) -> Any:
    qs = Device.objects.select_related("unit").filter(unit__in=access_units(request.user, "device.view"))
    unit = current_unit(request)
    if unit is not None:
        qs = qs.in_unit(unit)
    return qs.active(), unit


@login_required
@require_GET
def device_list(request: HttpRequest) -> HttpResponse:
    access_anywhere(request.user, "device.view")
    qs, unit = _scoped_devices(request)
    vendors = sorted({v for v in qs.values_list("vendor", flat=True).distinct() if v})
    total, online_count = qs.count(), qs.filter(online=True).count()
    state = request.GET.get("state", "")
    if state in ("online", "offline"):
        qs = qs.filter(online=state == "online")
    vendor = request.GET.get("vendor", "").strip()[:100]
    if vendor:
        qs = qs.filter(vendor=vendor)
    q = request.GET.get("q", "").strip()[:100]
    if q:
        qs = qs.filter(name__icontains=q) | qs.filter(device_id__icontains=q) | qs.filter(imei__icontains=q)
    page = Paginator(qs.order_by("unit__path", "device_id"), 50).get_page(request.GET.get("page"))
    alarms = Alarm.objects.filter(cleared_at__isnull=True, unit__in=access_units(request.user, "device.view"))
    if unit is not None:
        alarms = alarms.filter(unit__path__startswith=unit.path)
    return render(
        request,
        "fleet/list.html",
        {
            "page": page,
            "unit": unit,
            "vendors": vendors,
            "state": state,
            "vendor": vendor,
            "q": q,
            "total": total,
            "online_count": online_count,
            "alarm_count": alarms.count(),
            "can_manage": access_units(request.user, "device.manage").exists(),
            "can_control": access_units(request.user, "device.control").exists(),
        },
    )


@login_required
@require_GET
def device_map(request: HttpRequest) -> HttpResponse:
    access_anywhere(request.user, "device.view")
    tile_url = str(conf.get("LOA_MAP_TILE_URL"))
    response = render(request, "fleet/map.html", {"tile_url": tile_url, "unit": current_unit(request)})
    if tile_url:
        from urllib.parse import urlsplit

        from loa.console.middleware import CSP

        parts = urlsplit(tile_url.replace("{s}", "a"))
        host = f"{parts.scheme}://{parts.netloc}".replace("://a.", "://*.") if parts.netloc else ""
        if host:
            response.headers["Content-Security-Policy"] = CSP.replace(
                "img-src 'self'", f"img-src 'self' {host}"
            )
    return response


@login_required
@require_GET
def map_data(request: HttpRequest) -> JsonResponse:
    """Markers (devices with a position, or the last position they reported) and commune labels."""
    access_anywhere(request.user, "device.view")
    qs, _unit = _scoped_devices(request)
    markers = []
    communes: dict[str, list[tuple[float, float]]] = {}
    for d in qs.values("device_id", "name", "online", "latitude", "longitude", "last_status", "unit__path"):
        lat = d["latitude"] if d["latitude"] is not None else (d["last_status"] or {}).get("lat")
        lon = d["longitude"] if d["longitude"] is not None else (d["last_status"] or {}).get("lon")
        if lat is None or lon is None:
            continue
        markers.append(
            {
                "id": d["device_id"],
                "name": d["name"] or d["device_id"],
                "online": d["online"],
                "lat": lat,
                "lon": lon,
            }
        )
        codes = [c for c in d["unit__path"].split("/") if c]
        if len(codes) >= 2:
            communes.setdefault(codes[1], []).append((lat, lon))
    names = dict(Unit.objects.filter(code__in=communes, level=Level.COMMUNE).values_list("code", "name"))
    labels = [
        {
            "code": code,
            "name": names.get(code, code),
            "lat": sum(p[0] for p in pts) / len(pts),
            "lon": sum(p[1] for p in pts) / len(pts),
        }
        for code, pts in communes.items()
    ]
    return JsonResponse({"markers": markers, "communes": labels})


@login_required
@require_GET
def device_detail(request: HttpRequest, device_id: str) -> HttpResponse:
    device = _device(request, device_id, "device.view")
    samples = list(StatusSample.objects.filter(device=device).order_by("-at")[:288])
    chart = {
        "labels": [s.at.isoformat() for s in reversed(samples)],
        "signal": [s.signal_dbm for s in reversed(samples)],
        "temperature": [s.temperature_c for s in reversed(samples)],
        "volume": [s.volume for s in reversed(samples)],
    }
    return render(
        request,
        "fleet/device.html",
        {
            "device": device,
            "status": device.last_status or {},
            "samples": samples[:50],
            "chart_json": json.dumps(chart),
            "playlogs": PlayLog.objects.filter(device=device).order_by("-at")[:50],
            "deliveries": CommandDelivery.objects.filter(device=device)
            .select_related("command")
            .order_by("-command__issued_at")[:20],
            "alarms": Alarm.objects.filter(device=device)[:10],
            "can_manage": can(request.user, device.unit, "device.manage"),
            "can_control": can(request.user, device.unit, "device.control"),
            "actions": Command.Action.choices,
            "manage_units": access_units(request.user, "device.manage")
            .filter(level__gte=Level.COMMUNE, is_active=True)
            .order_by("path")[:500],
        },
    )


@login_required
@require_POST
def device_edit(request: HttpRequest, device_id: str) -> HttpResponse:
    device = _device(request, device_id, "device.manage")
    changes: dict[str, Any] = {}
    for key in services.EDITABLE_FIELDS:
        if key not in request.POST:
            continue
        value: Any = request.POST[key].strip()
        if key in ("latitude", "longitude"):
            try:
                value = float(value.replace(",", ".")) if value else None
            except ValueError:
                messages.error(request, _("Vĩ độ/kinh độ phải là số, ví dụ 20.95."))
                return redirect("fleet:device", device_id=device.device_id)
        elif key in ("data_plan_expires", "installed_on", "warranty_until"):
            value = value or None
        changes[key] = value
    if request.POST.get("unit") and request.POST["unit"] != device.unit.code:
        changes["unit"] = access_unit_code(request.user, request.POST["unit"], "device.manage")
    try:
        services.do_update_device(device, changes, actor=request.user, request=request)
        messages.success(request, _("Đã lưu thông tin cụm loa."))
    except services.FleetError as exc:
        messages.error(request, exc.message)
    except Exception:  # a malformed date typed by hand
        messages.error(request, _("Ngày phải có dạng YYYY-MM-DD."))
    return redirect("fleet:device", device_id=device.device_id)


@login_required
@require_POST
def device_revoke(request: HttpRequest, device_id: str) -> HttpResponse:
    device = _device(request, device_id, "device.manage")
    try:
        services.do_revoke_device(
            device, actor=request.user, request=request, reason=request.POST.get("reason", "")
        )
        messages.success(request, _("Đã thu hồi cụm loa; thiết bị không còn kết nối được tới broker."))
    except services.FleetError as exc:
        messages.error(request, exc.message)
    return redirect("fleet:device", device_id=device.device_id)


# ---- enrolment -----------------------------------------------------------------------------------------


@login_required
def enrolment(request: HttpRequest) -> HttpResponse:
    access_anywhere(request.user, "device.manage")
    units = (
        access_units(request.user, "device.manage")
        .filter(level__gte=Level.COMMUNE, is_active=True)
        .order_by("path")
    )
    created = None
    if request.method == "POST":
        unit = access_unit_code(request.user, request.POST.get("unit", ""), "device.manage")
        try:
            ttl = int(request.POST.get("ttl_hours") or conf.get("LOA_ENROLMENT_CODE_TTL_H"))
            obj, code = services.do_create_enrolment_code(
                unit, actor=request.user, request=request, label=request.POST.get("label", ""), ttl_hours=ttl
            )
            uri = services.enrolment_uri(code)
            created = {"code": code, "uri": uri, "qr": services.qr_svg(uri), "obj": obj}
        except ValueError:
            messages.error(request, _("Thời hạn phải là số giờ."))
        except services.FleetError as exc:
            messages.error(request, exc.message)
    elif request.method != "GET":
        return HttpResponse(status=405)
    codes = EnrolmentCode.objects.filter(unit__in=units).select_related("unit", "device", "created_by")[:50]
    return render(
        request,
        "fleet/enrolment.html",
        {"units": units[:500], "codes": codes, "created": created, "current": current_unit(request)},
        status=400 if request.method == "POST" and created is None else 200,
    )


@login_required
@require_POST
def enrolment_cancel(request: HttpRequest, code_id: int) -> HttpResponse:
    obj = get_object_or_404(EnrolmentCode.objects.select_related("unit"), pk=code_id)
    access_unit(request.user, obj.unit, "device.manage")
    try:
        services.do_cancel_enrolment_code(obj, actor=request.user, request=request)
        messages.success(request, _("Đã hủy mã đăng ký."))
    except services.FleetError as exc:
        messages.error(request, exc.message)
    return redirect("fleet:enrolment")


# ---- commands ------------------------------------------------------------------------------------------


def _params_from_form(action: str, post: Any) -> dict[str, Any]:
    if action == "volume":
        return {"volume": int(post.get("volume") or -1)}
    return {}


def _play_from_form(request: HttpRequest, target_unit: Unit | None, target_device: Device | None) -> Command:
    """ "Play now" from the form: a published bulletin, a library asset or typed text (one of them)."""
    from loa.fleet.play import PlaySource, do_play_now

    post = request.POST
    bulletin = post.get("bulletin_id", "").strip()
    asset = post.get("media_asset_id", "").strip()
    source = PlaySource(
        bulletin_id=int(bulletin) if bulletin else None,
        media_asset_id=int(asset) if asset else None,
        text=post.get("text", ""),
        voice=post.get("voice") or None,
    )
    volume = post.get("play_volume", "").strip()
    return do_play_now(
        actor=request.user,
        source=source,
        target_unit=target_unit,
        target_device=target_device,
        priority=int(post["priority"]) if post.get("priority") else None,
        repeat=int(post.get("repeat") or 1),
        volume=int(volume) if volume else None,
        totp=post.get("totp", ""),
        request=request,
    )


def _play_choices(request: HttpRequest) -> dict[str, Any]:
    """Published bulletins the user can see (their inbox included) and library audio they may use."""
    from django.db.models import Q
    from django.utils import timezone

    from loa.content.models import State
    from loa.content.services import visible_bulletins
    from loa.media.access import usable_media_assets
    from loa.tts.engines import VOICES

    now = timezone.now()
    bulletins = (
        visible_bulletins(request.user)
        .filter(state=State.PUBLISHED)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .select_related("origin_unit", "audio_asset")
        .order_by("-published_at", "-pk")[:100]
    )
    assets = usable_media_assets(request.user).filter(duration_s__gt=0).order_by("-created_at", "-pk")[:100]
    return {
        "bulletins": bulletins,
        "assets": assets,
        "voices": [(k, v.label) for k, v in VOICES.items()],
    }


@login_required
def command_new(request: HttpRequest) -> HttpResponse:
    access_anywhere(request.user, "device.control")
    units = access_units(request.user, "device.control").filter(is_active=True).order_by("path")
    if request.method == "POST":
        action = request.POST.get("action", "")
        target_unit = target_device = None
        if request.POST.get("device"):
            target_device = _device(request, request.POST["device"], "device.control")
        else:
            target_unit = access_unit_code(request.user, request.POST.get("unit", ""), "device.control")
        try:
            if action == "play":
                command = _play_from_form(request, target_unit, target_device)
            else:
                command = services.do_send_command(
                    actor=request.user,
                    action=action,
                    params=_params_from_form(action, request.POST),
                    target_unit=target_unit,
                    target_device=target_device,
                    totp=request.POST.get("totp", ""),
                    request=request,
                )
        except ValueError:
            messages.error(request, _("Âm lượng, số lần phát và mức ưu tiên phải là số."))
        except services.FleetError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Đã đưa lệnh vào hàng đợi gửi."))
            return redirect("fleet:command", command_id=command.pk)
        if target_device is not None:
            return redirect("fleet:device", device_id=target_device.device_id)
    elif request.method != "GET":
        return HttpResponse(status=405)
    current = current_unit(request)
    posted = request.POST if request.method == "POST" else request.GET
    return render(
        request,
        "fleet/command_new.html",
        {
            "units": units[:500],
            "actions": Command.Action.choices,
            "current": current,
            "posted": posted,
            **_play_choices(request),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def command_list(request: HttpRequest) -> HttpResponse:
    access_anywhere(request.user, "device.view")
    qs = Command.objects.select_related("unit", "target_device", "issued_by").filter(
        unit__in=access_units(request.user, "device.view")
    )
    unit = current_unit(request)
    if unit is not None:
        qs = qs.filter(unit__path__startswith=unit.path)
    page = Paginator(qs.order_by("-issued_at"), 50).get_page(request.GET.get("page"))
    return render(request, "fleet/commands.html", {"page": page})


def _command(request: HttpRequest, command_id: str) -> Command:
    command = get_object_or_404(
        Command.objects.select_related("unit", "target_device", "issued_by"), pk=command_id
    )
    access_unit(request.user, command.unit, "device.view")
    return command


@login_required
@require_GET
def command_detail(request: HttpRequest, command_id: str) -> HttpResponse:
    command = _command(request, command_id)
    deliveries = (
        CommandDelivery.objects.filter(command=command).select_related("device").order_by("device_id")
    )
    summary = services.delivery_summary(command)
    open_states = {"pending", "sent", "received"}
    context = {
        "command": command,
        "deliveries": deliveries[:1000],
        "summary": sorted(summary.items()),
        "polling": any(s in open_states for s in summary),
        "playlogs": PlayLog.objects.filter(command_id=command.pk).count(),
    }
    template = "fleet/_deliveries.html" if getattr(request, "htmx", False) else "fleet/command.html"
    return render(request, template, context)
