"""Web Push subscriptions of citizens (per commune, no account) and the push sent for each emergency."""

from __future__ import annotations

import hashlib

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


class PushSubscription(models.Model):
    """One browser's push subscription for one commune (a phone may follow several communes: one row each).

    Nothing identifies the citizen: the endpoint is an opaque URL of the browser's push service, and the keys
    only let Loa encrypt for that browser (RFC 8291)."""

    unit = models.ForeignKey(
        "units.Unit",
        on_delete=models.CASCADE,
        related_name="push_subscriptions",
        verbose_name=_("xã, phường"),
    )
    endpoint = models.TextField(_("địa chỉ nhận của dịch vụ đẩy"))
    endpoint_hash = models.CharField(max_length=64, db_index=True, editable=False)
    p256dh = models.CharField(max_length=120)
    auth = models.CharField(max_length=60)
    vapid_key_id = models.CharField(_("khóa VAPID"), max_length=32)
    lang = models.CharField(_("ngôn ngữ"), max_length=8, default="vi")
    created_at = models.DateTimeField(default=timezone.now)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)  # consecutive failed pushes (not 404/410: those delete)
    # a keyed hash of the address it came from (not the address): limits a flood of subscriptions from one place
    client_key = models.CharField(max_length=64, blank=True, db_index=True)

    class Meta:
        verbose_name = _("đăng ký nhận cảnh báo")
        verbose_name_plural = _("đăng ký nhận cảnh báo")
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint_hash", "unit"], name="alerts_one_subscription_per_commune"
            )
        ]

    def __str__(self) -> str:
        return f"{self.unit_id}: {self.endpoint[:60]}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.endpoint_hash = endpoint_hash(self.endpoint)
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class EmergencyPush(models.Model):
    """The Web Push fan-out of one emergency: how many subscriptions it addressed and how it went."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Đang chờ gửi")
        SENDING = "sending", _("Đang gửi")
        DONE = "done", _("Đã gửi xong")
        FAILED = "failed", _("Gửi lỗi")

    emergency = models.OneToOneField("broadcast.Emergency", on_delete=models.CASCADE, related_name="web_push")
    unit = models.ForeignKey("units.Unit", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, default="alert")  # "alert"; the cancel is counted on the same row
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    subscriptions = models.PositiveIntegerField(_("số đăng ký"), default=0)
    delivered = models.PositiveIntegerField(_("đã chuyển tới dịch vụ đẩy"), default=0)
    failed = models.PositiveIntegerField(_("lỗi"), default=0)
    removed = models.PositiveIntegerField(_("đăng ký hết hạn đã xóa"), default=0)
    retried = models.PositiveIntegerField(_("số lần gửi lại"), default=0)
    cancel_delivered = models.PositiveIntegerField(_("đã báo hủy"), default=0)
    job = models.ForeignKey("jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("cảnh báo qua Web Push")
        verbose_name_plural = _("cảnh báo qua Web Push")

    def __str__(self) -> str:
        return f"push #{self.pk} ({self.state})"
