"""The loudspeaker fleet: devices (clusters, later e-boards), enrolment codes, status history, commands and
their per-device deliveries (the transactional outbox the gateway publishes from), and play logs.

Time is stored in UTC. Device ids are the protocol's ``loa-`` + 12 hex characters and are never reused.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from loa.units.models import Unit


class DeviceKind(models.TextChoices):
    LOUDSPEAKER = "loudspeaker", _("Cụm loa truyền thanh")
    EBOARD = "eboard", _("Bảng tin điện tử")


class DeviceQuerySet(models.QuerySet["Device"]):
    def in_unit(self, unit: Unit) -> DeviceQuerySet:
        return self.filter(unit__path__startswith=unit.path)

    def active(self) -> DeviceQuerySet:
        return self.filter(revoked_at__isnull=True)


class Device(models.Model):
    device_id = models.CharField(_("mã thiết bị"), max_length=16, unique=True)
    kind = models.CharField(
        _("loại"), max_length=16, choices=DeviceKind.choices, default=DeviceKind.LOUDSPEAKER
    )
    name = models.CharField(_("tên"), max_length=200, blank=True)
    adapter = models.CharField(_("giao thức"), max_length=32, default="loa")
    unit = models.ForeignKey(Unit, verbose_name=_("đơn vị"), on_delete=models.PROTECT, related_name="devices")
    imei = models.CharField("IMEI", max_length=32, blank=True, db_index=True)
    serial = models.CharField(_("số sê-ri"), max_length=64, blank=True)
    vendor = models.CharField(_("hãng"), max_length=100, blank=True, db_index=True)
    model = models.CharField(_("mẫu"), max_length=100, blank=True)
    firmware = models.CharField(_("phần mềm"), max_length=64, blank=True)
    sim_number = models.CharField(_("số SIM"), max_length=32, blank=True)
    data_plan_expires = models.DateField(_("hết hạn gói cước"), null=True, blank=True)
    latitude = models.FloatField(_("vĩ độ"), null=True, blank=True)
    longitude = models.FloatField(_("kinh độ"), null=True, blank=True)
    address = models.CharField(_("địa chỉ lắp đặt"), max_length=300, blank=True)
    installed_on = models.DateField(_("ngày lắp đặt"), null=True, blank=True)
    warranty_until = models.DateField(_("bảo hành đến"), null=True, blank=True)
    photos = models.JSONField(_("ảnh"), default=list, blank=True)
    notes = models.TextField(_("ghi chú"), blank=True)
    # mosquitto_passwd line value ("$7$..."): a salted PBKDF2-SHA512 hash, never the password.
    credentials_hash = models.CharField(max_length=200, blank=True)
    enrolled_at = models.DateTimeField(_("ngày đăng ký"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("ngày thu hồi"), null=True, blank=True)
    # Written by the gateway only.
    online = models.BooleanField(_("trực tuyến"), default=False, db_index=True)
    last_seen = models.DateTimeField(_("lần cuối liên lạc"), null=True, blank=True)
    offline_since = models.DateTimeField(null=True, blank=True)
    last_status = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DeviceQuerySet.as_manager()

    class Meta:
        verbose_name = _("cụm loa")
        verbose_name_plural = _("cụm loa")
        ordering = ["device_id"]
        indexes = [models.Index(fields=["unit", "online"])]

    def __str__(self) -> str:
        return f"{self.name or self.device_id} ({self.device_id})"

    @property
    def label(self) -> str:
        return self.name or self.device_id

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class EnrolmentCode(models.Model):
    """A one-time code a technician types (or scans) on a device to enrol it into ``unit``."""

    code_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=8)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="enrolment_codes")
    label = models.CharField(_("ghi chú"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    device = models.ForeignKey(Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("mã đăng ký thiết bị")
        verbose_name_plural = _("mã đăng ký thiết bị")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"…{self.hint} → {self.unit.code}"


class AttemptCounter(models.Model):
    """Failed attempts of one client (``key``) in one fixed window, in the database so that every web process
    and machine counts together (an in-memory cache would give each process its own allowance)."""

    key = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window_start"], name="attempt_key_window")]
        indexes = [models.Index(fields=["window_start"])]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window_start:%Y-%m-%d %H:%M}: {self.count}"


class StatusSample(models.Model):
    """One status report kept for history (the gateway keeps at most one per device per sample interval)."""

    device = models.ForeignKey(Device, to_field="device_id", on_delete=models.CASCADE, related_name="samples")
    at = models.DateTimeField()
    state = models.CharField(max_length=16, blank=True)
    volume = models.SmallIntegerField(null=True)
    link = models.CharField(max_length=16, blank=True)
    signal_dbm = models.SmallIntegerField(null=True)
    power = models.CharField(max_length=16, blank=True)
    battery_pct = models.SmallIntegerField(null=True)
    temperature_c = models.FloatField(null=True)
    storage_free_mb = models.IntegerField(null=True)
    clock_offset_ms = models.IntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["device", "-at"])]

    def __str__(self) -> str:
        return f"{self.device_id} @ {self.at:%Y-%m-%d %H:%M}"


class TopicSequence(models.Model):
    """The last sequence number used on one command topic (the protocol's seq is strictly increasing per topic)."""

    topic = models.CharField(max_length=255, unique=True)
    last_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.topic} #{self.last_seq}"


class Command(models.Model):
    """One signed command message published on one topic (a device's, or a unit's group topic)."""

    class Action(models.TextChoices):
        PLAY = "play", _("Phát ngay")
        STOP = "stop", _("Dừng")
        PAUSE = "pause", _("Tạm dừng")
        RESUME = "resume", _("Tiếp tục")
        NEXT = "next", _("Chuyển bài")
        VOLUME = "volume", _("Đặt âm lượng")
        REBOOT = "reboot", _("Khởi động lại")
        REFRESH_MANIFEST = "refresh_manifest", _("Tải lại lịch phát")

    class State(models.TextChoices):
        PENDING = "pending", _("Chờ gửi")
        PUBLISHED = "published", _("Đã gửi")
        EXPIRED = "expired", _("Hết hạn trước khi gửi")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    action = models.CharField(_("lệnh"), max_length=32, choices=Action.choices)
    params = models.JSONField(default=dict, blank=True)
    topic = models.CharField(max_length=255)
    seq = models.BigIntegerField()
    target_unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    target_device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The unit the command belongs to (for scoping lists): the target unit, or the device's unit.
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="commands")
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    message = models.JSONField(help_text="the signed protocol message, published as is")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    published_at = models.DateTimeField(null=True, blank=True)
    publish_attempts = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("lệnh điều khiển")
        verbose_name_plural = _("lệnh điều khiển")
        ordering = ["-issued_at"]
        indexes = [models.Index(fields=["state", "issued_at"])]
        constraints = [models.UniqueConstraint(fields=["topic", "seq"], name="command_topic_seq")]

    def __str__(self) -> str:
        return f"{self.action} → {self.topic} #{self.seq}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Chờ gửi")
    SENT = "sent", _("Đã gửi")
    RECEIVED = "received", _("Thiết bị đã nhận")
    DONE = "done", _("Đã thực hiện")
    REFUSED = "refused", _("Thiết bị từ chối")
    FAILED = "failed", _("Thất bại")
    EXPIRED = "expired", _("Hết hạn")


OPEN_DELIVERY_STATES = (DeliveryState.PENDING, DeliveryState.SENT, DeliveryState.RECEIVED)
FINAL_DELIVERY_STATES = (
    DeliveryState.DONE,
    DeliveryState.REFUSED,
    DeliveryState.FAILED,
    DeliveryState.EXPIRED,
)


class CommandDelivery(models.Model):
    command = models.ForeignKey(Command, on_delete=models.CASCADE, related_name="deliveries")
    device = models.ForeignKey(
        Device, to_field="device_id", on_delete=models.CASCADE, related_name="deliveries"
    )
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    reason = models.CharField(max_length=300, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    acked_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["command", "device"], name="delivery_command_device")]
        indexes = [models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.command_id} → {self.device_id}: {self.state}"


class PlayLog(models.Model):
    """Proof of play, ingested exactly once: (device, event_id) is unique and inserts ignore duplicates."""

    device = models.ForeignKey(
        Device, to_field="device_id", on_delete=models.CASCADE, related_name="playlogs"
    )
    event_id = models.UUIDField()
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16)
    item_id = models.CharField(max_length=100, blank=True)
    media_sha256 = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField()
    offset_s = models.FloatField(null=True)
    duration_s = models.FloatField(null=True)
    priority = models.PositiveSmallIntegerField(null=True)
    command_id = models.UUIDField(null=True, db_index=True)
    schedule_id = models.CharField(max_length=100, blank=True)
    manifest_entry_id = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField()

    class Meta:
        verbose_name = _("nhật ký phát")
        verbose_name_plural = _("nhật ký phát")
        constraints = [models.UniqueConstraint(fields=["device", "event_id"], name="playlog_device_event")]
        indexes = [models.Index(fields=["unit", "-at"]), models.Index(fields=["device", "-at"])]

    def __str__(self) -> str:
        return f"{self.device_id} {self.kind} {self.item_id}"


class Alarm(models.Model):
    """A fault raised by the gateway (offline longer than the grace period); cleared when it heals."""

    class Kind(models.TextChoices):
        OFFLINE = "offline", _("Mất kết nối")

    device = models.ForeignKey(Device, to_field="device_id", on_delete=models.CASCADE, related_name="alarms")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    raised_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        indexes = [models.Index(fields=["cleared_at", "kind"])]

    def __str__(self) -> str:
        return f"{self.device_id} {self.kind}"
