"""Analytics API: the KPIs and the drill-down of a unit for a period, scoped like everything else (a unit outside
the caller's scope is 404)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from loa.accounts.access import access_unit_code
from loa.analytics.kpis import GROUPS, Period, compute, drill_down
from loa.analytics.periods import check_period
from loa.analytics.report import check_month, monthly_workbook
from loa.api.auth import token_of
from loa.api.errors import ERROR_RESPONSES
from loa.api.types import ApiDate

router = Router()
ACTION = "unit.view"


class PeriodIn(Schema):
    first: ApiDate | None = Field(
        None, alias="from", description="ngày đầu (giờ Việt Nam), mặc định: đầu tháng"
    )
    last: ApiDate | None = Field(None, alias="to", description="ngày cuối (kể cả), mặc định: hôm nay")


class KpiOut(Schema):
    key: str
    name: str
    formula: str
    unit: str
    group: str
    group_name: str
    value: float | None = Field(None, description="con số (null: chưa có dữ liệu)")
    breakdown: dict[str, float] | None = Field(
        None, description="theo nhóm (lý do, lĩnh vực…), nếu KPI là bảng"
    )
    target: float | None = Field(None, description="mục tiêu quốc gia (%), nếu có")
    local_target: float | None = Field(None, description="mục tiêu do tỉnh tự đặt (%), nếu có")


class KpisOut(Schema):
    unit_code: str
    unit_name: str
    first: dt.date
    last: dt.date
    kpis: list[KpiOut]


class DrillRowOut(Schema):
    code: str
    name: str
    is_device: bool
    devices: int
    availability: float | None
    planned: int
    played: int
    success: float | None
    planned_h: float
    played_h: float
    airtime_h: float


def _period(request: HttpRequest, unit_code: str, q: PeriodIn) -> Period:
    unit = access_unit_code(request.user, unit_code, ACTION, token_of(request))
    first, last = check_period(q.first, q.last)
    return Period(unit, first, last)


@router.get(
    "/units/{unit_code}/kpis", response={200: KpisOut, **ERROR_RESPONSES}, summary="Các chỉ số của đơn vị"
)
def unit_kpis(request: HttpRequest, unit_code: str, q: Query[PeriodIn]) -> Any:
    p = _period(request, unit_code, q)
    items = []
    for k, v in compute(p):
        items.append(
            {
                "key": k.key, "name": str(k.name), "formula": str(k.formula), "unit": str(k.unit),
                "group": k.group, "group_name": str(GROUPS[k.group]),
                "value": v if not isinstance(v, dict) else sum(v.values()),
                "breakdown": v if isinstance(v, dict) else None,
                "target": k.target, "local_target": p.local_targets.get(k.key) if k.target else None,
            }
        )  # fmt: skip
    return {
        "unit_code": p.unit.code,
        "unit_name": p.unit.name,
        "first": p.first,
        "last": p.last,
        "kpis": items,
    }


@router.get(
    "/units/{unit_code}/drill-down",
    response={200: list[DrillRowOut], **ERROR_RESPONSES},
    summary="Số liệu theo xã (của tỉnh) hoặc theo cụm loa (của xã)",
)
def unit_drill_down(request: HttpRequest, unit_code: str, q: Query[PeriodIn]) -> Any:
    rows = drill_down(_period(request, unit_code, q))
    out = []
    for r in rows:
        c = r.cells()
        out.append(
            {
                "code": r.code, "name": r.name, "is_device": r.is_device, "devices": r.devices,
                "availability": r.availability, "planned": c[4], "played": c[5], "success": r.success,
                "planned_h": c[7], "played_h": c[8], "airtime_h": c[9],
            }
        )  # fmt: skip
    return out


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/units/{unit_code}/report.xlsx",
    response={200: None, **ERROR_RESPONSES},
    summary="Báo cáo tháng của đơn vị (XLSX)",
    openapi_extra={
        "responses": {
            200: {
                "description": "XLSX",
                "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
    description="Một trang tính cho mỗi nhóm chỉ số và một trang theo xã/cụm loa; `month` dạng YYYY-MM (mặc định: tháng này).",
)
def unit_monthly_report(request: HttpRequest, unit_code: str, month: str | None = None) -> Any:
    unit = access_unit_code(request.user, unit_code, ACTION, token_of(request))
    first, last = check_month(month)
    response = HttpResponse(
        monthly_workbook(unit, first, last),
        content_type=XLSX,
    )
    response["Content-Disposition"] = f'attachment; filename="bao-cao-{unit.code}-{first:%Y-%m}.xlsx"'
    return response


# ---- periodic reports (a background job; XLSX, PDF, DOCX) ----------------------------------------------------


class ReportIn(Schema):
    kind: str = Field(..., description="month | quarter | half | year | custom")
    period: str | None = Field(
        None, description="2026-11 (month), 2026-Q4 (quarter), 2026-H2 (six months), 2026 (year)"
    )
    first: ApiDate | None = Field(None, alias="from", description="ngày đầu (chỉ với kind=custom)")
    last: ApiDate | None = Field(None, alias="to", description="ngày cuối, kể cả (chỉ với kind=custom)")
    number: str = Field("", description="số, ký hiệu văn bản (để trống: văn thư điền khi ban hành)")
    recipients: str = Field("", description="nơi nhận, mỗi dòng một nơi (để trống: mặc định theo cấp)")
    signer_title: str = Field("", description="chức vụ người ký (mặc định: CHỦ TỊCH)")
    signer_name: str = ""


class ReportOut(Schema):
    id: int
    unit_code: str
    unit_name: str
    kind: str
    first: dt.date
    last: dt.date
    number: str
    scheduled: bool
    state: str = Field(..., description="queued | running | done | failed")
    progress: int = Field(..., description="0–100")
    message: str
    generated_at: dt.datetime | None
    digest: str = Field(..., description="SHA-256 của số liệu (giống nhau khi lập lại từ cùng số liệu)")
    source: dict[str, Any] = Field(
        ..., description="số liệu đã dùng: số dòng tổng hợp, tổng giá trị, lệnh lập lại"
    )
    downloads: dict[str, str] = Field(..., description="định dạng → đường dẫn tải (khi đã xong)")


def report_out(report: Any) -> dict[str, Any]:
    from django.urls import reverse

    from loa.analytics.reports import FORMATS
    from loa.jobs.lease import stalled_note

    job = report.job
    done = report.generated_at is not None
    state = "done" if done else (job.state if job is not None else "failed")
    return {
        "id": report.pk,
        "unit_code": report.unit.code,
        "unit_name": report.unit.name,
        "kind": report.kind,
        "first": report.first,
        "last": report.last,
        "number": report.number,
        "scheduled": report.scheduled,
        "state": state,
        "progress": 100 if done else (job.progress if job is not None else 0),
        "message": "" if done else ((stalled_note(job) or job.message) if job is not None else ""),
        "stalled": "" if done or job is None else stalled_note(job),  # the page's warning (not in ReportOut)
        "generated_at": report.generated_at,
        "digest": report.digest,
        "source": (report.snapshot or {}).get("source", {}),
        "downloads": {
            f: reverse("api:analytics_report_download", args=[report.pk]) + f"?format={f}" for f in FORMATS
        }
        if done
        else {},
    }


@router.post(
    "/units/{unit_code}/reports",
    response={202: ReportOut, **ERROR_RESPONSES},
    summary="Lập báo cáo định kỳ (tác vụ nền)",
    description="Tháng, quý, sáu tháng, năm hoặc tùy chọn; theo dõi tiến độ ở `GET /reports/{report_id}`, tải "
    "tệp XLSX, PDF, DOCX khi `state` là `done`. Cần quyền `report.create` trên đơn vị.",
)
def create_report(request: HttpRequest, unit_code: str, body: ReportIn) -> Any:
    from loa.analytics.access import access_report_create
    from loa.analytics.reports import check_report_fields, check_report_period, do_create_report

    unit = access_unit_code(request.user, unit_code, ACTION, token_of(request))
    access_report_create(request.user, unit, token_of(request))
    first, last = check_report_period(body.kind, body.period, body.first, body.last)
    fields = check_report_fields(body.number, body.recipients, body.signer_title, body.signer_name)
    report = do_create_report(unit, body.kind, first, last, actor=request.user, **fields)
    return Status(202, report_out(report))


@router.get(
    "/units/{unit_code}/reports",
    response={200: list[ReportOut], **ERROR_RESPONSES},
    summary="Các báo cáo định kỳ của đơn vị (tỉnh: cả báo cáo của các xã)",
)
def list_reports(request: HttpRequest, unit_code: str) -> Any:
    from loa.analytics.access import visible_reports

    unit = access_unit_code(request.user, unit_code, ACTION, token_of(request))
    return [report_out(r) for r in visible_reports(request.user, unit, token_of(request))[:200]]


@router.get(
    "/reports/{report_id}",
    response={200: ReportOut, **ERROR_RESPONSES},
    summary="Trạng thái, tiến độ và số liệu đã dùng của một báo cáo",
)
def get_report(request: HttpRequest, report_id: int) -> Any:
    from loa.analytics.access import access_report

    return report_out(access_report(request.user, report_id, token_of(request)))


@router.get(
    "/reports/{report_id}/download",
    response={200: None, **ERROR_RESPONSES},
    url_name="analytics_report_download",
    summary="Tải báo cáo (XLSX, PDF hoặc DOCX)",
    openapi_extra={
        "responses": {
            200: {
                "description": "Tệp báo cáo",
                "content": {
                    XLSX: {"schema": {"type": "string", "format": "binary"}},
                    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {
                        "schema": {"type": "string", "format": "binary"}
                    },
                },
            }
        }
    },
)
def download_report(request: HttpRequest, report_id: int, format: str = "pdf") -> Any:
    from loa.analytics.access import access_report
    from loa.analytics.reports import report_file

    report = access_report(request.user, report_id, token_of(request))
    content, content_type, name = report_file(report, format)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
