"""Who may see or make a periodic report: the one chokepoint for reports (console pages and API).

A report belongs to its unit: whoever may view the unit (``unit.view``) reads the report, so a commune sees its own
reports and the province its communes' as well as its own consolidation; making one needs ``report.create`` on the
unit. A report outside the caller's scope is 404, like a unit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loa.accounts.access import access_unit, access_units
from loa.analytics.models import Report
from loa.errors import Refusal

if TYPE_CHECKING:
    from loa.accounts.models import ApiToken
    from loa.units.models import Unit

VIEW = "unit.view"
CREATE = "report.create"


class ReportNotFound(Refusal):
    status = 404

    def __init__(self) -> None:
        super().__init__(
            "report_not_found", "Không tìm thấy báo cáo, hoặc báo cáo nằm ngoài phạm vi của bạn."
        )


def access_report(user: Any, report_id: int, token: ApiToken | None = None) -> Report:
    """The report ``report_id`` if ``user`` may view its unit, else 404."""
    report = Report.objects.select_related("unit", "unit__parent", "job").filter(pk=report_id).first()
    if report is None or not access_units(user, VIEW, token).filter(pk=report.unit_id).exists():
        raise ReportNotFound()
    return report


def access_report_create(user: Any, unit: Unit, token: ApiToken | None = None) -> Unit:
    return access_unit(user, unit, CREATE, token)


def visible_reports(user: Any, unit: Unit, token: ApiToken | None = None) -> Any:
    """The reports of ``unit``'s subtree (a province: its own and its communes') that ``user`` may view."""
    access_unit(user, unit, VIEW, token)
    return Report.objects.filter(unit__path__startswith=unit.path).select_related("unit", "job")
