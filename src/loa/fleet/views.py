"""Console pages of the fleet: list, map, device page, enrolment codes, commands with per-device delivery state.

Every view authorises through :mod:`loa.accounts.access`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Q, Value, When
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loa.accounts.access import access_anywhere, access_unit, access_unit_code, access_units, can
from loa.broadcast.recurrence import LOCAL_TZ
from loa.console.current import current_unit
from loa.console.dates import parse_day
from loa.fleet import conf, services
from loa.fleet.models import (
    Alarm,
    Command,
    CommandDelivery,
    Device,
    DeviceKind,
    EnrolmentCode,
    PlayLog,
    ScreenClass,
    StatusSample,
)
from loa.units.models import Level, Unit


def _device(request: HttpRequest, device_id: str, action: str) -> Device:
    device = Device.objects.select_related("unit__parent").filter(device_id=device_id).first()
    if device is None:
        raise Http404(_("Không tìm thấy cụm loa."))
    access_unit(request.user, device.unit, action)
    return device


def _scoped_devices(request: HttpRequest) -> Any:
    qs = Device.objects.select_related("unit__parent").filter(
        unit__in=access_units(request.user, "device.view")
    )
    unit = current_unit(request)
    if unit is not None:
        qs = qs.in_unit(unit)
    return qs.active(), unit


# the list's filter: SIM or data plan expired (0), expiring within N days
EXPIRING_DAYS = ("0", "30", "60", "90")


def expiring_filter(days: int, of: str) -> Q:
    """Devices whose SIM (``of="sim"``), data plan (``"plan"``) or either expired before today (``days`` 0) or
    expires from today to ``days`` days ahead (Vietnamese days): the rows behind the analytics KPI
    ``data_plans_expiring`` (:func:`loa.analytics.kpis.expiry_buckets`)."""
    today = timezone.localdate(timezone=LOCAL_TZ)
    fields = [f for w, f in (("sim", "sim_expires"), ("plan", "data_plan_expires")) if of in ("", w)]
    out = Q(pk__in=[])
    for f in fields:
        out |= (
            Q(**{f"{f}__lt": today})
            if days == 0
            else Q(**{f"{f}__gte": today, f"{f}__lte": today + dt.timedelta(days=days)})
        )
    return out


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
    kind = request.GET.get("kind", "")
    if kind in DeviceKind.values:
        qs = qs.filter(kind=kind)
    expiring = request.GET.get("expiring", "")
    expiring_of = request.GET.get("of", "")
    if expiring in EXPIRING_DAYS:
        qs = qs.filter(expiring_filter(int(expiring), expiring_of))
    q = request.GET.get("q", "").strip()[:100]
    if q:
        qs = (
            qs.filter(name__icontains=q)
            | qs.filter(unit__name__icontains=q)
            | qs.filter(device_id__icontains=q)
            | qs.filter(imei__icontains=q)
        )
    page = Paginator(qs.order_by("unit__path", "name", "device_id"), 50).get_page(request.GET.get("page"))
    from loa.fleet.boards import killed_ids

    killed = killed_ids(list(page.object_list))
    for d in page.object_list:
        d.killed = d.device_id in killed
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
            "kind": kind,
            "kinds": DeviceKind.choices,
            "expiring": expiring,
            "expiring_of": expiring_of,
            "expiring_days": EXPIRING_DAYS[1:],
            "killed_count": len(killed),
            "q": q,
            "total": total,
            "online_count": online_count,
            # offline and refused-manifest alarms; a board showing what is not in its schedule has its own line
            "alarm_count": alarms.exclude(kind=Alarm.Kind.SCREEN_MISMATCH).count(),
            "mismatch_count": alarms.filter(kind=Alarm.Kind.SCREEN_MISMATCH).count(),
            "can_manage": access_units(request.user, "device.manage").exists(),
            "can_control": access_units(request.user, "device.control").exists(),
        },
    )


@login_required
@require_GET
def device_map(request: HttpRequest) -> HttpResponse:
    access_anywhere(request.user, "device.view")
    tile_url = str(conf.get("LOA_MAP_TILE_URL"))
    context = {"tile_url": tile_url, "unit": current_unit(request), "statuses": MAP_STATUSES.items()}
    response = render(request, "fleet/map.html", context)
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


def _reference_point(unit: Unit) -> tuple[float, float] | tuple[None, None]:
    """Where the placing map opens: the unit's coordinates, else its commune's (zones often have none)."""
    for u in (unit, unit.parent):
        if u is not None and u.latitude is not None and u.longitude is not None:
            return (u.latitude, u.longitude)
    return (None, None)


MAP_STATUSES = {
    "playing": gettext_lazy("đang phát"),
    "online": gettext_lazy("trực tuyến"),
    "offline": gettext_lazy("mất kết nối"),
    "never": gettext_lazy("chưa kết nối lần nào"),
}


def map_status(online: bool, last_seen: Any, last_status: dict[str, Any] | None) -> str:
    """The colour a cluster has on the map (legend: :data:`MAP_STATUSES`)."""
    if online:
        return "playing" if (last_status or {}).get("state") == "playing" else "online"
    return "offline" if last_seen else "never"


@login_required
@require_GET
def map_data(request: HttpRequest) -> JsonResponse:
    """Markers (devices with a position, or the last position they reported) with their status and zone, and the
    communes' reference points (the unit's own coordinates, else the middle of its clusters)."""
    access_anywhere(request.user, "device.view")
    qs, _unit = _scoped_devices(request)
    markers = []
    communes: dict[str, list[tuple[float, float]]] = {}
    fields = (
        "device_id",
        "kind",
        "name",
        "online",
        "last_seen",
        "latitude",
        "longitude",
        "last_status",
        "unit__path",
    )
    rows = list(qs.values(*fields, "unit__name", "unit__level"))
    for d in rows:
        lat = d["latitude"] if d["latitude"] is not None else (d["last_status"] or {}).get("lat")
        lon = d["longitude"] if d["longitude"] is not None else (d["last_status"] or {}).get("lon")
        if lat is None or lon is None:
            continue
        status = map_status(d["online"], d["last_seen"], d["last_status"])
        markers.append(
            {
                "id": d["device_id"],
                "kind": d["kind"],
                "name": d["name"] or d["device_id"],
                "zone": d["unit__name"] if d["unit__level"] == Level.ZONE else "",
                "status": status,
                "status_label": str(MAP_STATUSES[status]),
                "online": d["online"],
                "lat": lat,
                "lon": lon,
            }
        )
        codes = [c for c in d["unit__path"].split("/") if c]
        if len(codes) >= 2:
            communes.setdefault(codes[1], []).append((lat, lon))
    labels = []
    for code, name, ulat, ulon in Unit.objects.filter(code__in=communes, level=Level.COMMUNE).values_list(
        "code", "name", "latitude", "longitude"
    ):
        pts = communes[code]
        labels.append(
            {
                "code": code,
                "name": name,
                "lat": ulat if ulat is not None else sum(p[0] for p in pts) / len(pts),
                "lon": ulon if ulon is not None else sum(p[1] for p in pts) / len(pts),
            }
        )
    return JsonResponse({"markers": markers, "communes": labels})


BOARD_ACTIONS_SHOWN = (
    "reload",
    "screen_on",
    "screen_off",
    "brightness",
    "screenshot",
    "refresh_manifest",
    "reboot",
)
SPEAKER_ACTIONS_SHOWN = ("stop", "pause", "resume", "next", "volume", "refresh_manifest", "reboot")


def _board_context(request: HttpRequest, device: Device) -> dict[str, Any]:
    """What the device page shows of a board: its screen, last screenshot, kill switches."""
    from loa.fleet import boards
    from loa.fleet.models import Orientation, ScreenClass

    if not boards.is_board(device):
        return {"is_board": False}
    screen = boards.screen_of(device)
    schedule = screen.brightness_schedule if screen else []
    return {
        "is_board": True,
        "screen": screen,
        "brightness_text": "\n".join(f"{s['at']} {s['percent']}" for s in schedule),
        "screenshot": boards.latest_screenshot(device),
        "screen_mismatch": boards.screen_mismatch(device),
        "kill_switches": boards.kill_switches_for(device),
        "screen_classes": ScreenClass.choices,
        "orientations": Orientation.choices,
    }


@login_required
@require_GET
def device_detail(request: HttpRequest, device_id: str) -> HttpResponse:
    device = _device(request, device_id, "device.view")
    board = _board_context(request, device)
    shown = BOARD_ACTIONS_SHOWN if board["is_board"] else SPEAKER_ACTIONS_SHOWN
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
            "tile_url": str(conf.get("LOA_MAP_TILE_URL")),
            "place_centre": _reference_point(device.unit),
            "actions": [(v, label) for v, label in Command.Action.choices if v in shown],
            "manage_units": access_units(request.user, "device.manage")
            .filter(level__gte=Level.COMMUNE, is_active=True)
            .order_by("path")[:500],
            **board,
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
        elif key in ("sim_expires", "data_plan_expires", "installed_on", "warranty_until"):
            day = parse_day(value)
            if value and day is None:
                messages.error(request, _("Ngày phải có dạng dd/mm/yyyy."))
                return redirect("fleet:device", device_id=device.device_id)
            value = day
        changes[key] = value
    if request.POST.get("unit") and request.POST["unit"] != device.unit.code:
        changes["unit"] = access_unit_code(request.user, request.POST["unit"], "device.manage")
    try:
        services.do_update_device(device, changes, actor=request.user, request=request)
        messages.success(request, _("Đã lưu thông tin cụm loa."))
    except services.FleetError as exc:
        messages.error(request, exc.message)
    except Exception:  # a malformed date typed by hand
        messages.error(request, _("Ngày phải có dạng dd/mm/yyyy."))
    return redirect("fleet:device", device_id=device.device_id)


@login_required
@require_http_methods(["GET", "POST"])
def device_revoke(request: HttpRequest, device_id: str) -> HttpResponse:
    """GET (or a POST without ``confirm``) asks first, saying what revoking cuts off; the POST revokes."""
    device = _device(request, device_id, "device.manage")
    if request.method == "GET" or request.POST.get("confirm") != "1":
        if device.is_revoked:
            return redirect("fleet:device", device_id=device.device_id)
        context = {
            "device": device,
            "reason": request.POST.get("reason", ""),
            "is_board": device.kind == DeviceKind.EBOARD,
        }
        return render(request, "fleet/device_revoke.html", context)
    try:
        services.do_revoke_device(
            device, actor=request.user, request=request, reason=request.POST.get("reason", "")
        )
        if device.kind == DeviceKind.EBOARD:
            messages.success(
                request, _("Đã thu hồi bảng tin; bảng tin không còn lấy được lịch trình chiếu và lệnh.")
            )
        else:
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
                unit,
                actor=request.user,
                request=request,
                label=request.POST.get("label", ""),
                ttl_hours=ttl,
                kind=request.POST.get("kind", ""),
                screen_class=request.POST.get("screen_class", ""),
            )
            uri = services.enrolment_uri(code)
            created = {"code": code, "uri": uri, "qr": services.qr_svg(uri), "obj": obj}
        except ValueError:
            messages.error(request, _("Thời hạn phải là số giờ."))
        except services.FleetError as exc:
            messages.error(request, exc.message)
    elif request.method != "GET":
        return HttpResponse(status=405)
    codes = EnrolmentCode.objects.filter(unit__in=units).select_related(
        "unit__parent", "device", "created_by"
    )[:50]
    # a commune with its zones under it (ordered by path, a zone follows its commune)
    groups: list[tuple[Unit, list[Unit]]] = []
    for u in units.select_related("parent")[:500]:
        if u.level == Level.ZONE and groups and groups[-1][0].pk == u.parent_id:
            groups[-1][1].append(u)
        elif u.level == Level.COMMUNE:
            groups.append((u, []))
        else:  # a zone whose commune is outside the scope of device.manage
            groups.append((u, []))
    return render(
        request,
        "fleet/enrolment.html",
        {
            "groups": groups,
            "codes": codes,
            "created": created,
            "kinds": DeviceKind.choices,
            "screen_classes": ScreenClass.choices,
            "current": current_unit(request),
            "posted": request.POST if created is None else {},
        },
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
    if action == "brightness":
        from loa.fleet.boards import check_brightness

        return {"brightness": check_brightness(post.get("brightness", "").strip() or None)}
    return {}


def _play_source(post: Any) -> Any:
    """The form's one source of "play now" (ValueError for an id that is not a number)."""
    from loa.fleet.play import PlaySource

    bulletin = post.get("bulletin_id", "").strip()
    asset = post.get("media_asset_id", "").strip()
    return PlaySource(
        bulletin_id=int(bulletin) if bulletin else None,
        media_asset_id=int(asset) if asset else None,
        text=post.get("text", ""),
        voice=post.get("voice") or None,
    )


def _play_from_form(request: HttpRequest, target_unit: Unit | None, target_device: Device | None) -> Command:
    """ "Play now" from the form: a published bulletin, a library asset or typed text (one of them)."""
    from loa.fleet.play import do_play_now

    post = request.POST
    volume = post.get("play_volume", "").strip()
    return do_play_now(
        actor=request.user,
        source=_play_source(post),
        target_unit=target_unit,
        target_device=target_device,
        priority=int(post["priority"]) if post.get("priority") else None,
        repeat=int(post.get("repeat") or 1),
        volume=int(volume) if volume else None,
        totp=post.get("totp", ""),
        request=request,
    )


def _play_choices(request: HttpRequest) -> dict[str, Any]:
    """Published bulletins the user can see (their inbox included) and approved library audio they may use."""
    from django.db.models import Q
    from django.utils import timezone

    from loa.broadcast.approval import approved_audio
    from loa.content.access import visible_bulletins
    from loa.content.models import State
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
    usable = list(
        usable_media_assets(request.user).filter(duration_s__gt=0).order_by("-created_at", "-pk")[:300]
    )
    approved = approved_audio(a.sha256 for a in usable)  # only approved audio plays now (docs/adr/0007)
    assets = [a for a in usable if a.sha256 in approved][:100]
    return {
        "bulletins": bulletins,
        "assets": assets,
        "voices": [(k, _(v.label)) for k, v in VOICES.items()],
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
        step = request.POST.get("step", "")
        try:
            if step == "edit":  # "Sửa lại" on the confirmation: back to the form, as it was filled
                return _command_form(request, units, status=200)
            if target_unit is not None:
                # a command to an area is confirmed on a page naming what it reaches (the device page's own
                # buttons name their one cluster already); the page carries the count it showed, and if the area
                # changed meanwhile it asks again with the new figures
                scope = _confirmation_scope(request, action, target_unit)  # refuses what cannot be sent
                if step != "confirm" or request.POST.get("devices") != str(scope["devices"]):
                    if step == "confirm":
                        messages.warning(
                            request, _("Số thiết bị của vùng nhận lệnh vừa thay đổi: xem lại rồi xác nhận.")
                        )
                    return _command_confirmation(request, action, target_unit, scope)
            sent = _already_sent(request)
            if sent is not None:  # "Gửi" again (Back, a double tap): the command went out once, not twice
                messages.info(request, _("Lệnh này đã được gửi; không gửi lần nữa."))
                return redirect("fleet:command", command_id=sent)
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
            if target_unit is not None and step == "confirm" and exc.code.startswith("totp"):
                # the operator retypes the code on the same confirmation
                scope = {**_confirmation_scope(request, action, target_unit), "totp": True}
                return _command_confirmation(request, action, target_unit, scope, status=400)
        else:
            _remember_sent(request, command.pk)
            messages.success(request, _("Đã đưa lệnh vào hàng đợi gửi."))
            return redirect("fleet:command", command_id=command.pk)
        if target_device is not None:
            return redirect("fleet:device", device_id=target_device.device_id)
    elif request.method != "GET":
        return HttpResponse(status=405)
    return _command_form(request, units, status=400 if request.method == "POST" else 200)


SENT_KEY = "loa_fleet_sent_confirmations"  # session: confirmation id → the command it sent (the last 50)


def _already_sent(request: HttpRequest) -> str | None:
    """The command a confirmation page already sent, if this is that page submitted again."""
    confirmation = request.POST.get("confirmation", "")
    return request.session.get(SENT_KEY, {}).get(confirmation) if confirmation else None


def _remember_sent(request: HttpRequest, command_id: Any) -> None:
    confirmation = request.POST.get("confirmation", "")
    if confirmation:
        sent = dict(list(request.session.get(SENT_KEY, {}).items())[-49:])
        sent[confirmation] = str(command_id)
        request.session[SENT_KEY] = sent


def _command_form(request: HttpRequest, units: Any, *, status: int) -> HttpResponse:
    posted = request.POST if request.method == "POST" else request.GET
    return render(
        request,
        "fleet/command_new.html",
        {
            "units": units[:500],
            "actions": [(v, label) for v, label in Command.Action.choices if v != Command.Action.KILL_SWITCH],
            "current": current_unit(request),
            "posted": posted,
            **_play_choices(request),
        },
        status=status,
    )


def _command_scope(action: str, target_unit: Unit) -> dict[str, Any]:
    """What a command to an area reaches, counted the way :func:`services.do_send_command` counts its rows."""
    for_boards = services.board_route(action, target_unit, None)  # refuses an action the area's devices lack
    reach = services.area_reach(target_unit, for_boards=for_boards)
    devices = reach.count()
    return {
        "devices": devices,
        "online": reach.filter(online=True).count() if devices else 0,
        "communes": services.communes_reached(target_unit, None),
        "what": _("bảng tin") if for_boards else _("cụm loa"),
    }


def _confirmation_scope(request: HttpRequest, action: str, target_unit: Unit) -> dict[str, Any]:
    """What the confirmation shows: the devices reached, whether a TOTP code is needed, the class a play runs at
    and the parameters — after refusing, before anything is made or signed, what cannot be sent."""
    scope = _command_scope(action, target_unit)
    params: dict[str, Any] | None
    if action == Command.Action.PLAY:
        from loa.fleet.play import check_play_now

        p = request.POST
        asked = int(p["priority"]) if p.get("priority") else None
        cheap = check_play_now(
            request.user, _play_source(p), target_unit=target_unit, target_device=None, priority=asked
        )
        # the class it plays at, when known now (a bulletin still to be read by TTS: at the send)
        known = asked if asked is not None else (cheap.play_class if cheap is not None else None)
        params = None if known is None else {"priority": known}
    else:
        params = services.check_ordinary_command(action, _params_from_form(action, request.POST))
    scope["totp"] = _needs_totp(request, action, params, target_unit, communes=scope["communes"])
    scope["priority"] = (params or {}).get("priority")
    scope["params"] = params or {}
    return scope


def _needs_totp(
    request: HttpRequest, action: str, params: dict[str, Any] | None, target_unit: Unit, *, communes: int
) -> bool | None:
    """Whether this command needs the operator's TOTP code (:func:`services.totp_required`, the one rule), or None
    when that is only known at the send (a play whose class comes from a bulletin still to be read by TTS, in one
    commune)."""
    if params is None:
        return True if communes > 1 else None
    return services.totp_required(action, params, target_unit, None, actor=request.user)


def _play_summary(request: HttpRequest) -> str:
    """What "play now" will play, in the operator's words (the form's choice, read again with their rights)."""
    from loa.content.access import visible_bulletins
    from loa.media.access import usable_media_assets

    post = request.POST
    bulletin, asset = post.get("bulletin_id", "").strip(), post.get("media_asset_id", "").strip()
    if bulletin.isdecimal():
        b = visible_bulletins(request.user).filter(pk=int(bulletin)).first()
        return _("Bản tin “%(t)s”") % {"t": b.title} if b else ""
    if asset.isdecimal():
        a = usable_media_assets(request.user).filter(pk=int(asset)).first()
        return _("Âm thanh “%(t)s”") % {"t": a.original_name or a.sha256[:12]} if a else ""
    return ""  # typed text never reaches the confirmation: check_play_now refuses it (docs/adr/0007)


_PRIORITY_LABELS = {
    "1": gettext_lazy("1 — khẩn cấp"),
    "2": gettext_lazy("2 — trực tiếp"),
    "3": gettext_lazy("3 — bản tin ưu tiên"),
    "4": gettext_lazy("4 — thông thường"),
}


def _priority_label(asked: str, known: Any, *, from_bulletin: bool) -> str:
    """The class the operator chose, else the one the bulletin (its priority) or the library audio (the ordinary
    class) plays at, when known before the send."""
    if asked in _PRIORITY_LABELS:
        return str(_PRIORITY_LABELS[asked])
    if str(known) in _PRIORITY_LABELS:
        if from_bulletin:
            return _("%(class)s (theo bản tin)") % {"class": _PRIORITY_LABELS[str(known)]}
        return _("%(class)s (mặc định)") % {"class": _PRIORITY_LABELS[str(known)]}
    return _("theo bản tin") if from_bulletin else _("mặc định")


def _command_confirmation(
    request: HttpRequest, action: str, target_unit: Unit, scope: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    kept = ("csrfmiddlewaretoken", "step", "devices", "totp", "confirmation")
    hidden = [(k, v) for k, values in request.POST.lists() if k not in kept for v in values]
    priority = request.POST.get("priority", "")
    context = {
        "target": target_unit,
        "scope": scope,
        "action_label": services.ACTION_LABELS.get(action, action),
        "play": _play_summary(request) if action == Command.Action.PLAY else "",
        "priority": _priority_label(
            priority,
            scope.get("priority"),
            from_bulletin=request.POST.get("bulletin_id", "").strip().isdecimal(),
        ),
        "repeat": request.POST.get("repeat") or "1",
        "hidden": hidden,
        "totp": request.POST.get("totp", ""),
        "details": _param_details(scope.get("params") or {}),
        # one id per confirmation page: sending it twice (Back, a double tap) sends one command
        "confirmation": uuid.uuid4().hex,
    }
    return render(request, "fleet/command_confirm.html", context, status=status)


def _param_details(params: dict[str, Any]) -> list[str]:
    """What the command sets, in the form's words (the confirmation says it before anything is sent)."""
    out = []
    if "volume" in params and "priority" not in params:
        out.append(_("Âm lượng mới: %(v)s/100") % {"v": params["volume"]})
    if "brightness" in params:
        out.append(_("Độ sáng mới: %(v)s %%") % {"v": params["brightness"]})
    return out


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


DELIVERY_ROWS = 100  # rows of the delivery table on a command page


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
    # the clusters that need a look first (refused, failed, expired, not yet done); the counts above cover all of
    # them: a province-wide command has thousands of rows, and the page is polled while it is on its way
    needs_look = Case(When(state="done", then=Value(1)), default=Value(0), output_field=IntegerField())
    deliveries = (
        CommandDelivery.objects.filter(command=command)
        .select_related("device")
        .order_by(needs_look, "device_id")
    )
    summary = services.delivery_summary(command)
    open_states = {"pending", "sent", "received"}
    context = {
        "command": command,
        "deliveries": deliveries[:DELIVERY_ROWS],
        "more_deliveries": max(0, sum(summary.values()) - DELIVERY_ROWS),
        "summary": sorted(summary.items()),
        "polling": any(s in open_states for s in summary),
        "playlogs": PlayLog.objects.filter(command_id=command.pk).count(),
    }
    template = "fleet/_deliveries.html" if getattr(request, "htmx", False) else "fleet/command.html"
    return render(request, template, context)
