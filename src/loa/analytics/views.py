"""The analytics dashboard: a unit's KPIs for a period, the drill-down table (communes of a province, clusters of a
commune) with a chart, and its CSV export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from urllib.parse import quote

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from loa.accounts.access import access_unit, access_unit_code, can
from loa.analytics.access import access_report, access_report_create, visible_reports
from loa.analytics.kpis import (
    DRILL_HEADER,
    EXPIRY_DAYS,
    EXPIRY_WHAT,
    GROUPS,
    DrillRow,
    Period,
    compute,
    drill_down,
    expiry_label,
)
from loa.analytics.models import Report, ReportNotice
from loa.analytics.periods import check_period, month_of, today
from loa.analytics.report import check_month, monthly_workbook
from loa.analytics.reports import (
    FORMATS,
    check_report_fields,
    check_report_period,
    default_recipients,
    do_create_report,
    period_words,
    report_file,
)
from loa.console.current import SESSION_KEY, current_unit
from loa.console.dates import parse_day
from loa.exports import csv_document

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ACTION = "unit.view"


@login_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    """The dashboard of the unit the console is looking at."""
    unit = current_unit(request)
    access_unit(request.user, unit, ACTION)
    assert unit is not None
    target = reverse("analytics:unit", args=[unit.code])
    return redirect(f"{target}?{request.GET.urlencode()}" if request.GET else target)


def _period(request: HttpRequest, unit_code: str) -> Period:
    unit = access_unit_code(request.user, unit_code, ACTION)
    first, last = check_period(parse_day(request.GET.get("from")), parse_day(request.GET.get("to")))
    return Period(unit, first, last)


def _presets(unit_code: str) -> list[tuple[str, str]]:
    t = today()
    last_month = month_of(t.replace(day=1) - dt.timedelta(days=1))
    periods = [
        (_("Tháng này"), (t.replace(day=1), t)),
        (_("Tháng trước"), last_month),
        (_("7 ngày qua"), (t - dt.timedelta(days=6), t)),
        (_("30 ngày qua"), (t - dt.timedelta(days=29), t)),
    ]
    base = reverse("analytics:unit", args=[unit_code])
    return [
        (name, f"{base}?{urlencode({'from': a.isoformat(), 'to': b.isoformat()})}")
        for name, (a, b) in periods
    ]


COLUMN_ROWS = {2: "devices", 3: "offline", 10: "bulletins"}  # other figure columns: plays (proof of play)


CODE = "0CODE0"  # stands for a unit code or device id in a URL reversed once per page


def _url_patterns() -> dict[str, str]:
    """The drill-down's link targets reversed once with :data:`CODE` in place of the code (reversing each of the
    ~600 cells of a province's table was ~15 % of the page's time)."""
    names = [
        "fleet:device",
        "analytics:unit",
        *{"analytics:rows_" + k for k in (*COLUMN_ROWS.values(), "plays")},
    ]
    return {n: reverse(n, args=[CODE]) for n in names}


def _linked_cells(
    r: DrillRow, query: str, urls: dict[str, str] | None = None, header: list[str] | None = None
) -> list[tuple[object, object, str]]:
    """(header, value, link to the rows behind it) of a drill-down row: a unit's figures open the rows of that
    unit; a cluster's open the cluster's page."""
    urls = urls or _url_patterns()
    header = header or [str(h) for h in DRILL_HEADER]
    code = quote(r.code)

    def url(name: str) -> str:
        return urls[name].replace(CODE, code)

    out: list[tuple[object, object, str]] = []
    for i, (h, c) in enumerate(zip(header, r.cells(), strict=True)):
        if i == 0:
            href = url("fleet:device") if r.is_device else f"{url('analytics:unit')}?{query}"
        elif i == 1 or c is None:
            href = ""
        elif r.is_device:
            href = url("fleet:device")
        else:
            href = f"{url('analytics:rows_' + COLUMN_ROWS.get(i, 'plays'))}?{query}"
        out.append((h, c, href))
    return out


def _part_rows(p: Period, query: str) -> dict[str, str]:
    """Each line of the SIM and data-plan expiry table → the clusters it counts (the fleet list's filter)."""
    base = reverse("analytics:rows_expiring", args=[p.unit.code])
    return {
        expiry_label(what, days): f"{base}?{query}&{urlencode({'of': what, 'days': str(days)})}"
        for what in EXPIRY_WHAT
        for days in EXPIRY_DAYS
    }


@login_required
@require_GET
def unit_page(request: HttpRequest, unit_code: str) -> HttpResponse:
    p = _period(request, unit_code)
    groups: dict[str, list[dict[str, object]]] = {g: [] for g in GROUPS}
    query = urlencode({"from": p.first.isoformat(), "to": p.last.isoformat()})
    for k, v in compute(p):
        kind = rows_kind(k.key)
        href = f"{reverse('analytics:rows_' + kind, args=[p.unit.code])}?{query}"
        links = _part_rows(p, query) if k.key == "data_plans_expiring" else {}
        parts = [(name, n, links.get(name, href)) for name, n in v.items()] if isinstance(v, dict) else []
        item = {"kpi": k, "value": v, "is_table": isinstance(v, dict), "rows": kind, "href": href,
                "local_target": p.local_targets.get(k.key) if k.target else None}  # fmt: skip
        groups[k.group].append(item | {"parts": parts})
    rows = drill_down(p)
    urls = _url_patterns()
    header = [str(h) for h in DRILL_HEADER]  # translated once, not per cell
    chart = {
        "labels": [r.name for r in rows],
        "datasets": [
            {"label": _("Tỷ lệ sẵn sàng (%)"), "data": [r.availability for r in rows]},
            {"label": _("Tỷ lệ phát thành công (%)"), "data": [r.success for r in rows]},
        ],
    }
    return render(
        request,
        "analytics/unit.html",
        {
            "unit": p.unit,
            "period": p,
            "groups": [(GROUPS[g], items) for g, items in groups.items()],
            "header": header,
            "table": [(r, _linked_cells(r, query, urls, header)) for r in rows],
            "query": query,
            "presets": _presets(p.unit.code),
            "chart": chart,  # json_script encodes it
            "month": f"{p.first:%Y-%m}",
            "rollup_minutes": _rollup_minutes(),
        },
    )


def _rollup_minutes() -> int:
    """How often the periodic rollup runs (loa.jobs.periodic): the page says how fresh its figures are."""
    from loa.jobs.periodic import PERIODIC

    return next(job.minutes for job in PERIODIC if job.name == "loa.analytics.rollup")


@login_required
@require_GET
def drill_down_csv(request: HttpRequest, unit_code: str) -> HttpResponse:
    p = _period(request, unit_code)
    body = csv_document([str(h) for h in DRILL_HEADER], (r.cells() for r in drill_down(p)))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="so-lieu-{p.unit.code}-{p.first}-{p.last}.csv"'
    return response


@login_required
@require_GET
def monthly_report(request: HttpRequest, unit_code: str) -> HttpResponse:
    """The monthly report of the unit (``?month=YYYY-MM``) as an XLSX workbook."""
    unit = access_unit_code(request.user, unit_code, ACTION)
    first, last = check_month(request.GET.get("month"))
    response = HttpResponse(monthly_workbook(unit, first, last), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="bao-cao-{unit.code}-{first:%Y-%m}.xlsx"'
    return response


# ---- periodic reports ---------------------------------------------------------------------------------------


def _report_context(request: HttpRequest, report: Report) -> dict[str, object]:
    from loa.analytics.api import report_out

    out = report_out(report)
    return {
        "report": report,
        "out": out,
        "running": out["state"] in ("queued", "running"),
        "failed": out["state"] == "failed",
        "words": period_words(report.kind, report.first, report.last),
        "formats": list(FORMATS),
    }


@login_required
def reports(request: HttpRequest, unit_code: str) -> HttpResponse:
    """The reports of a unit (a province: its communes' too) and the form that makes one."""
    unit = access_unit_code(request.user, unit_code, ACTION)
    if request.method == "POST":
        access_report_create(request.user, unit)
        kind = request.POST.get("kind", "")
        first, last = check_report_period(
            kind,
            request.POST.get(f"period_{kind}") or request.POST.get("period"),
            parse_day(request.POST.get("from")),
            parse_day(request.POST.get("to")),
        )
        fields = check_report_fields(
            request.POST.get("number", ""),
            request.POST.get("recipients", ""),
            request.POST.get("signer_title", ""),
            request.POST.get("signer_name", ""),
        )
        report = do_create_report(unit, kind, first, last, actor=request.user, **fields)
        return redirect("analytics:report", report_id=report.pk)
    t = today()
    last_month = t.replace(day=1) - dt.timedelta(days=1)
    listed = list(visible_reports(request.user, unit)[:100])
    notices = ReportNotice.objects.filter(user=request.user.pk, seen_at__isnull=True).select_related(
        "report", "report__unit"
    )
    return render(
        request,
        "analytics/reports.html",
        {
            "unit": unit,
            "reports": [(r, period_words(r.kind, r.first, r.last)) for r in listed],
            "can_create": can(request.user, unit, "report.create"),
            "defaults": {
                "month": f"{last_month:%Y-%m}",
                "quarter": f"{last_month.year}-Q{(last_month.month - 1) // 3 + 1}",
                "half": f"{last_month.year}-H{1 if last_month.month <= 6 else 2}",
                "year": str(last_month.year),
                "recipients": default_recipients(unit),
            },
            "notices": list(notices[:20]),
        },
    )


@login_required
@require_GET
def report_page(request: HttpRequest, report_id: int) -> HttpResponse:
    report = access_report(request.user, report_id)
    ReportNotice.objects.filter(report=report, user=request.user.pk, seen_at__isnull=True).update(
        seen_at=timezone.now()
    )
    context = _report_context(request, report)
    if request.headers.get("HX-Request"):
        return render(request, "analytics/_report_job.html", context)
    return render(request, "analytics/report.html", context)


@login_required
@require_GET
def report_download(request: HttpRequest, report_id: int, fmt: str) -> HttpResponse:
    report = access_report(request.user, report_id)
    content, content_type, name = report_file(report, fmt)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ---- every figure links to the rows behind it ------------------------------------------------------------------

# KPI → the console page that lists the rows it counts (plays: proof of play; devices; commands; bulletins)
ROWS_OF_KPI = {
    "devices_installed": "devices",
    "devices_online_now": "offline",
    "availability": "offline",
    "commands_by_action": "commands",
    "emergency_reach_p50_s": "commands",
    "emergency_reach_p99_s": "commands",
    "emergency_reach_ratio": "commands",
    "bulletins_published": "bulletins",
    "bulletins_by_field": "bulletins",
    "bulletins_by_type": "bulletins",
    "bulletins_by_priority": "bulletins",
    "data_plans_expiring": "expiring",
    "feedback_received": "feedback",
    "feedback_handled": "feedback",
    "feedback_handled_share": "feedback",
    "feedback_on_time": "feedback",
    "feedback_satisfaction": "feedback",
}
PROOF_MAX_DAYS = 31  # the proof-of-play page shows at most 31 days


def rows_kind(kpi_key: str) -> str:
    return ROWS_OF_KPI.get(kpi_key, "plays")


@login_required
@require_GET
def rows(request: HttpRequest, unit_code: str, what: str) -> HttpResponse:
    """Open the page that lists the rows behind a figure, on the figure's unit and period: those pages work on the
    console's current unit, so the unit becomes the current one (as the unit picker does), then they filter."""
    p = _period(request, unit_code)
    request.session[SESSION_KEY] = p.unit.code
    if what == "plays":
        until = min(p.last, p.first + dt.timedelta(days=PROOF_MAX_DAYS - 1))
        query = {"since": p.first.isoformat(), "until": until.isoformat()}
        return redirect(f"{reverse('broadcast:proof')}?{urlencode(query)}")
    if what == "devices":
        return redirect(reverse("fleet:list"))
    if what == "offline":
        return redirect(f"{reverse('fleet:list')}?state=offline")
    if what == "commands":
        return redirect(reverse("fleet:commands"))
    if what == "expiring":
        days = request.GET.get("days", "90")
        query = {"expiring": days if days in ("0", "30", "60", "90") else "90"}
        if request.GET.get("of") in ("sim", "plan"):
            query["of"] = request.GET["of"]
        return redirect(f"{reverse('fleet:list')}?{urlencode(query)}")
    if what == "feedback":
        query = {"trang_thai": "all", "tu": p.first.isoformat(), "den": p.last.isoformat()}
        return redirect(f"{reverse('feedback:queue')}?{urlencode(query)}")
    query = {"origin": p.unit.code, "state": "published", "date_from": p.first.isoformat(),
             "date_to": p.last.isoformat()}  # fmt: skip
    return redirect(f"{reverse('content:library')}?{urlencode(query)}")


@login_required
@require_GET
def kpis_csv(request: HttpRequest, unit_code: str) -> HttpResponse:
    """Every KPI of the period as CSV (a table KPI one line per part) through :mod:`loa.exports`."""
    p = _period(request, unit_code)
    lines: list[list[object]] = []
    for k, v in compute(p):
        parts = v.items() if isinstance(v, dict) else [("", v)]
        for part, number in parts:
            lines.append(
                [k.key, str(k.name), part, number, str(k.unit), str(GROUPS[k.group]), str(k.formula)]
            )
    header = [
        _("Mã chỉ số"),
        _("Chỉ số"),
        _("Nhóm"),
        _("Giá trị"),
        _("Đơn vị tính"),
        _("Nhóm chỉ số"),
        _("Cách tính"),
    ]
    response = HttpResponse(csv_document(header, lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="chi-so-{p.unit.code}-{p.first}-{p.last}.csv"'
    return response


# ---- the map coloured by a chosen KPI -------------------------------------------------------------------------

MAP_KPIS: dict[str, tuple[Promise, Callable[[DrillRow], float | None]]] = {
    "availability": (gettext_lazy("Tỷ lệ sẵn sàng (%)"), lambda r: r.availability),
    "plays_success": (gettext_lazy("Tỷ lệ phát thành công (%)"), lambda r: r.success),
    "airtime_total_h": (gettext_lazy("Tổng giờ phát"), lambda r: round(r.sums["airtime_s"] / 3600, 3)),
    "plays_planned": (gettext_lazy("Lượt theo lịch"), lambda r: r.sums["planned"]),
    "devices": (gettext_lazy("Số cụm loa"), lambda r: r.devices),
    "bulletins": (gettext_lazy("Bản tin đã phát hành (theo địa bàn tạo)"), lambda r: r.sums["bulletins"]),
}


@login_required
@require_GET
def unit_map(request: HttpRequest, unit_code: str) -> HttpResponse:
    from loa.fleet import conf

    p = _period(request, unit_code)
    kpi = request.GET.get("kpi", "availability")
    tile_url = str(conf.get("LOA_MAP_TILE_URL"))
    query = urlencode({"from": p.first.isoformat(), "to": p.last.isoformat()})
    response = render(
        request,
        "analytics/map.html",
        {"unit": p.unit, "period": p, "kpis": [(k, v[0]) for k, v in MAP_KPIS.items()],
         "kpi": kpi if kpi in MAP_KPIS else "availability", "query": query, "tile_url": tile_url},
    )  # fmt: skip
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
def map_data(request: HttpRequest, unit_code: str) -> JsonResponse:
    """One point per child unit (or cluster of a commune) with the chosen KPI's value: the unit's coordinates,
    else the middle of its clusters' positions; rows without a position are listed apart (``unplaced``)."""
    from loa.fleet.models import Device

    p = _period(request, unit_code)
    key = request.GET.get("kpi", "availability")
    if key not in MAP_KPIS:
        key = "availability"
    label, value_of = MAP_KPIS[key]
    rows = drill_down(p)
    positions: dict[str, list[tuple[float, float]]] = {}
    for device_id, path, lat, lon, status in (
        Device.objects.in_unit(p.unit)
        .active()
        .values_list("device_id", "unit__path", "latitude", "longitude", "last_status")
    ):
        lat = lat if lat is not None else (status or {}).get("lat")
        lon = lon if lon is not None else (status or {}).get("lon")
        if lat is None or lon is None:
            continue
        rest = path[len(p.unit.path) :].split("/", 1)[0]
        positions.setdefault(rest or device_id, []).append((float(lat), float(lon)))
        positions.setdefault(device_id, []).append((float(lat), float(lon)))
    coords = {
        u.code: (u.latitude, u.longitude)
        for u in p.unit.children.filter(is_active=True)
        if u.latitude is not None and u.longitude is not None
    }
    points, unplaced = [], []
    for r in rows:
        where = coords.get(r.code)
        if where is None and positions.get(r.code):
            pts = positions[r.code]
            where = (sum(a for a, _b in pts) / len(pts), sum(b for _a, b in pts) / len(pts))
        item = {"code": r.code, "name": r.name, "is_device": r.is_device, "value": value_of(r)}
        if where is None:
            unplaced.append(item)
        else:
            points.append({**item, "lat": where[0], "lon": where[1]})
    return JsonResponse({"kpi": key, "label": str(label), "points": points, "unplaced": unplaced})
