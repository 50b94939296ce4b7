"""What a province sets for feedback: its own categories (SLA hours, reminder, retention), routing rules, canned
answers; and (system admins) the national working calendar. Each change is audited as ``feedback.settings_changed``.
Categories without a unit are the national ones every province starts with (seeded; system admins edit them)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext_noop

from loa.audit.log import record
from loa.citizen.models import CalendarDay, CannedAnswer, FeedbackCategory, RoutingRule
from loa.errors import Refusal
from loa.units.models import Unit

# The seeded national categories (migration 0002), named here so that the catalogue gives them English.
SEEDED_NAMES = (
    gettext_noop("Thiên tai, sự cố khẩn cấp"),
    gettext_noop("An ninh, trật tự"),
    gettext_noop("Hạ tầng, giao thông, điện chiếu sáng"),
    gettext_noop("Môi trường, rác thải, vệ sinh"),
    gettext_noop("Loa truyền thanh (ồn, hỏng, sai giờ)"),
    gettext_noop("Thủ tục hành chính, dịch vụ công"),
    gettext_noop("Khác"),
)

NUMBERS = {
    "ack_hours": (1, 200, "Hạn tiếp nhận"),
    "answer_hours": (1, 2000, "Hạn trả lời"),
    "remind_hours": (0, 200, "Nhắc trước hạn"),
    "retention_days": (30, 3650, "Thời hạn lưu dữ liệu cá nhân"),
}


def categories_for(unit: Unit) -> Any:
    """The categories a place uses: the national ones and those of the units above it (or of itself)."""
    return FeedbackCategory.objects.filter(Q(unit__isnull=True) | Q(unit__in=list(unit.ancestors())))


def _number(raw: str, name: str) -> int:
    low, high, label = NUMBERS[name]
    value = int(raw) if str(raw).strip().isdigit() else -1
    if not (low <= value <= high):
        raise Refusal("bad_number", f"{label}: cần một số từ {low} đến {high}.", field=name)
    return value


def _about(
    what: str, unit: Unit | None, actor: Any, request: HttpRequest | None, data: dict[str, Any]
) -> dict[str, Any]:
    """The audit entry's fields of a settings change (recorded as ``feedback.settings_changed``)."""
    return {"actor": actor, "request": request, "unit": unit, "message": what, "data": data}


@transaction.atomic
def do_save_category(
    category: FeedbackCategory | None,
    values: dict[str, str],
    *,
    unit: Unit | None,
    actor: Any,
    request: HttpRequest | None = None,
) -> FeedbackCategory:
    """Create (``category`` None, owned by ``unit``) or change a category."""
    name = values.get("name", "").strip()[:120]
    if not name:
        raise Refusal("no_name", "Hãy ghi tên lĩnh vực.", field="name")
    numbers = {k: _number(values.get(k, ""), k) for k in NUMBERS}
    if category is None:
        code = re.sub(r"[^a-z0-9-]+", "-", values.get("code", "").strip().lower()).strip("-")[:30]
        if not code:
            raise Refusal("no_code", "Hãy ghi mã lĩnh vực (chữ không dấu, số, gạch ngang).", field="code")
        code = f"{unit.code}-{code}" if unit is not None else code
        if FeedbackCategory.objects.filter(code=code).exists():
            raise Refusal("code_taken", f"Mã {code} đã có.", field="code")
        category = FeedbackCategory(code=code, unit=unit)
    category.name = name
    for key, value in numbers.items():
        setattr(category, key, value)
    category.is_active = values.get("is_active") == "on"
    category.about_loudspeakers = values.get("about_loudspeakers") == "on"
    category.save()
    record(
        "feedback.settings_changed",
        **_about(f"Lĩnh vực {category.name}", unit, actor, request, {"category": category.code, **numbers}),
    )
    return category


@transaction.atomic
def do_add_route(
    category: FeedbackCategory, area: Unit, target: Unit, *, actor: Any, request: HttpRequest | None = None
) -> RoutingRule:
    rule, _created = RoutingRule.objects.update_or_create(
        category=category, area=area, defaults={"target": target}
    )
    record("feedback.settings_changed", **_about(
        f"{category.name}: {area.name} → {target.name}", area, actor, request,
        {"category": category.code, "area": area.code, "target": target.code},
    ))  # fmt: skip
    return rule


@transaction.atomic
def do_remove_route(rule: RoutingRule, *, actor: Any, request: HttpRequest | None = None) -> None:
    record(
        "feedback.settings_changed",
        **_about(
            f"Bỏ quy tắc {rule}",
            rule.area,
            actor,
            request,
            {"category": rule.category.code, "area": rule.area.code},
        ),
    )
    rule.delete()


@transaction.atomic
def do_add_canned_answer(
    unit: Unit, title: str, text: str, *, actor: Any, request: HttpRequest | None = None
) -> CannedAnswer:
    if not title.strip() or len(text.strip()) < 30:
        raise Refusal("bad_canned", "Mẫu trả lời cần tiêu đề và nội dung (ít nhất 30 ký tự).", field="text")
    canned = CannedAnswer.objects.create(unit=unit, title=title.strip()[:120], text=text.strip())
    record(
        "feedback.settings_changed",
        **_about(f"Mẫu trả lời {canned.title}", unit, actor, request, {"canned": canned.pk}),
    )
    return canned


@transaction.atomic
def do_remove_canned_answer(canned: CannedAnswer, *, actor: Any, request: HttpRequest | None = None) -> None:
    record(
        "feedback.settings_changed",
        **_about(f"Bỏ mẫu trả lời {canned.title}", canned.unit, actor, request, {"canned": canned.pk}),
    )
    canned.delete()


def check_day(raw: str) -> dt.date:
    try:
        return dt.datetime.strptime(raw.strip(), "%d/%m/%Y").date()
    except ValueError as exc:
        raise Refusal("bad_date", f"Ngày “{raw}” cần dạng dd/mm/yyyy.", field="date") from exc


@transaction.atomic
def do_set_calendar_day(
    day: dt.date, name: str, is_working: bool, *, actor: Any, request: HttpRequest | None = None
) -> CalendarDay:
    if not name.strip():
        raise Refusal("no_name", "Hãy ghi tên ngày nghỉ hoặc ngày làm bù.", field="name")
    row, _created = CalendarDay.objects.update_or_create(
        date=day, defaults={"name": name.strip()[:120], "is_working": is_working}
    )
    record(
        "feedback.settings_changed",
        **_about(f"Lịch: {row}", None, actor, request, {"date": day.isoformat(), "is_working": is_working}),
    )
    return row


@transaction.atomic
def do_remove_calendar_day(row: CalendarDay, *, actor: Any, request: HttpRequest | None = None) -> None:
    record(
        "feedback.settings_changed",
        **_about(f"Bỏ khỏi lịch: {row}", None, actor, request, {"date": row.date.isoformat()}),
    )
    row.delete()
