"""The monthly report as an XLSX workbook at once (openpyxl, docs/adr/0010-openpyxl-for-reports.md), drawn like the
periodic reports' (:mod:`loa.analytics.documents`): real numbers, frozen headers, one sheet per KPI group, the
drill-down with a total row as formulas, and a sheet saying what the figures were made from."""

from __future__ import annotations

import datetime as dt
import re

from loa.analytics.periods import month_of, today
from loa.errors import Refusal
from loa.units.models import Unit

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def check_month(raw: str | None) -> tuple[dt.date, dt.date]:
    """``YYYY-MM`` → the first and last day of that month; nothing given: the current month."""
    if not (raw or "").strip():
        return month_of(today())
    m = MONTH.match((raw or "").strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise Refusal("month_invalid", "Tháng phải có dạng YYYY-MM, ví dụ 2026-11.", field="month")
    return month_of(dt.date(int(m.group(1)), int(m.group(2)), 1))


def monthly_workbook(unit: Unit, first: dt.date, last: dt.date) -> bytes:
    """The report of ``unit`` for ``first``…``last`` as an XLSX, at once (the periodic reports, with PDF and DOCX,
    are made by a job: :mod:`loa.analytics.reports`)."""
    from loa.analytics.documents import workbook
    from loa.analytics.models import Report
    from loa.analytics.reports import take_snapshot

    report = Report(unit=unit, kind=Report.Kind.MONTH, first=first, last=last)
    return workbook(take_snapshot(report))
