"""Broadcasting: relay sources, programmes and their items, schedules and their targets, guardrails per unit,
compiled per-device manifests (the outbox the gateway publishes retained), emergency broadcasts and the plan
kept for proof of play.

Instants are stored in UTC; the local (Asia/Ho_Chi_Minh) parts of a rule — dates and wall-clock times — are
stored as dates and ``HH:MM`` strings, because that is what the operator typed and what must not drift.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from loa.units.models import Unit


class RelaySource(models.Model):
    """An upstream stream a province allows its communes to relay (VOV, the provincial station)."""

    province = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="relay_sources")
    name = models.CharField(_("tên"), max_length=200)
    url = models.URLField(_("địa chỉ luồng"), max_length=1000)
    is_active = models.BooleanField(_("đang dùng"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("nguồn tiếp sóng")
        verbose_name_plural = _("nguồn tiếp sóng")
        constraints = [models.UniqueConstraint(fields=["province", "url"], name="relay_source_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def unit(self) -> Unit:
        return self.province


class Programme(models.Model):
    """What a schedule plays. Only an approved programme is scheduled or compiled (docs/adr/0007): one made only
    of published bulletins and allow-listed relays is approved when it is made; one holding typed text or
    library audio that never went through approval waits for an approver who is not its author."""

    class State(models.TextChoices):
        PENDING = "pending", _("Chờ duyệt")
        APPROVED = "approved", _("Đã duyệt")
        REJECTED = "rejected", _("Bị trả lại")

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="programmes")
    title = models.CharField(_("tên chương trình"), max_length=300)
    state = models.CharField(_("trạng thái"), max_length=16, choices=State.choices, default=State.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("chương trình")
        verbose_name_plural = _("chương trình")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class ItemKind(models.TextChoices):
    AUDIO = "audio", _("Tệp âm thanh")
    BULLETIN = "bulletin", _("Bản tin")
    TTS = "tts", _("Đọc văn bản (TTS)")
    RELAY = "relay", _("Tiếp sóng")


class ProgrammeItem(models.Model):
    """One item, resolved when it is added: its media (sha256, URL, duration) is what devices play."""

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=ItemKind.choices)
    title = models.CharField(_("tiêu đề"), max_length=300)
    text = models.TextField(_("văn bản"), blank=True)
    bulletin = models.ForeignKey(
        "content.Bulletin", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    relay_source = models.ForeignKey(
        RelaySource, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    sha256 = models.CharField(max_length=64)
    media_url = models.CharField(max_length=2000)
    duration_s = models.FloatField()

    class Meta:
        ordering = ["programme", "position"]
        constraints = [models.UniqueConstraint(fields=["programme", "position"], name="programme_item_pos")]

    def __str__(self) -> str:
        return f"{self.programme_id}#{self.position} {self.title}"


class Schedule(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", _("Đang áp dụng")
        PAUSED = "paused", _("Tạm dừng")
        CANCELLED = "cancelled", _("Đã hủy")

    class Kind(models.TextChoices):
        ONCE = "once", _("Một lần")
        DAILY = "daily", _("Hằng ngày")
        WEEKLY = "weekly", _("Hằng tuần")
        DATES = "dates", _("Danh sách ngày")
        RRULE = "rrule", _("Quy tắc RRULE")

    class RepeatMode(models.TextChoices):
        NONE = "none", _("Không lặp")
        TIMES = "times", _("Phát N lần liên tiếp")
        EVERY = "every", _("Lặp mỗi X phút")

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="schedules")
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="schedules")
    title = models.CharField(_("tên lịch"), max_length=300)
    priority = models.PositiveSmallIntegerField(default=4)  # 4 normal, 3 priority bulletin (protocol classes)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    times = models.JSONField(default=list)  # ["06:00", "17:30"] local
    start_date = models.DateField(null=True, blank=True)
    weekdays = models.JSONField(default=list, blank=True)
    dates = models.JSONField(default=list, blank=True)  # ["2026-12-01", …] local
    rrule = models.CharField(max_length=500, blank=True)
    exdates = models.JSONField(default=list, blank=True)
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    repeat_mode = models.CharField(max_length=8, choices=RepeatMode.choices, default=RepeatMode.NONE)
    repeat_count = models.PositiveSmallIntegerField(default=1)
    repeat_every_min = models.PositiveSmallIntegerField(default=0)
    repeat_span_min = models.PositiveSmallIntegerField(default=0)
    relay_minutes = models.PositiveSmallIntegerField(default=0)  # how long a relay item plays
    volume = models.PositiveSmallIntegerField(null=True, blank=True)
    target_units = models.ManyToManyField(Unit, related_name="targeted_by_schedules", blank=True)
    target_devices = models.ManyToManyField("fleet.Device", related_name="targeted_by_schedules", blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    override_reason = models.TextField(blank=True)
    overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    violations = models.JSONField(default=list, blank=True)  # what the override overrode
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("lịch phát")
        verbose_name_plural = _("lịch phát")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "valid_until"])]

    def __str__(self) -> str:
        return self.title


class Guardrail(models.Model):
    """The limits a unit sets; ``None`` inherits. Effective limits: see :mod:`loa.broadcast.guardrails`."""

    unit = models.OneToOneField(Unit, on_delete=models.CASCADE, related_name="guardrail")
    windows = models.JSONField(null=True, blank=True)  # [["05:00", "21:00"], …] local
    max_sessions_per_day = models.PositiveSmallIntegerField(null=True, blank=True)
    allowed_weekdays = models.JSONField(null=True, blank=True)  # [0..6], 0 = Monday
    max_days_per_week = models.PositiveSmallIntegerField(null=True, blank=True)
    max_minutes_per_session = models.PositiveSmallIntegerField(null=True, blank=True)
    max_volume = models.PositiveSmallIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("giới hạn phát")
        verbose_name_plural = _("giới hạn phát")

    def __str__(self) -> str:
        return f"guardrail {self.unit_id}"


class DeviceManifest(models.Model):
    """The current signed manifest of one device, and the outbox row the gateway publishes (retained) when
    ``published_version`` is behind ``version``. ``content_hash`` covers entries and windows only, so the version
    moves only when what the device must play changes."""

    device = models.OneToOneField(
        "fleet.Device", to_field="device_id", on_delete=models.CASCADE, related_name="manifest"
    )
    version = models.PositiveIntegerField(default=0)
    content_hash = models.CharField(max_length=64, blank=True)
    payload = models.BinaryField()
    valid_until = models.DateTimeField(null=True)
    generated_at = models.DateTimeField(null=True)
    published_version = models.PositiveIntegerField(default=0)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("lịch phát của thiết bị")
        verbose_name_plural = _("lịch phát của thiết bị")

    def __str__(self) -> str:
        return f"{self.device_id} v{self.version}"


class ManifestContent(models.Model):
    """One distinct manifest content (entries and windows), stored once however many devices share it."""

    digest = models.CharField(max_length=64, unique=True)
    entries = models.JSONField(default=list)
    windows = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.digest[:12]


class ManifestRevision(models.Model):
    """Device D got content C as version V at time T: the "planned" side of proof of play. What was planned at
    an instant is what the device's latest revision before that instant contained."""

    device = models.ForeignKey(
        "fleet.Device", to_field="device_id", on_delete=models.CASCADE, related_name="manifest_revisions"
    )
    version = models.PositiveIntegerField()
    content = models.ForeignKey(ManifestContent, on_delete=models.PROTECT, related_name="+")
    generated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["device", "generated_at"])]

    def __str__(self) -> str:
        return f"{self.device_id} v{self.version}"


class Emergency(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", _("Đang phát")
        CANCELLED = "cancelled", _("Đã hủy")

    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="emergencies")
    title = models.CharField(max_length=300)
    text = models.TextField(blank=True)
    item_id = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    media_url = models.CharField(max_length=2000)
    duration_s = models.FloatField()
    repeat = models.PositiveSmallIntegerField(default=3)
    alert_tone = models.BooleanField(default=False)
    tone_failed = models.BooleanField(default=False)  # asked for, could not be made: sent without it
    bulletin = models.ForeignKey(
        "content.Bulletin", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    command_id = models.UUIDField(null=True, blank=True)
    cancel_command_id = models.UUIDField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    requested_at = models.DateTimeField()  # when the API call arrived (TTS included in the latency)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("phát khẩn cấp")
        verbose_name_plural = _("phát khẩn cấp")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title
