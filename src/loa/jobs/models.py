"""Background jobs as people see them: what runs, how far it got, and how it ended.

The queue itself is django-q2 on the database (docs/adr/0003-task-queue.md); this model is what the console
shows and what a task updates as it makes progress.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Job(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", _("Đang chờ")
        RUNNING = "running", _("Đang chạy")
        DONE = "done", _("Hoàn thành")
        FAILED = "failed", _("Thất bại")

    kind = models.CharField(_("loại"), max_length=64)
    state = models.CharField(_("trạng thái"), max_length=16, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(_("tiến độ (%)"), default=0)
    message = models.CharField(_("thông báo"), max_length=500, blank=True)
    result = models.JSONField(_("kết quả"), default=dict, blank=True)
    unit = models.ForeignKey("units.Unit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    # what to run again when a worker dies under the job (loa.jobs.lease)
    func = models.CharField(_("hàm"), max_length=200, blank=True)
    kwargs = models.JSONField(_("tham số"), default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(_("số lần chạy"), default=0)
    worker = models.CharField(_("tiến trình xử lý"), max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(_("lần báo sống cuối"), null=True, blank=True)

    class Meta:
        verbose_name = _("tác vụ nền")
        verbose_name_plural = _("tác vụ nền")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"
