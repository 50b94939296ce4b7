"""The loudspeaker fleet: devices (clusters, later e-boards), enrolment codes, status history, commands and
their per-device deliveries (the transactional outbox the gateway publishes from), and play logs.

Time is stored in UTC. Device ids are the protocol's ``loa-`` + 12 hex characters and are never reused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loa.units.models import Level, Unit
from loa_protocol import board as board_protocol


class DeviceKind(models.TextChoices):
    LOUDSPEAKER = "loudspeaker", _("Cụm loa truyền thanh")
    EBOARD = "eboard", _("Bảng tin điện tử")


class DeviceQuerySet(models.QuerySet["Device"]):
    def in_unit(self, unit: Unit) -> DeviceQuerySet:
        return self.filter(unit__path__startswith=unit.path)

    def active(self) -> DeviceQuerySet:
        return self.filter(revoked_at__isnull=True)

    def among(self, device_ids: Iterable[str] | None, unit_paths: Iterable[str] | None) -> DeviceQuerySet:
        """Only these devices and/or the devices under any of these unit paths (``None``: no limit) — what a
        manifest compilation for part of the fleet reads."""
        qs = self
        if device_ids is not None:
            qs = qs.filter(device_id__in=list(device_ids))
        if unit_paths is not None:
            under = Q(pk__in=[])  # no paths: no device (an empty Q() would mean every device)
            for path in unit_paths:
                under |= Q(unit__path__startswith=path)
            qs = qs.filter(under)
        return qs


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
    sim_expires = models.DateField(_("hết hạn SIM"), null=True, blank=True)
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
    def place(self) -> str:
        """Where it hangs, in the officer's words: "Thôn 2 · Xã Quảng La", or the commune alone."""
        unit = self.unit
        if unit.level == Level.ZONE and unit.parent is not None:
            return f"{unit.name} · {unit.parent.name}"
        return unit.name

    @property
    def zone(self) -> Unit | None:
        return self.unit if self.unit.level == Level.ZONE else None

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class EnrolmentCode(models.Model):
    """A one-time code a technician types (or scans) on a device to enrol it into ``unit``."""

    code_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=8)
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="enrolment_codes")
    # the name the enrolled cluster gets ("Cụm loa nhà văn hóa thôn 2"); the unit may be a zone (thôn)
    label = models.CharField(_("tên cụm loa"), max_length=200, blank=True)
    # what enrols with it: a loudspeaker cluster, or an e-bulletin board of ``screen_class``
    kind = models.CharField(
        _("loại thiết bị"), max_length=16, choices=DeviceKind.choices, default=DeviceKind.LOUDSPEAKER
    )
    screen_class = models.CharField(_("loại màn hình"), max_length=16, blank=True)
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

    # how many devices the command was sent to (set by loa.fleet.services.do_send_command; not stored)
    reached: int | None = None

    class Action(models.TextChoices):
        PLAY = "play", _("Phát ngay")
        STOP = "stop", _("Dừng")
        PAUSE = "pause", _("Tạm dừng")
        RESUME = "resume", _("Tiếp tục")
        NEXT = "next", _("Chuyển bài")
        VOLUME = "volume", _("Đặt âm lượng")
        REBOOT = "reboot", _("Khởi động lại")
        REFRESH_MANIFEST = "refresh_manifest", _("Tải lại lịch phát")
        # e-bulletin boards (fetched by the board over HTTPS: docs/fleet.md "Boards")
        RELOAD = "reload", _("Tải lại trang hiển thị")
        SCREEN_ON = "screen_on", _("Bật màn hình")
        SCREEN_OFF = "screen_off", _("Tắt màn hình")
        BRIGHTNESS = "brightness", _("Đặt độ sáng")
        SCREENSHOT = "screenshot", _("Chụp màn hình ngay")
        KILL_SWITCH = "kill_switch", _("Ngắt khẩn cấp (màn hình đen)")

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
        indexes = [
            models.Index(fields=["unit", "-at"]),
            models.Index(fields=["device", "-at"]),
            # proof of play looks a slot's logs up by its manifest entry (without it: a scan of every log)
            models.Index(fields=["manifest_entry_id", "device"], name="playlog_entry_device"),
            # an emergency's live progress (its API answer, the console page) finds its logs by item id; without
            # it every emergency read every log of the province, slower with each day of logs
            models.Index(fields=["item_id", "kind"], name="playlog_item_kind"),
            # the gateway reads back the rows a batch stored by the batch's received_at (today's counters); without
            # it each batch read its devices' whole day, slower as the day filled up. Also what arrived when.
            models.Index(fields=["received_at"], name="playlog_received_at"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {self.kind} {self.item_id}"


class Alarm(models.Model):
    """A fault raised by the gateway: offline longer than the grace period (cleared when it heals), or a manifest
    the device refused (its ManifestAck, protocol.md §6; cleared when the device reports a manifest version at least
    as new)."""

    class Kind(models.TextChoices):
        OFFLINE = "offline", _("Mất kết nối")
        MANIFEST_REFUSED = "manifest_refused", _("Cụm loa từ chối lịch phát")
        # a board's screenshot matches nothing its manifest says it shows (loa.signage.screencheck); cleared by the
        # next screenshot that matches
        SCREEN_MISMATCH = "screen_mismatch", _("Màn hình hiển thị nội dung không có trong lịch phát")

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


# ---- e-bulletin boards ---------------------------------------------------------------------------------------


class ScreenClass(models.TextChoices):
    LANDSCAPE = "landscape", _("Màn hình ngang 1920×1080")
    PORTRAIT = "portrait", _("Màn hình dọc 1080×1920")
    LED_192 = "led_192x96", _("Bảng LED 192×96")
    LED_384 = "led_384x192", _("Bảng LED 384×192")
    CUSTOM = "custom", _("Kích thước khác")


# (width, height) in pixels of each standard class; a custom screen gives its own. The names and sizes are the
# protocol's (loa_protocol.board.SCREEN_CLASSES, protocol.md §9b), kept equal to the choices above by
# tests/loa/fleet/test_screen_classes.py
SCREEN_SIZES: dict[str, tuple[int, int]] = dict(board_protocol.STANDARD_SCREEN_SIZES)


class Orientation(models.TextChoices):
    LANDSCAPE = "landscape", _("Ngang")
    PORTRAIT = "portrait", _("Dọc")


class BoardScreen(models.Model):
    """The screen of an e-bulletin board (a :class:`Device` of kind ``eboard``): one row per board, so the
    registry's device table stays the same for thousands of loudspeaker clusters."""

    device = models.OneToOneField(
        Device, to_field="device_id", on_delete=models.CASCADE, related_name="screen"
    )
    screen_class = models.CharField(
        _("loại màn hình"), max_length=16, choices=ScreenClass.choices, default=ScreenClass.LANDSCAPE
    )
    orientation = models.CharField(
        _("hướng"), max_length=16, choices=Orientation.choices, default=Orientation.LANDSCAPE
    )
    width = models.PositiveIntegerField(_("chiều rộng (điểm ảnh)"), default=1920)
    height = models.PositiveIntegerField(_("chiều cao (điểm ảnh)"), default=1080)
    # [{"at": "HH:MM", "percent": 0-100}], sorted by time, local time of the unit (Asia/Ho_Chi_Minh): from each
    # time on, the screen has that brightness (the last step of the day holds past midnight)
    brightness_schedule = models.JSONField(_("lịch độ sáng"), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("màn hình bảng tin")
        verbose_name_plural = _("màn hình bảng tin")

    def __str__(self) -> str:
        return f"{self.device_id} {self.width}×{self.height}"

    @property
    def resolution(self) -> str:
        return f"{self.width}×{self.height}"


class BoardScreenshot(models.Model):
    """A low-resolution copy of what a board showed at ``taken_at`` (the latest few are kept per board)."""

    device = models.ForeignKey(
        Device, to_field="device_id", on_delete=models.CASCADE, related_name="screenshots"
    )
    taken_at = models.DateTimeField()
    received_at = models.DateTimeField()
    sha256 = models.CharField(max_length=64)  # of the upload as received
    width = models.PositiveIntegerField()  # of the upload
    height = models.PositiveIntegerField()
    path = models.CharField(max_length=300)  # of the low-resolution JPEG, relative to the data dir
    # the comparison with what the manifest says the board shows (loa.signage.screencheck, run as a job):
    # "" not yet, "match", "mismatch", or "unchecked" (an emergency on screen, no manifest); ``distance`` is the
    # smallest Hamming distance (bits of 256) to an expected render
    verdict = models.CharField(_("đối chiếu"), max_length=16, blank=True)
    distance = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-taken_at", "-pk"]
        indexes = [models.Index(fields=["device", "-taken_at"])]

    def __str__(self) -> str:
        return f"{self.device_id} @ {self.taken_at:%Y-%m-%d %H:%M}"


class KillSwitch(models.Model):
    """The kill switch against hijacks: while engaged (not released), every board of ``device`` or of ``unit`` and
    its subtree shows a black screen and nothing else (:func:`loa.fleet.boards.killed`)."""

    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey(
        Device, to_field="device_id", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # the unit it belongs to (for scoping): the area, or the board's unit
    scope = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="kill_switches")
    reason = models.CharField(_("lý do"), max_length=300, blank=True)
    engaged_at = models.DateTimeField()
    engaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("ngắt khẩn cấp bảng tin")
        verbose_name_plural = _("ngắt khẩn cấp bảng tin")
        ordering = ["-engaged_at"]
        indexes = [models.Index(fields=["released_at"])]

    def __str__(self) -> str:
        return f"kill {self.device_id or self.scope_id} @ {self.engaged_at:%Y-%m-%d %H:%M}"

    @property
    def active(self) -> bool:
        return self.released_at is None
