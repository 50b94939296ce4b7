"""Console pages of the boards (bảng tin điện tử) in the fleet: their screen, installation photos (every device),
screenshots, and the kill switch per board and per area.

Every view authorises through :mod:`loa.accounts.access`; the services decide nothing about permissions.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loa.accounts.access import access_anywhere, access_unit, access_unit_code, access_units, can
from loa.console.current import current_unit
from loa.fleet import boards
from loa.fleet.models import BoardScreenshot, Device, KillSwitch
from loa.fleet.services import FleetError


def _device(request: HttpRequest, device_id: str, action: str) -> Device:
    device = Device.objects.select_related("unit__parent").filter(device_id=device_id).first()
    if device is None:
        raise Http404(_("Không tìm thấy thiết bị."))
    access_unit(request.user, device.unit, action)
    return device


def _back(device: Device, anchor: str = "") -> HttpResponse:
    response = redirect("fleet:device", device_id=device.device_id)
    if anchor:
        response["Location"] += f"#{anchor}"
    return response


# ---- screen --------------------------------------------------------------------------------------------------


@login_required
@require_POST
def screen_edit(request: HttpRequest, device_id: str) -> HttpResponse:
    """The board's screen class, resolution (custom screens), orientation and brightness schedule (one line per
    step: ``06:00 80``)."""
    device = _device(request, device_id, "device.manage")
    if not boards.is_board(device):
        raise Http404(_("Thiết bị này không phải bảng tin điện tử."))
    changes: dict[str, Any] = {
        "screen_class": request.POST.get("screen_class", ""),
        "orientation": request.POST.get("orientation", ""),
    }
    for key in ("width", "height"):
        if request.POST.get(key, "").strip():
            changes[key] = request.POST[key].strip()
    if "brightness_schedule" in request.POST:
        steps: list[Any] = []
        for line in request.POST["brightness_schedule"].splitlines():
            parts = line.replace("%", " ").replace("→", " ").split()
            if not parts:
                continue
            if len(parts) != 2:
                messages.error(
                    request,
                    _(
                        "Mỗi dòng của lịch độ sáng là một giờ và một độ sáng, ví dụ: 06:00 80 (dòng “%(line)s”)."
                    )
                    % {"line": line.strip()[:40]},
                )
                return _back(device, "screen")
            steps.append({"at": parts[0], "percent": parts[1]})
        changes["brightness_schedule"] = steps
    try:
        boards.do_update_screen(device, changes, actor=request.user, request=request)
        messages.success(request, _("Đã lưu màn hình của bảng tin."))
    except FleetError as exc:
        messages.error(request, exc.message)
    return _back(device, "screen")


# ---- photos (every device) ------------------------------------------------------------------------------------


@login_required
@require_POST
def photo_add(request: HttpRequest, device_id: str) -> HttpResponse:
    device = _device(request, device_id, "device.manage")
    upload = request.FILES.get("photo")
    try:
        if upload is None:
            raise FleetError("photo_invalid", _("Chưa chọn ảnh."))
        from loa.fleet import conf

        limit = int(conf.get("LOA_DEVICE_PHOTO_MAX_BYTES"))
        if upload.size and upload.size > limit:
            raise FleetError(
                "photo_too_large",
                _("Ảnh lớn quá %(mb)s MB; hãy chụp lại ở cỡ nhỏ hơn.") % {"mb": limit // (1024 * 1024)},
                413,
            )
        boards.do_add_photo(
            device, upload.read(), name=upload.name or "", actor=request.user, request=request
        )
        messages.success(request, _("Đã thêm ảnh lắp đặt."))
    except FleetError as exc:
        messages.error(request, exc.message)
    return _back(device, "photos")


@login_required
@require_POST
def photo_remove(request: HttpRequest, device_id: str, photo_id: str) -> HttpResponse:
    device = _device(request, device_id, "device.manage")
    try:
        boards.do_remove_photo(device, photo_id, actor=request.user, request=request)
        messages.success(request, _("Đã xóa ảnh."))
    except FleetError as exc:
        messages.error(request, exc.message)
    return _back(device, "photos")


@login_required
@require_GET
def photo(request: HttpRequest, device_id: str, photo_id: str) -> HttpResponseBase:
    device = _device(request, device_id, "device.view")
    if not any(p.get("id") == photo_id for p in device.photos or []):
        raise Http404(_("Không tìm thấy ảnh."))
    path = boards.photo_path(device, photo_id)
    if not path.is_file():
        raise Http404(_("Không tìm thấy ảnh."))
    response = FileResponse(path.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


# ---- screenshots ----------------------------------------------------------------------------------------------


@login_required
@require_GET
def screenshot(request: HttpRequest, shot_id: int) -> HttpResponseBase:
    shot = BoardScreenshot.objects.select_related("device__unit").filter(pk=shot_id).first()
    if shot is None:
        raise Http404(_("Không tìm thấy ảnh chụp màn hình."))
    access_unit(request.user, shot.device.unit, "device.view")
    path = boards.screenshot_file(shot)
    if not path.is_file():
        raise Http404(_("Không tìm thấy ảnh chụp màn hình."))
    response = FileResponse(path.open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"  # a screenshot never changes; a new one has a new id
    return response


# ---- kill switch ----------------------------------------------------------------------------------------------


@login_required
@require_POST
def board_kill(request: HttpRequest, device_id: str) -> HttpResponse:
    device = _device(request, device_id, "device.control")
    try:
        boards.do_engage_kill_switch(
            actor=request.user,
            totp=request.POST.get("totp", ""),
            target_device=device,
            reason=request.POST.get("reason", ""),
            request=request,
        )
        messages.success(request, _("Đã ngắt khẩn cấp: bảng tin chuyển sang màn hình đen."))
    except FleetError as exc:
        messages.error(request, exc.message)
    return _back(device, "kill-switch")


@login_required
@require_http_methods(["GET", "POST"])
def kill_switches(request: HttpRequest) -> HttpResponse:
    """The engaged kill switches in the user's scope, and the form that engages one on an area."""
    access_anywhere(request.user, "device.view")
    control_units = access_units(request.user, "device.control").filter(is_active=True).order_by("path")
    if request.method == "POST":
        access_anywhere(request.user, "device.control")
        unit = access_unit_code(request.user, request.POST.get("unit", ""), "device.control")
        try:
            switch = boards.do_engage_kill_switch(
                actor=request.user,
                totp=request.POST.get("totp", ""),
                target_unit=unit,
                reason=request.POST.get("reason", ""),
                request=request,
            )
            n = boards.boards_in(switch.scope).count()
            messages.success(
                request,
                _("Đã ngắt khẩn cấp %(unit)s: %(n)s bảng tin chuyển sang màn hình đen.")
                % {"unit": unit.name, "n": n},
            )
            return redirect("fleet:kill_switches")
        except FleetError as exc:
            messages.error(request, exc.message)
    qs = KillSwitch.objects.select_related("scope", "unit", "device", "engaged_by").filter(
        scope__in=access_units(request.user, "device.view"), released_at__isnull=True
    )
    current = current_unit(request)
    if current is not None:
        qs = qs.filter(scope__path__startswith=current.path)
    rows = [
        {"switch": k, "boards": 1 if k.device_id else boards.boards_in(k.scope).count(),
         "can_release": can(request.user, k.scope, "device.control")}
        for k in qs[:200]
    ]  # fmt: skip
    return render(
        request,
        "fleet/kill_switches.html",
        {
            "rows": rows,
            "units": control_units[:500],
            "current": current,
            "posted": request.POST if request.method == "POST" else {},
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def kill_switch_release(request: HttpRequest, switch_id: int) -> HttpResponse:
    switch = KillSwitch.objects.select_related("scope", "device__unit").filter(pk=switch_id).first()
    if switch is None:
        raise Http404(_("Không tìm thấy ngắt khẩn cấp."))
    access_unit(request.user, switch.scope, "device.control")
    try:
        boards.do_release_kill_switch(
            switch, actor=request.user, totp=request.POST.get("totp", ""), request=request
        )
        messages.success(request, _("Đã gỡ ngắt khẩn cấp; bảng tin hiển thị lại nội dung."))
    except FleetError as exc:
        messages.error(request, exc.message)
    if request.POST.get("next") == "device" and switch.device_id:
        return redirect("fleet:device", device_id=switch.device_id)
    return redirect("fleet:kill_switches")
