"""Console pages of board content (mounted at /signage/): slides, playlists with their approval and schedule,
screen-on windows, a board's preview at its real resolution (scaled to fit) and planned versus shown; the board
files and the bundled font.

Every view authorises through :mod:`loa.signage.access` / :mod:`loa.accounts.access`; every change goes through a
``do_*`` service; a refusal is shown on the form it came from.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loa.accounts.access import access_unit, can
from loa.broadcast import approval
from loa.broadcast.access import access_override, can_override
from loa.broadcast.compile import recurrence_of
from loa.broadcast.models import Programme, Schedule
from loa.broadcast.recurrence import LOCAL_TZ, describe
from loa.broadcast.services import ScheduleSpec
from loa.console.current import current_unit
from loa.content.access import visible_bulletins
from loa.content.models import State as BulletinState
from loa.errors import Refusal
from loa.media.files import file_response
from loa.signage import access, file_access, fit, plan, scheduling, services, store
from loa.signage.layouts import LAYOUT_LABELS, SCREEN_LABELS
from loa.signage.models import Playlist, ScreenWindows, Slide, SlideKind
from loa.signage.preview import board_preview
from loa.signage.uploads import slide_input
from loa.signage.windows import ScreenWindowsIndex
from loa.units.models import Unit


def _unit(request: HttpRequest, action: str) -> Unit:
    unit = current_unit(request)
    if unit is None:
        raise Http404(_("Chưa chọn đơn vị."))
    return access_unit(request.user, unit, action)


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    unit = _unit(request, access.VIEW)
    index_ = ScreenWindowsIndex([unit.path])
    own = ScreenWindows.objects.filter(unit=unit).first()
    context = {
        "unit": unit,
        "slides": Slide.objects.filter(unit__path__startswith=unit.path).select_related("unit")[:200],
        "playlists": Playlist.objects.filter(unit__path__startswith=unit.path).select_related(
            "unit", "programme"
        )[:200],
        "boards": access.visible_boards(request.user)
        .filter(unit__path__startswith=unit.path)
        .select_related("unit", "screen")[:500],
        "windows": index_.describe(unit.path),
        "own_windows": ""
        if own is None or own.windows is None
        else ", ".join(f"{a}-{b}" for a, b in own.windows),
        "can_edit": can(request.user, unit, access.EDIT),
        "can_set_windows": can(request.user, unit, "schedule.override"),
    }
    return render(request, "signage/index.html", context)


@login_required
@require_POST
def windows_set(request: HttpRequest) -> HttpResponse:
    unit = _unit(request, "schedule.override")
    text = request.POST.get("windows", "").strip()
    pairs: list[list[str]] | None
    try:
        if request.POST.get("inherit"):
            pairs = None
        elif not text:
            raise Refusal("windows_required", _("Nhập giờ bật màn hình, ví dụ 05:00-22:00."), field="windows")
        else:
            parts = text.replace("–", "-").split(",")
            pairs = [[p.strip() for p in part.split("-", 1)] for part in parts if part.strip()]
        services.do_set_screen_windows(unit, pairs, actor=request.user, request=request)
    except Refusal as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Đã lưu giờ bật màn hình bảng tin."))
    return redirect("signage:index")


# ---- slides -------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def slide_new(request: HttpRequest) -> HttpResponse:
    unit = _unit(request, access.EDIT)
    context: dict[str, Any] = {
        "unit": unit,
        "kinds": SlideKind.choices,
        "classes": [(k, _(v)) for k, v in SCREEN_LABELS.items()],
        "bulletins": visible_bulletins(request.user)
        .filter(state=BulletinState.PUBLISHED)
        .order_by("-published_at")[:100],
        "values": request.POST if request.method == "POST" else {},
        "checked": request.POST.getlist("screen_classes")
        if request.method == "POST"
        else ["landscape", "portrait"],
    }
    if request.method == "POST":
        try:
            with slide_input(request) as data:
                slide = services.do_create_slide(unit, data, actor=request.user, request=request)
        except Refusal as exc:
            context["error"] = exc
            return render(
                request, "signage/slide_new.html", context, status=exc.status if exc.status < 500 else 400
            )
        messages.success(request, _("Đã tạo trang trình chiếu."))
        return redirect("signage:slide", slide.pk)
    return render(request, "signage/slide_new.html", context)


@login_required
@require_GET
def slide_detail(request: HttpRequest, slide_id: int) -> HttpResponse:
    slide = access.access_slide(request.user, slide_id)
    from loa.signage.compile import slide_json
    from loa.signage.layouts import SCREEN_SIZES, zones

    frames = []
    for cls in sorted(set(slide.fits) | set(slide.renditions)) or ["landscape"]:
        w, h = SCREEN_SIZES[cls]
        zs = zones("main_ticker_clock", w, h)
        j = slide_json(slide, 0, 10, cls, {z.zone_id for z in zs}, 1.0)
        frames.append(
            {
                "id": f"frame-{cls}",
                "label": _(SCREEN_LABELS[cls]),
                "frame": {
                    "screen": {"width": w, "height": h},
                    "zones": [z.as_dict() for z in zs],
                    "slides": [j] if j else [],
                },
            }
        )
    return render(request, "signage/slide.html", {"slide": slide, "frames": frames})


# ---- playlists ----------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def playlist_new(request: HttpRequest) -> HttpResponse:
    unit = _unit(request, access.EDIT)
    slides = list(
        access.visible_slides(request.user)
        .filter(unit__path__in=_ancestors(unit.path))
        .select_related("unit")[:300]
    )
    context: dict[str, Any] = {
        "unit": unit,
        "slides": slides,
        "layouts": [(k, _(v)) for k, v in LAYOUT_LABELS.items()],
        "values": request.POST,
    }
    if request.method == "POST":
        try:
            chosen = []
            for s in slides:
                if request.POST.get(f"use_{s.pk}"):
                    raw = request.POST.get(f"duration_{s.pk}", "").strip()
                    try:
                        duration = float(raw.replace(",", ".")) if raw else None
                    except ValueError:
                        raise Refusal(
                            "duration_invalid", _("Thời lượng phải là số giây."), field="items"
                        ) from None
                    order = request.POST.get(f"order_{s.pk}", "").strip()
                    chosen.append((int(order) if order.isdigit() else 999, s, duration))
            chosen.sort(key=lambda t: t[0])
            p = services.do_create_playlist(
                unit, request.POST.get("title", ""), [(s, d) for _o, s, d in chosen],
                layout=request.POST.get("layout", "main_ticker_clock"), actor=request.user, request=request,
            )  # fmt: skip
        except Refusal as exc:
            context["error"] = exc
            return render(request, "signage/playlist_new.html", context, status=400)
        return redirect("signage:playlist", p.pk)
    return render(request, "signage/playlist_new.html", context)


def _ancestors(path: str) -> list[str]:
    out, acc = [], ""
    for code in (c for c in path.split("/") if c):
        acc += code + "/"
        out.append(acc)
    return out


def _local_range(request: HttpRequest) -> tuple[dt.date, dt.datetime, dt.datetime]:
    today = timezone.localtime(timezone.now(), LOCAL_TZ).date()
    try:
        day = dt.date.fromisoformat(request.GET.get("day", "")) if request.GET.get("day") else today
    except ValueError:
        day = today
    start = dt.datetime.combine(day, dt.time.min, tzinfo=LOCAL_TZ)
    return day, start.astimezone(dt.UTC), (start + dt.timedelta(days=1)).astimezone(dt.UTC)


@login_required
@require_GET
def playlist_detail(request: HttpRequest, playlist_id: int) -> HttpResponse:
    p = access.access_playlist(request.user, playlist_id)
    boards = list(
        access.visible_boards(request.user)
        .filter(unit__path__startswith=p.unit.path)
        .select_related("unit")[:500]
    )
    unit = current_unit(request) or p.unit
    may_decide = (
        p.programme.state == Programme.State.PENDING
        and can(request.user, p.unit, "bulletin.approve")
        and p.programme.created_by_id != request.user.pk
    )
    schedules = [
        (s, describe(recurrence_of(s)))
        for s in Schedule.objects.filter(board__playlist=p)
        .select_related("board")
        .prefetch_related("target_units", "target_devices")
    ]
    day, since, until = _local_range(request)
    rows = plan.playlist_plan(p.pk, [b.device_id for b in boards], since, until, timezone.now())
    context = {
        "playlist": p, "items": p.items.select_related("slide"), "boards": boards, "may_decide": may_decide,
        "can_schedule": p.programme.state == Programme.State.APPROVED and can(request.user, unit, access.EDIT),
        "can_override": can_override(request.user, unit), "schedules": schedules, "targets": Unit.objects.filter(path__startswith=unit.path, is_active=True).order_by("path")[:300],
        "rows": rows, "totals": plan.totals(rows), "day": day,
    }  # fmt: skip
    return render(request, "signage/playlist.html", context)


@login_required
@require_POST
def playlist_decide(request: HttpRequest, playlist_id: int) -> HttpResponse:
    p = access.access_playlist(request.user, playlist_id, "bulletin.approve")
    approve = request.POST.get("decision") == "approve"
    try:
        approval.do_decide_programme(
            p.programme,
            approve=approve,
            actor=request.user,
            note=request.POST.get("note", ""),
            request=request,
        )
    except Refusal as exc:
        messages.error(request, exc.message)
    return redirect("signage:playlist", p.pk)


@login_required
@require_POST
def playlist_schedule(request: HttpRequest, playlist_id: int) -> HttpResponse:
    unit = _unit(request, access.EDIT)
    p = access.access_playlist(request.user, playlist_id)
    post = request.POST
    try:
        targets = [
            access_unit(request.user, Unit.objects.filter(code=c).first(), access.VIEW)
            for c in post.getlist("target_units")
        ]
        boards = [access.access_board(request.user, d) for d in post.getlist("target_boards")]
        start_date = dt.date.fromisoformat(post["start_date"]) if post.get("start_date") else None
        spec = ScheduleSpec(
            title=post.get("title", "") or p.title, programme=None, kind=post.get("kind", "daily"),
            times=[t.strip() for t in post.get("times", "").replace(";", ",").split(",") if t.strip()],
            start_date=start_date, priority=3 if post.get("priority") == "3" else 4,
            target_units=targets, target_devices=boards,
        )  # fmt: skip
        minutes = int(post.get("minutes") or 0)
        override = access_override(request.user, unit, post.get("override_reason", ""))
        scheduling.do_schedule_playlist(
            spec, p, minutes=minutes, owner=unit, actor=request.user, request=request, override=override
        )
    except (Refusal, ValueError) as exc:
        messages.error(request, getattr(exc, "message", _("Ngày hoặc số phút không hợp lệ.")))
    else:
        messages.success(request, _("Đã lên lịch trình chiếu; các bảng tin nhận lịch mới ngay."))
    return redirect("signage:playlist", p.pk)


# ---- boards -------------------------------------------------------------------------------------------------


@login_required
@require_GET
def board_preview_page(request: HttpRequest, board_id: str) -> HttpResponse:
    board = access.access_board(request.user, board_id)
    playlist_id = request.GET.get("playlist", "").strip()
    playlist = access.access_playlist(request.user, playlist_id) if playlist_id else None
    frame = board_preview(board, playlist)
    return render(
        request,
        "signage/preview.html",
        {
            "board": board,
            "playlist": playlist,
            "frame": frame,
        },
    )


@login_required
@require_GET
def board_plan_page(request: HttpRequest, board_id: str) -> HttpResponse:
    board = access.access_board(request.user, board_id)
    day, since, until = _local_range(request)
    rows = plan.board_plan(board.device_id, since, until, timezone.now())
    return render(
        request, "signage/plan.html", {"board": board, "rows": rows, "totals": plan.totals(rows), "day": day}
    )


@login_required
@require_GET
def board_led_page(request: HttpRequest, board_id: str) -> HttpResponseBase:
    """The board's LED-controller package (:mod:`loa.signage.led`) for an operator who sees the board: the page
    lists it; ``?file=playlist.mp4`` (or ``playlist.json``, ``slide-NN.png``) downloads one of its files."""
    from loa.signage import led

    board = access.access_board(request.user, board_id)
    name = request.GET.get("file", "")
    if name:
        path = led.package_file(board.device_id, name)
        if path is None:
            raise Http404()
        return FileResponse(path.open("rb"), as_attachment=True, filename=f"{board.device_id}-{name}")
    package = led.read_package(board.device_id)
    return render(request, "signage/led.html", {"board": board, "package": package})


# ---- files --------------------------------------------------------------------------------------------------


@require_GET
def board_file(request: HttpRequest, name: str) -> HttpResponseBase:
    parsed = store.parse_name(name)
    if parsed is None:
        raise Http404()
    sha256, ext = parsed
    status = file_access.may_fetch(request, sha256, ext)
    if status == 401:
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = 'Basic realm="loa"'
        return response
    path = store.path_of(sha256, ext)
    if status != 200 or not path.exists():
        raise Http404()
    mime = {v: k for k, v in store.EXTENSIONS.items()}[ext]
    served = file_response(request, path, mime, immutable=True, shared=False)
    served["Vary"] = "Authorization, Cookie"
    return served


@require_GET
def font(request: HttpRequest) -> FileResponse:
    """The bundled Be Vietnam Pro SemiBold (OFL-1.1) that the server fits text with, for the preview and the
    player: the fit computed on the server is the fit shown."""
    response = FileResponse(fit.font_path().open("rb"), content_type="font/ttf")
    response["Cache-Control"] = "public, max-age=86400"
    return response
