"""Console pages for putting approved content on a schedule: the schedule form in the officer's words (with a
live preview of the next plays and the guardrail verdict), the programme form (published bulletins, library
audio, relays, typed text) and the programmes waiting for approval (docs/adr/0007).

Every view authorises through :mod:`loa.accounts.access`; every change goes through a ``do_*`` service.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from loa.accounts.access import access_unit, access_unit_code, can
from loa.broadcast import approval, services
from loa.broadcast import guardrails as gr
from loa.broadcast.access import access_override, can_override
from loa.broadcast.models import ItemKind, Programme, RelaySource
from loa.broadcast.schedule_form import FormRefusal, NextPlay, next_plays, rule_from_form, rule_text
from loa.console.current import current_unit
from loa.errors import Refusal
from loa.units.models import Level, Unit

WEEKDAYS = [
    gettext_lazy("Thứ Hai"),
    gettext_lazy("Thứ Ba"),
    gettext_lazy("Thứ Tư"),
    gettext_lazy("Thứ Năm"),
    gettext_lazy("Thứ Sáu"),
    gettext_lazy("Thứ Bảy"),
    gettext_lazy("Chủ nhật"),
]
WORDS_PER_SECOND = 2.5  # a rough reading pace, for the preview of a bulletin that has no audio yet


def _unit(request: HttpRequest, action: str) -> Unit:
    unit = current_unit(request)
    if unit is None:
        raise Http404(_("Chưa chọn đơn vị."))
    return access_unit(request.user, unit, action)


def _ancestors(path: str) -> list[str]:
    out, acc = [], ""
    for code in (c for c in path.split("/") if c):
        acc += code + "/"
        out.append(acc)
    return out


# ---- what can be scheduled -------------------------------------------------------------------------------


def _published_bulletins(request: HttpRequest, unit: Unit) -> Any:
    """Published, still valid bulletins the user sees that reach ``unit``: its own (or its province's) and the
    ones in its inbox."""
    from loa.content.access import visible_bulletins
    from loa.content.models import State

    now = timezone.now()
    reach = Q(origin_unit__path__in=_ancestors(unit.path)) | Q(origin_unit__path__startswith=unit.path)
    reach |= Q(feed_items__unit__path__startswith=unit.path) | Q(receivers__path__in=_ancestors(unit.path))
    return (
        visible_bulletins(request.user)
        .filter(state=State.PUBLISHED)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .filter(reach)
        .distinct()
        .select_related("origin_unit", "audio_asset")
        .order_by("-published_at", "-pk")
    )


def _bulletin_seconds(b: Any) -> float:
    if b.audio_asset_id and b.audio_asset.duration_s:
        return float(b.audio_asset.duration_s)
    if b.duration_s:
        return float(b.duration_s)
    words = len((b.read_as or b.body or b.summary or b.title).split())
    return max(5.0, math.ceil(words / WORDS_PER_SECOND))


@dataclass
class Source:
    """What the schedule plays: a published bulletin (wrapped in a programme when saved) or an approved
    programme."""

    key: str  # "bulletin:12" / "programme:3"
    title: str
    durations: list[float]
    bulletin: Any = None
    programme: Programme | None = None


def _source(request: HttpRequest, unit: Unit, key: str) -> Source | None:
    kind, _sep, raw = (key or "").partition(":")
    if not raw.isdecimal():
        return None
    if kind == "bulletin":
        b = _published_bulletins(request, unit).filter(pk=int(raw)).first()
        if b is None:
            return None
        return Source(key, b.title, [_bulletin_seconds(b)], bulletin=b)
    if kind == "programme":
        p = (
            Programme.objects.filter(unit__path__in=_ancestors(unit.path), pk=int(raw))
            .prefetch_related("items")
            .first()
        )
        if p is None:
            return None
        return Source(key, p.title, [float(i.duration_s) for i in p.items.all()], programme=p)
    return None


# ---- the schedule form -----------------------------------------------------------------------------------


def _targets(request: HttpRequest, unit: Unit) -> tuple[list[Unit], list[Any]]:
    from loa.fleet.models import Device, DeviceKind

    p = request.POST
    units = [access_unit_code(request.user, c, "schedule.edit") for c in p.getlist("targets") if c]
    ids = [d for d in p.getlist("devices") if d]
    devices = list(
        Device.objects.active()
        .filter(device_id__in=ids, unit__path__startswith=unit.path, kind=DeviceKind.LOUDSPEAKER)
        .select_related("unit")
    )
    return units, devices


def _spec(request: HttpRequest, unit: Unit, source: Source) -> services.ScheduleSpec:
    p = request.POST
    rule = rule_from_form(p, p.getlist, source.durations)
    units, devices = _targets(request, unit)
    volume = p.get("adv_volume", "").strip()
    if volume and not volume.isdecimal():
        raise FormRefusal("volume_invalid", "Âm lượng phải là số từ 0 đến 100.")
    return services.ScheduleSpec(
        title=p.get("title", "") or source.title,
        programme=source.programme,
        durations=source.durations,
        target_units=units,
        target_devices=devices,
        volume=int(volume) if volume else None,
        **rule.parts,
    )


def _form_context(request: HttpRequest, unit: Unit, source: Source | None) -> dict[str, Any]:
    from loa.fleet.models import Device, DeviceKind

    post: Any = request.POST if request.method == "POST" else {}
    zones = Unit.objects.filter(parent=unit, is_active=True).order_by("name")[
        :200
    ]  # thôn; communes of a province
    devices = (
        Device.objects.active()
        .filter(unit__path__startswith=unit.path, kind=DeviceKind.LOUDSPEAKER)  # boards have their playlists
        .select_related("unit")
        .order_by("unit__path", "name", "device_id")[:300]
    )
    programmes = Programme.objects.filter(
        unit__path__in=_ancestors(unit.path), state=Programme.State.APPROVED
    ).order_by("-created_at")[:100]
    chosen_targets = set(request.POST.getlist("targets")) if request.method == "POST" else {unit.code}
    return {
        "unit": unit,
        "post": post,
        "source": source,
        "bulletins": _published_bulletins(request, unit)[:100],
        "programmes": programmes,
        "zones": zones,
        "zones_are_communes": unit.level == Level.PROVINCE,
        "devices": devices,
        "chosen_targets": chosen_targets,
        "chosen_devices": set(request.POST.getlist("devices")) if request.method == "POST" else set(),
        "chosen_weekdays": set(request.POST.getlist("weekdays")) if request.method == "POST" else set(),
        "weekday_names": list(enumerate(WEEKDAYS)),
        "when": post.get("when", "daily") if post else "daily",
        "can_override": can_override(request.user, unit),
    }


@login_required
@require_http_methods(["GET", "POST"])
def schedule_new(request: HttpRequest) -> HttpResponse:
    unit = _unit(request, "schedule.edit")
    if request.method == "GET":
        key = ""
        if request.GET.get("bulletin", "").isdecimal():
            key = "bulletin:" + request.GET["bulletin"]
        elif request.GET.get("programme", "").isdecimal():
            key = "programme:" + request.GET["programme"]
        source = _source(request, unit, key) if key else None
        if key and source is None:
            messages.error(
                request, _("Không tìm thấy bản tin đã phát hành hoặc chương trình này trong đơn vị.")
            )
        return render(request, "broadcast/schedule_new.html", _form_context(request, unit, source))
    source = _source(request, unit, request.POST.get("source", ""))
    status = 400
    if source is None:
        messages.error(
            request, _("Chọn nội dung phát: một bản tin đã phát hành hoặc một chương trình đã duyệt.")
        )
    else:
        try:
            override = access_override(request.user, unit, request.POST.get("override_reason", ""))
            spec = _spec(request, unit, source)
            if source.bulletin is not None:
                schedule = services.do_schedule_bulletin(
                    spec,
                    source.bulletin.pk,
                    owner=unit,
                    actor=request.user,
                    request=request,
                    override=override,
                )
            else:
                schedule = services.do_create_schedule(
                    spec, owner=unit, actor=request.user, request=request, override=override
                )
        except Refusal as exc:
            messages.error(request, exc.message)
            status = 409 if exc.status == 409 else 400
        else:
            messages.success(request, _("Đã đặt lịch “%(t)s”.") % {"t": schedule.title})
            return redirect("broadcast:overview")
    context = _form_context(request, unit, source) | {"preview": _preview(request, unit, source)}
    return render(request, "broadcast/schedule_new.html", context, status=status)


@dataclass
class Preview:
    plays: list[NextPlay]
    rule: str
    refusal: str
    violations: list[gr.Violation]
    communes: list[str]
    length_s: float


def _preview(request: HttpRequest, unit: Unit, source: Source | None) -> Preview:
    if source is None:
        return Preview([], "", _("Chọn nội dung phát để xem trước."), [], [], 0.0)
    try:
        spec = _spec(request, unit, source)
        rec = spec.recurrence()
        violations = services.check_schedule(spec, owner=unit)
    except Refusal as exc:
        return Preview([], "", exc.message, [], [], sum(source.durations))
    communes = [c.name for c in services.communes_reached(spec.target_units, spec.target_devices)]
    plays = next_plays(rec, source.durations, timezone.now())
    return Preview(plays, rule_text(rec), "", violations, communes, sum(source.durations))


@login_required
@require_POST
def schedule_preview(request: HttpRequest) -> HttpResponse:
    """The next plays and the guardrail verdict of the form as it is filled (htmx); saves nothing."""
    unit = _unit(request, "schedule.edit")
    source = _source(request, unit, request.POST.get("source", ""))
    context = {
        "preview": _preview(request, unit, source),
        "can_override": can_override(request.user, unit),
    }
    return render(request, "broadcast/_schedule_preview.html", context)


# ---- programmes ------------------------------------------------------------------------------------------


def _library(request: HttpRequest) -> list[tuple[Any, bool]]:
    """Library audio the user may use, each with whether it is already approved audio."""
    from loa.media.access import usable_media_assets

    assets = list(
        usable_media_assets(request.user).filter(duration_s__gt=0).order_by("-created_at", "-pk")[:100]
    )
    approved = approval.approved_audio(a.sha256 for a in assets)
    return [(a, a.sha256 in approved) for a in assets]


@login_required
@require_http_methods(["GET", "POST"])
def programme_new(request: HttpRequest) -> HttpResponse:
    unit = _unit(request, "schedule.edit")
    relays = RelaySource.objects.filter(province=unit.province, is_active=True)
    if request.method == "POST":
        p = request.POST
        items = [services.ItemSpec(kind=ItemKind.BULLETIN, bulletin_id=int(b))
                 for b in p.getlist("bulletins") if b.isdecimal()]  # fmt: skip
        items += [services.ItemSpec(kind=ItemKind.AUDIO, media_asset_id=int(a))
                  for a in p.getlist("assets") if a.isdecimal()]  # fmt: skip
        text = p.get("text", "").strip()
        if text:
            items.append(services.ItemSpec(kind=ItemKind.TTS, text=text))
        relay = p.get("relay_source", "")
        if relay.isdecimal():  # not isdigit(): "²" is a digit that int() refuses
            minutes = p.get("minutes", "30")
            items.append(services.ItemSpec(kind=ItemKind.RELAY, relay_source_id=int(relay),
                                           duration_s=float(minutes) * 60 if minutes.isdecimal() else None))  # fmt: skip
        try:
            programme = services.do_create_programme(
                unit, p.get("title", ""), items, actor=request.user, request=request
            )
        except Refusal as exc:
            messages.error(request, exc.message)
        else:
            if programme.state == Programme.State.APPROVED:
                messages.success(
                    request,
                    _("Đã tạo chương trình “%(t)s”: đặt lịch phát ngay bên dưới.") % {"t": programme.title},
                )
                return redirect(reverse("broadcast:schedule_new") + f"?programme={programme.pk}")
            messages.warning(
                request,
                _("Đã tạo chương trình “%(t)s”. Chương trình có văn bản gõ tay hoặc âm thanh chưa được duyệt, "
                  "nên cần một người duyệt khác duyệt trước khi đặt lịch phát.") % {"t": programme.title},
            )  # fmt: skip
            return redirect("broadcast:programmes")
    context = {
        "unit": unit,
        "relays": relays,
        "post": request.POST,
        "bulletins": _published_bulletins(request, unit)[:100],
        "library": _library(request),
        "chosen_bulletins": set(request.POST.getlist("bulletins")),
        "chosen_assets": set(request.POST.getlist("assets")),
    }
    return render(
        request,
        "broadcast/programme_new.html",
        context,
        status=400 if request.method == "POST" else 200,  # a POST that reaches here was refused
    )


@login_required
@require_http_methods(["GET"])
def programme_list(request: HttpRequest) -> HttpResponse:
    unit = _unit(request, "schedule.view")
    programmes = list(
        Programme.objects.filter(
            Q(unit__path__startswith=unit.path) | Q(unit__path__in=_ancestors(unit.path))
        )
        .select_related("unit", "created_by", "decided_by")
        .prefetch_related("items")
        .order_by("-created_at")[:200]
    )
    rows = [
        (
            p,
            p.state == Programme.State.PENDING
            and can(request.user, p.unit, "bulletin.approve")
            and p.created_by_id != request.user.pk,
        )
        for p in programmes
    ]
    context = {
        "unit": unit,
        "rows": rows,
        "waiting": sum(1 for p in programmes if p.state == Programme.State.PENDING),
        "can_edit": can(request.user, unit, "schedule.edit"),
    }
    return render(request, "broadcast/programmes.html", context)


@login_required
@require_POST
def programme_decide(request: HttpRequest, programme_id: int) -> HttpResponse:
    p = Programme.objects.select_related("unit").filter(pk=programme_id).first()
    if p is None:
        raise Http404(_("Không tìm thấy chương trình."))
    access_unit(request.user, p.unit, "bulletin.approve")
    approve = request.POST.get("decision") == "approve"
    try:
        approval.do_decide_programme(
            p, approve=approve, actor=request.user, note=request.POST.get("note", ""), request=request
        )
    except Refusal as exc:
        messages.error(request, exc.message)
    else:
        if approve:
            messages.success(
                request, _("Đã duyệt chương trình “%(t)s”; có thể đặt lịch phát.") % {"t": p.title}
            )
        else:
            messages.success(request, _("Đã trả lại chương trình “%(t)s”.") % {"t": p.title})
    return redirect("broadcast:programmes")
