"""Rollups: one row per (day, unit, device, metric, key) with a number, rebuilt a whole day at a time.

Days are Asia/Ho_Chi_Minh calendar days. ``unit`` is the smallest unit the row belongs to (a device's unit, a
bulletin's originating unit, a command's unit), so that the figures of any unit are the sum over its subtree
(``unit__path__startswith``): a province's figures are by construction the sum of its communes'. Device rows carry
``device_id``; unit rows leave it empty. The metrics are listed in :mod:`loa.analytics.rollup`.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from loa.units.models import Unit


class DailyStat(models.Model):
    day = models.DateField(_("ngày"))
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    device_id = models.CharField(max_length=16, blank=True)
    metric = models.CharField(max_length=32)
    key = models.CharField(max_length=64, blank=True)
    value = models.FloatField()

    class Meta:
        verbose_name = _("số liệu tổng hợp theo ngày")
        verbose_name_plural = _("số liệu tổng hợp theo ngày")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "unit", "device_id", "metric", "key"], name="dailystat_unique"
            )
        ]
        indexes = [models.Index(fields=["day", "metric"]), models.Index(fields=["unit", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.unit_id} {self.device_id} {self.metric}[{self.key}]={self.value}"


class Report(models.Model):
    """A periodic report of a unit (docs/analytics.md "Periodic reports"): the period and the document fields asked
    for, and once its job has run, the snapshot of the figures it was made from (``snapshot``, with its digest) and
    the XLSX, PDF and DOCX drawn from it (files under ``DATA_DIR/reports/<id>/``)."""

    class Kind(models.TextChoices):
        MONTH = "month", _("Tháng")
        QUARTER = "quarter", _("Quý")
        HALF = "half", _("Sáu tháng")
        YEAR = "year", _("Năm")
        CUSTOM = "custom", _("Tùy chọn")

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("loại kỳ báo cáo"), max_length=16, choices=Kind.choices)
    first = models.DateField(_("từ ngày"))
    last = models.DateField(_("đến ngày"))
    number = models.CharField(_("số, ký hiệu"), max_length=64, blank=True)
    recipients = models.TextField(_("nơi nhận"), blank=True)
    signer_title = models.CharField(_("chức vụ người ký"), max_length=100, blank=True)
    signer_name = models.CharField(_("họ tên người ký"), max_length=100, blank=True)
    scheduled = models.BooleanField(_("lập theo lịch"), default=False)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    snapshot = models.JSONField(_("số liệu đã dùng"), default=dict, blank=True)
    digest = models.CharField(_("mã băm số liệu"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("tạo lúc"), auto_now_add=True)
    generated_at = models.DateTimeField(_("lập lúc"), null=True, blank=True)

    class Meta:
        verbose_name = _("báo cáo định kỳ")
        verbose_name_plural = _("báo cáo định kỳ")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["unit", "first", "last"])]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.kind} {self.first}..{self.last}"


class ReportNotice(models.Model):
    """An in-console notice to a responsible user that a scheduled report was made (there is no notification system
    for staff yet): shown on the statistics pages until the user opens the report."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="notices")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("thông báo báo cáo")
        verbose_name_plural = _("thông báo báo cáo")
        constraints = [models.UniqueConstraint(fields=["report", "user"], name="reportnotice_unique")]

    def __str__(self) -> str:
        return f"{self.report_id} → {self.user_id}"


class UnitDailyStat(models.Model):
    """:class:`DailyStat` without the device dimension: per (day, unit, metric, key) the sum of the unit's own rows
    (its clusters' and its own). Written by the rollup in the same transaction; what a unit's KPIs and the
    drill-down of its child units read, so a province's month is a few thousand rows instead of one per cluster,
    day and metric (docs/adr/0013-analytics-table-design.md)."""

    day = models.DateField(_("ngày"))
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    metric = models.CharField(max_length=32)
    key = models.CharField(max_length=64, blank=True)
    value = models.FloatField()

    class Meta:
        verbose_name = _("số liệu tổng hợp theo ngày và đơn vị")
        verbose_name_plural = _("số liệu tổng hợp theo ngày và đơn vị")
        constraints = [
            models.UniqueConstraint(fields=["day", "unit", "metric", "key"], name="unitdailystat_unique")
        ]
        indexes = [models.Index(fields=["unit", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.unit_id} {self.metric}[{self.key}]={self.value}"
