"""Periodic reports (issue 12, docs/analytics.md "Periodic reports"): a unit's report for a month, quarter, six
months, year or custom period, made by a background job with a progress bar, in XLSX, PDF and DOCX.

The job first takes a **snapshot**: every figure the documents show (KPIs, the drill-down of communes or clusters
with their sum, for a province the communes' own reports of the same period), the period, the unit, the rollup
rows it was made from (count and sum) and when it was made. The snapshot is stored on the report with a digest of
its figures; the three documents are drawn from it alone (:mod:`loa.analytics.documents`), so drawing them again
gives the same bytes, and taking the snapshot again from the same rollups gives the same digest.

``check_*`` validates, ``do_*`` changes state; who may do what is decided in :mod:`loa.analytics.access`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from loa.analytics.kpis import DRILL_HEADER, GROUPS, KPIS, Period, drill_down
from loa.analytics.models import Report, ReportNotice, UnitDailyStat
from loa.analytics.periods import MAX_DAYS, month_of, today
from loa.audit.log import record
from loa.broadcast.recurrence import LOCAL_TZ
from loa.errors import Refusal
from loa.units.models import Kind, Level, Unit

JOB_KIND = "analytics.report"
TASK = "loa.analytics.reports.generate_report_task"
FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
SNAPSHOT_VERSION = 1

PERIOD_PATTERNS = {
    Report.Kind.MONTH: (re.compile(r"^(\d{4})-(\d{1,2})$"), "YYYY-MM, ví dụ 2026-11"),
    Report.Kind.QUARTER: (re.compile(r"^(\d{4})-Q([1-4])$", re.I), "YYYY-Qn, ví dụ 2026-Q4"),
    Report.Kind.HALF: (re.compile(r"^(\d{4})-H([12])$", re.I), "YYYY-Hn, ví dụ 2026-H2 (6 tháng cuối năm)"),
    Report.Kind.YEAR: (re.compile(r"^(\d{4})$"), "YYYY, ví dụ 2026"),
}


def _months(year: int, m1: int, m2: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, m1, 1), month_of(dt.date(year, m2, 1))[1]


def check_report_period(
    kind: str, period: str | None = None, first: dt.date | None = None, last: dt.date | None = None
) -> tuple[dt.date, dt.date]:
    """The days a report of ``kind`` covers: ``period`` is ``2026-11`` (month), ``2026-Q4`` (quarter), ``2026-H2``
    (six months), ``2026`` (year); a custom report gives ``first`` and ``last`` (at most 366 days). A period that
    has not started yet is refused; one that has started but not ended is allowed (the figures so far)."""
    if kind not in Report.Kind.values:
        raise Refusal(
            "report_kind_invalid",
            "Loại kỳ báo cáo phải là tháng, quý, sáu tháng, năm hoặc tùy chọn "
            "(month, quarter, half, year, custom).",
            field="kind",
        )
    if kind == Report.Kind.CUSTOM:
        if first is None or last is None:
            raise Refusal(
                "period_missing", "Báo cáo tùy chọn cần ngày bắt đầu và ngày kết thúc.", field="from"
            )
        if last < first:
            raise Refusal("period_reversed", "Ngày kết thúc phải không sớm hơn ngày bắt đầu.", field="to")
        if (last - first).days >= MAX_DAYS:
            raise Refusal("period_too_long", f"Khoảng thời gian tối đa {MAX_DAYS} ngày.", field="to")
    else:
        pattern, example = PERIOD_PATTERNS[Report.Kind(kind)]
        m = pattern.match((period or "").strip())
        year = int(m.group(1)) if m else 0
        if not m or not 2000 <= year <= 2100:
            raise Refusal("report_period_invalid", f"Kỳ báo cáo phải có dạng {example}.", field="period")
        if kind == Report.Kind.MONTH:
            if not 1 <= int(m.group(2)) <= 12:
                raise Refusal("report_period_invalid", f"Kỳ báo cáo phải có dạng {example}.", field="period")
            first, last = month_of(dt.date(year, int(m.group(2)), 1))
        elif kind == Report.Kind.QUARTER:
            q = int(m.group(2))
            first, last = _months(year, 3 * q - 2, 3 * q)
        elif kind == Report.Kind.HALF:
            first, last = _months(year, 1, 6) if m.group(2) == "1" else _months(year, 7, 12)
        else:
            first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    if first > today():
        raise Refusal("report_period_future", "Kỳ báo cáo chưa bắt đầu.", field="period")
    return first, last


def period_code(kind: str, first: dt.date) -> str:
    """The ``period`` string of a report (the inverse of :func:`check_report_period`)."""
    if kind == Report.Kind.MONTH:
        return f"{first:%Y-%m}"
    if kind == Report.Kind.QUARTER:
        return f"{first.year}-Q{(first.month - 1) // 3 + 1}"
    if kind == Report.Kind.HALF:
        return f"{first.year}-H{1 if first.month <= 6 else 2}"
    if kind == Report.Kind.YEAR:
        return str(first.year)
    return ""


ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def period_words(kind: str, first: dt.date, last: dt.date) -> str:
    """The period in the words of a report's title: "tháng 12 năm 2026", "quý IV năm 2026"…"""
    if kind == Report.Kind.MONTH:
        return f"tháng {first.month} năm {first.year}"
    if kind == Report.Kind.QUARTER:
        return f"quý {ROMAN[(first.month - 1) // 3 + 1]} năm {first.year}"
    if kind == Report.Kind.HALF:
        return f"6 tháng {'đầu' if first.month <= 6 else 'cuối'} năm {first.year}"
    if kind == Report.Kind.YEAR:
        return f"năm {first.year}"
    return f"từ ngày {first:%d/%m/%Y} đến ngày {last:%d/%m/%Y}"


# ---- who issues the report (Decree 30/2020: issuing body, place name) ----------------------------------------

_PREFIXES = {Kind.TINH: "Tỉnh", Kind.THANH_PHO: "Thành phố", Kind.XA: "Xã", Kind.PHUONG: "Phường",
             Kind.DAC_KHU: "Đặc khu"}  # fmt: skip


def full_name(unit: Unit) -> str:
    """ "Tỉnh Quảng Ninh", "Phường Hà Tu": the name with its kind, as the issuing body's line needs."""
    prefix = _PREFIXES.get(Kind(unit.kind)) if unit.kind in Kind.values else None
    if prefix and not unit.name.lower().startswith(prefix.lower()):
        return f"{prefix} {unit.name}"
    return unit.name


def place_name(unit: Unit) -> str:
    """The place name (địa danh) of the date line: the unit's name without its kind ("Hà Tu", "Huế")."""
    name = unit.name
    for prefix in sorted(_PREFIXES.values(), key=len, reverse=True):
        if name.lower().startswith(prefix.lower() + " "):
            return name[len(prefix) + 1 :]
    return name


def default_recipients(unit: Unit) -> str:
    if unit.level == Level.PROVINCE:
        return "Bộ Văn hóa, Thể thao và Du lịch (Cục Thông tin cơ sở);\nLưu: VT."
    parent = unit.parent
    above = f"UBND {full_name(parent)}" if parent is not None else "UBND cấp trên"
    return f"{above} (Sở Văn hóa, Thể thao và Du lịch);\nLưu: VT."


class ReportFields(TypedDict):
    number: str
    recipients: str
    signer_title: str
    signer_name: str


def check_report_fields(number: str, recipients: str, signer_title: str, signer_name: str) -> ReportFields:
    fields: ReportFields = {
        "number": number.strip(),
        "recipients": recipients.strip(),
        "signer_title": signer_title.strip(),
        "signer_name": signer_name.strip(),
    }
    for name, limit in (("number", 64), ("signer_title", 100), ("signer_name", 100), ("recipients", 2000)):
        if len(str(fields[name])) > limit:  # type: ignore[literal-required]
            raise Refusal("field_too_long", f"Tối đa {limit} ký tự.", field=name)
    return fields


# ---- state changes -------------------------------------------------------------------------------------------


def do_create_report(
    unit: Unit,
    kind: str,
    first: dt.date,
    last: dt.date,
    *,
    actor: Any,
    scheduled: bool = False,
    number: str = "",
    recipients: str = "",
    signer_title: str = "",
    signer_name: str = "",
) -> Report:
    """Create the report and queue the job that makes it (run at once when ``LOA_JOBS_INLINE`` is set)."""
    from loa.jobs.run import enqueue

    with transaction.atomic():
        report = Report.objects.create(
            unit=unit,
            kind=kind,
            first=first,
            last=last,
            number=number,
            recipients=recipients or default_recipients(unit),
            signer_title=signer_title or "CHỦ TỊCH",
            signer_name=signer_name,
            scheduled=scheduled,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        record(
            "analytics.report_requested",
            actor=actor,
            obj=report,
            unit=unit,
            message=f"Lập báo cáo {period_words(kind, first, last)} của {unit.name}",
            data={"kind": kind, "first": first.isoformat(), "last": last.isoformat(), "scheduled": scheduled},
        )
    job = enqueue(JOB_KIND, TASK, user=actor, unit=unit, report_id=report.pk)
    Report.objects.filter(pk=report.pk).update(job=job)
    report.refresh_from_db()
    return report


def reports_dir(report_id: int) -> Path:
    return Path(settings.DATA_DIR) / "reports" / str(int(report_id))


def stored_path(report_id: int, snapshot: dict[str, Any], fmt: str) -> Path:
    """Where a document is kept: named after a hash of the whole snapshot it is drawn from, so a name always
    stands for the same bytes (two databases sharing a data folder, as parallel test workers do, cannot mix up
    their report 1)."""
    key = hashlib.sha256(json.dumps(snapshot, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:24]
    return reports_dir(report_id) / f"bao-cao-{key}.{fmt}"


def file_path(report: Report, fmt: str) -> Path:
    return stored_path(report.pk, report.snapshot, fmt)


def file_name(report: Report, fmt: str) -> str:
    code = period_code(report.kind, report.first) or f"{report.first}-{report.last}"
    return f"bao-cao-{report.unit.code}-{code}.{fmt}"


def generate_report_task(*, job_id: int, report_id: int) -> dict[str, Any]:
    """The job: take the snapshot (progress up to 70 %), draw the three documents, store them."""
    from loa.analytics import documents
    from loa.jobs.run import set_progress

    report = Report.objects.select_related("unit", "unit__parent").get(pk=report_id)

    def progress(fraction: float, message: str) -> None:
        set_progress(job_id, min(99, int(fraction * 100)), message)

    with translation.override("vi"):
        taken = take_snapshot(report, progress=lambda f, m: progress(0.05 + 0.65 * f, m))
        # the documents are drawn from the snapshot as the database keeps it (PostgreSQL's jsonb orders an object's
        # keys its own way), so that drawing them again later from the stored report gives the same bytes
        Report.objects.filter(pk=report.pk).update(snapshot=taken)
        snapshot = Report.objects.values_list("snapshot", flat=True).get(pk=report.pk)
        folder = reports_dir(report.pk)
        folder.mkdir(parents=True, exist_ok=True)
        drawn: dict[str, int] = {}
        for i, fmt in enumerate(FORMATS):
            progress(0.7 + 0.1 * i, _("Đang tạo tệp %(fmt)s") % {"fmt": fmt.upper()})
            content = documents.render(snapshot, fmt)
            final = stored_path(report.pk, snapshot, fmt)
            tmp = folder / f".{final.name}.{os.getpid()}.tmp"
            tmp.write_bytes(content)
            tmp.replace(final)
            drawn[fmt] = len(content)
    digest = figures_digest(snapshot)
    generated_at = dt.datetime.fromisoformat(snapshot["generated_at"])
    with transaction.atomic():
        Report.objects.filter(pk=report.pk).update(
            snapshot=snapshot, digest=digest, generated_at=generated_at
        )
        if report.scheduled:
            _notify(report)
    return {"report_id": report.pk, "digest": digest, "bytes": drawn}


def _notify(report: Report) -> int:
    """Notices to the people responsible for the unit: whoever holds a role that may make its reports on the
    unit itself (not above: a province's officers see their communes' reports in the consolidation)."""
    from loa.accounts.models import RoleAssignment
    from loa.accounts.roles import roles_allowing

    users = set(
        RoleAssignment.objects.filter(unit=report.unit, role__in=roles_allowing("report.create")).values_list(
            "user_id", flat=True
        )
    )
    ReportNotice.objects.bulk_create(
        [ReportNotice(report=report, user_id=u) for u in sorted(users)], ignore_conflicts=True
    )
    return len(users)


# ---- the snapshot ---------------------------------------------------------------------------------------------


def _number(v: Any) -> Any:
    """JSON numbers as the documents show them: an integral float becomes an int (2.0 → 2)."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def take_snapshot(
    report: Report,
    *,
    progress: Callable[[float, str], None] = lambda f, m: None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Every figure the documents show, with where they come from."""
    unit = report.unit
    period = Period(unit, report.first, report.last)
    progress(0.0, _("Đang đọc số liệu tổng hợp"))
    source = UnitDailyStat.objects.filter(
        unit__path__startswith=unit.path, day__gte=report.first, day__lte=report.last
    ).aggregate(rows=Count("id"), total=Sum("value"), days=Count("day", distinct=True))
    kpis = []
    for i, kpi in enumerate(KPIS):
        value = kpi.compute(period)
        item: dict[str, Any] = {
            "key": kpi.key,
            "name": str(kpi.name),
            "group": kpi.group,
            "unit": str(kpi.unit),
            "formula": str(kpi.formula),
        }
        if isinstance(value, dict):
            item["breakdown"] = [[str(k), _number(v)] for k, v in value.items()]
            item["value"] = _number(sum(value.values()))
        else:
            item["value"] = _number(value)
        kpis.append(item)
        progress(0.1 + 0.6 * (i + 1) / len(KPIS), _("Đang tính chỉ số: %(name)s") % {"name": kpi.name})
    progress(0.75, _("Đang tổng hợp theo đơn vị trực thuộc"))
    rows = drill_down(period)
    table = [[_number(c) for c in r.cells()] + [r.is_device] for r in rows]
    children_reports: dict[str, dict[str, Any]] = {}
    if unit.level == Level.PROVINCE:
        for r in (
            Report.objects.filter(
                unit__parent=unit, first=report.first, last=report.last, generated_at__isnull=False
            )
            .order_by("unit__code", "-generated_at")
            .select_related("unit")
        ):
            children_reports.setdefault(r.unit.code, {"id": r.pk, "number": r.number, "digest": r.digest})
    progress(1.0, _("Đã có đủ số liệu"))
    generated = (now or timezone.now()).astimezone(dt.UTC).replace(microsecond=0)
    return {
        "version": SNAPSHOT_VERSION,
        "report_id": report.pk,
        "unit": {
            "code": unit.code,
            "name": unit.name,
            "full_name": full_name(unit),
            "level": unit.level,
            "place": place_name(unit),
            "parent": full_name(unit.parent) if unit.parent_id and unit.parent is not None else "",
        },
        "kind": report.kind,
        "first": report.first.isoformat(),
        "last": report.last.isoformat(),
        "period_words": period_words(report.kind, report.first, report.last),
        "number": report.number,
        "recipients": [ln.strip(" -;") for ln in report.recipients.splitlines() if ln.strip(" -;")],
        "signer_title": report.signer_title,
        "signer_name": report.signer_name,
        "groups": {g: str(n) for g, n in GROUPS.items()},
        "kpis": kpis,
        "header": [str(h) for h in DRILL_HEADER],
        "rows": table,
        "children_reports": children_reports,
        "source": {
            "rollup_rows": int(source["rows"] or 0),
            "rollup_sum": round(float(source["total"] or 0.0), 3),
            "rollup_days": int(source["days"] or 0),
            "command": f"loa analytics rebuild --from {report.first.isoformat()} --to {report.last.isoformat()}",
        },
        "generated_at": generated.isoformat(),
    }


def figures_digest(snapshot: dict[str, Any]) -> str:
    """SHA-256 of the figures and where they come from (everything but when the snapshot was taken)."""
    body = {k: v for k, v in snapshot.items() if k not in ("generated_at", "report_id")}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def generated_local(snapshot: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(snapshot["generated_at"]).astimezone(LOCAL_TZ)


# ---- the scheduled monthly reports ----------------------------------------------------------------------------

# the month's last day receives late play logs for a day (rollup.LATE_WINDOW): its report waits for the 2nd
SCHEDULE_FROM_DAY = 2


def do_schedule_monthly_reports(now: dt.datetime | None = None) -> dict[str, int]:
    """The periodic job: from the 2nd of a month, last month's report of every commune that has clusters, then of
    every province with such communes (so the province's consolidation lists its communes' reports). Each is made
    once (a scheduled report of the same unit and month is not made again)."""
    from loa.accounts.system import SYSTEM
    from loa.fleet.models import Device

    local = (now or timezone.now()).astimezone(LOCAL_TZ).date()
    if local.day < SCHEDULE_FROM_DAY:
        return {"created": 0}
    first, last = month_of(local.replace(day=1) - dt.timedelta(days=1))
    paths = set(Device.objects.active().values_list("unit__path", flat=True))
    communes = [
        u
        for u in Unit.objects.filter(level=Level.COMMUNE, is_active=True).order_by("path")
        if any(p.startswith(u.path) for p in paths)
    ]
    provinces = Unit.objects.filter(pk__in={c.parent_id for c in communes}).order_by("path")
    done = set(
        Report.objects.filter(scheduled=True, first=first, last=last).values_list("unit_id", flat=True)
    )
    created = 0
    for unit in [*communes, *provinces]:
        if unit.pk in done:
            continue
        do_create_report(unit, Report.Kind.MONTH, first, last, actor=SYSTEM, scheduled=True)
        created += 1
    return {"created": created}


def report_file(report: Report, fmt: str) -> tuple[bytes, str, str]:
    """The stored document; drawn again from the snapshot if the file is gone (the same bytes)."""
    if fmt not in FORMATS:
        raise Refusal("format_invalid", "Định dạng phải là xlsx, pdf hoặc docx.", field="format")
    if report.generated_at is None or not report.snapshot:
        raise Refusal("report_not_ready", "Báo cáo chưa lập xong.", status=409)
    path = file_path(report, fmt)
    if path.exists():
        content = path.read_bytes()
    else:
        from loa.analytics import documents

        with translation.override("vi"):
            content = documents.render(report.snapshot, fmt)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return content, FORMATS[fmt], file_name(report, fmt)
