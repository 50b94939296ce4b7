"""The unit's "Giới hạn phát" page: each guardrail explained in one line, the value inherited from above and who
set it, and (for approvers) a form that saves through :func:`loa.broadcast.services.do_set_guardrails` — the
same check-and-audit as the API; below a province the form can only tighten."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from loa.accounts.access import access_unit, access_unit_code, can
from loa.audit.models import AuditEntry
from loa.broadcast import guardrails as gr
from loa.broadcast import services
from loa.broadcast.compile import LimitsIndex, limits_of
from loa.broadcast.models import Guardrail
from loa.broadcast.schedule_form import _weekday
from loa.errors import Refusal
from loa.units.models import Level, Unit

NUMBER_FIELDS = ("max_sessions_per_day", "max_days_per_week", "max_minutes_per_session", "max_volume")


@dataclass(frozen=True)
class Field:
    name: str
    label: Any
    help: Any


FIELDS = (
    Field(
        "windows",
        gettext_lazy("Khung giờ được phát"),
        gettext_lazy(
            "Ngoài các khung giờ này loa im lặng (trừ phát khẩn cấp); ví dụ 05:00-07:00, 17:00-21:00."
        ),
    ),
    Field(
        "max_sessions_per_day",
        gettext_lazy("Số buổi phát tối đa mỗi ngày"),
        gettext_lazy("Mỗi lần loa bật lên để phát theo lịch là một buổi."),
    ),
    Field(
        "allowed_weekdays",
        gettext_lazy("Các ngày được phát"),
        gettext_lazy("Bỏ chọn một ngày để loa không phát theo lịch vào ngày đó."),
    ),
    Field(
        "max_days_per_week",
        gettext_lazy("Số ngày phát tối đa mỗi tuần"),
        gettext_lazy("Lịch phát không được chiếm nhiều ngày hơn trong một tuần."),
    ),
    Field(
        "max_minutes_per_session",
        gettext_lazy("Số phút tối đa mỗi buổi"),
        gettext_lazy("Một buổi phát dài hơn (kể cả tiếp sóng đài cấp trên) bị từ chối."),
    ),
    Field(
        "max_volume",
        gettext_lazy("Âm lượng tối đa (0–100)"),
        gettext_lazy("Lịch phát không vượt mức này; phát khẩn cấp vẫn dùng mức khẩn cấp."),
    ),
)


def value_text(name: str, limits: gr.Limits) -> str:
    """One limit as an officer reads it."""
    value = getattr(limits, name)
    if name == "windows":
        return gr.windows_text(value)
    if value is None:
        return _("không giới hạn")
    if name == "allowed_weekdays":
        return ", ".join(str(_weekday(d)) for d in sorted(value)) if value else _("không ngày nào")
    return str(value)


def _setter(entry: AuditEntry | None) -> str:
    if entry is None:
        return ""
    who = (
        entry.actor_label
        or (getattr(entry.actor, "full_name", "") or str(entry.actor or ""))
        or _("hệ thống")
    )
    return _("%(who)s đặt ngày %(day)s") % {
        "who": who,
        "day": timezone.localtime(entry.at).strftime("%d/%m/%Y"),
    }


def _rows(unit: Unit) -> list[dict[str, Any]]:
    """Per field: the unit's own value, what comes from above (and from whom), and what applies."""
    ancestors = [u for u in unit.ancestors() if u.pk != unit.pk]
    parent = unit.parent
    above = LimitsIndex([parent.path]).effective(parent.path) if parent is not None else gr.DEFAULT_LIMITS
    own = limits_of(Guardrail.objects.filter(unit=unit).first())
    applied = LimitsIndex([unit.path]).effective(unit.path)
    rows_by_unit = {g.unit_id: limits_of(g) for g in Guardrail.objects.filter(unit__in=ancestors)}
    last_change = {}
    for entry in AuditEntry.objects.filter(
        action="broadcast.guardrails_changed", unit_code__in=[u.code for u in [*ancestors, unit]]
    ).order_by("at"):
        last_change[entry.unit_code] = entry
    rows = []
    for f in FIELDS:
        source = next(
            (u for u in reversed(ancestors) if getattr(rows_by_unit.get(u.pk), f.name, None) is not None),
            None,
        )
        if source is not None:
            origin = _("theo %(level)s %(name)s") % {
                "level": source.get_kind_display().lower(),
                "name": source.name,
            }
            setter = _setter(last_change.get(source.code))
        else:
            origin, setter = _("mặc định của hệ thống"), ""
        inherited = value_text(f.name, above)
        if source is None and getattr(above, f.name) is None:
            inherited = _("không giới hạn")
        else:
            inherited = f"{origin}: {inherited}"
        rows.append(
            {
                "field": f,
                "own": getattr(own, f.name),
                "own_text": value_text(f.name, own) if getattr(own, f.name) is not None else "",
                "inherited": inherited,
                "inherited_by": setter,
                "own_by": _setter(last_change.get(unit.code)) if getattr(own, f.name) is not None else "",
                "applied": value_text(f.name, applied),
            }
        )
    return rows


def _form_values(post: Any, unit: Unit) -> dict[str, Any]:
    """The form as the values :func:`services.guardrail_limits` checks; a blank field inherits."""
    values: dict[str, Any] = {}
    raw = post.get("windows", "").strip()
    if raw:
        pairs = []
        for part in raw.replace(";", ",").split(","):
            bits = [b.strip() for b in part.replace("–", "-").split("-")]
            if len(bits) != 2 or not all(bits):
                raise gr.GuardrailError(
                    "guardrail_windows_format", _("Khung giờ viết như 05:00-07:00, 17:00-21:00.")
                )
            pairs.append(bits)
        values["windows"] = pairs
    else:
        values["windows"] = None
    for name in NUMBER_FIELDS:
        text = post.get(name, "").strip()
        try:
            values[name] = int(text) if text else None
        except ValueError:
            label = next(f.label for f in FIELDS if f.name == name)
            raise gr.GuardrailError(
                "guardrail_invalid", _("%(label)s phải là số.") % {"label": label}
            ) from None
    days = sorted({int(d) for d in post.getlist("allowed_weekdays") if d.isdigit() and 0 <= int(d) <= 6})
    parent = unit.parent
    above = LimitsIndex([parent.path]).effective(parent.path) if parent is not None else gr.DEFAULT_LIMITS
    inherited_days = sorted(above.allowed_weekdays) if above.allowed_weekdays is not None else list(range(7))
    values["allowed_weekdays"] = None if days == inherited_days else days
    return values


@login_required
@require_http_methods(["GET", "POST"])
def limits_page(request: HttpRequest, code: str) -> HttpResponse:
    unit = access_unit_code(request.user, code, "schedule.view")
    error, posted, status = "", None, 200
    if request.method == "POST":
        access_unit(request.user, unit, "schedule.override")
        try:
            services.do_set_guardrails(
                unit, _form_values(request.POST, unit), actor=request.user, request=request
            )
        except Refusal as exc:
            error, posted, status = exc.message, request.POST, 400
        else:
            messages.success(request, _("Đã lưu giới hạn phát của %(name)s.") % {"name": unit.name})
            return redirect("broadcast:limits", code=unit.code)
    rows = _rows(unit)
    own_windows = gr.windows_hhmm(limits_of(Guardrail.objects.filter(unit=unit).first()).windows)
    for r in rows:
        name = r["field"].name
        if posted is not None:
            r["input"] = posted.get(name, "")
        elif name == "windows":
            r["input"] = ", ".join(f"{a}-{b}" for a, b in own_windows)
        else:
            r["input"] = "" if r["own"] is None else r["own"]
    own_days = next(r["own"] for r in rows if r["field"].name == "allowed_weekdays")
    parent = unit.parent
    above = LimitsIndex([parent.path]).effective(parent.path) if parent is not None else gr.DEFAULT_LIMITS
    shown_days = own_days if own_days is not None else above.allowed_weekdays
    context = {
        "unit": unit,
        "rows": rows,
        "can_edit": can(request.user, unit, "schedule.override"),
        "is_province": unit.level == Level.PROVINCE,
        "weekdays": [
            (
                i,
                name,
                shown_days is None or i in shown_days,
                above.allowed_weekdays is None or i in above.allowed_weekdays,
            )
            for i, name in enumerate(_weekday(n) for n in range(7))
        ],
        "error": error,
        "posted": posted,
    }
    return render(request, "broadcast/limits.html", context, status=status)
