"""Citizens' feedback (phản ánh, kiến nghị): categories, routing rules, the working calendar, feedback items with
their photos and history, canned answers and the one-time codes that verify a contact (docs/citizen.md, "Phản ánh").

Personal data (Law 91/2025/QH15) is kept in few fields, all on :class:`Feedback` and :class:`FeedbackPhoto`:
``contact``, ``text``, ``address``, the pin, the photos and ``client_key`` (a keyed hash of the address the form was
sent from, for rate limits). :func:`loa.citizen.feedback_privacy.do_erase_personal_data` empties them all.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loa.units.models import Unit


class FeedbackCategory(models.Model):
    """A kind of feedback with its SLA and retention; ``unit`` is the province (or commune) that added it, or none
    for the categories every unit uses."""

    code = models.SlugField(_("mã"), max_length=40, unique=True)
    name = models.CharField(_("tên"), max_length=120)
    unit = models.ForeignKey(
        Unit, verbose_name=_("đơn vị"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    ack_hours = models.PositiveSmallIntegerField(_("hạn tiếp nhận (giờ làm việc)"), default=8)
    answer_hours = models.PositiveSmallIntegerField(_("hạn trả lời (giờ làm việc)"), default=40)
    remind_hours = models.PositiveSmallIntegerField(_("nhắc trước hạn (giờ làm việc)"), default=4)
    retention_days = models.PositiveIntegerField(_("lưu dữ liệu cá nhân sau khi đóng (ngày)"), default=365)
    about_loudspeakers = models.BooleanField(_("về cụm loa"), default=False)
    is_active = models.BooleanField(_("đang dùng"), default=True)
    position = models.PositiveSmallIntegerField(_("thứ tự"), default=100)

    class Meta:
        verbose_name = _("lĩnh vực phản ánh")
        verbose_name_plural = _("lĩnh vực phản ánh")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """The name in the reader's language (the seeded names have English in the catalogue)."""
        return gettext(self.name)


class RoutingRule(models.Model):
    """Feedback of ``category`` about a place within ``area`` goes to ``target`` (the competent unit). The rule of
    the nearest area wins; without a rule the commune where the feedback is handles it."""

    category = models.ForeignKey(FeedbackCategory, verbose_name=_("lĩnh vực"), on_delete=models.CASCADE)
    area = models.ForeignKey(Unit, verbose_name=_("khu vực"), on_delete=models.PROTECT, related_name="+")
    target = models.ForeignKey(
        Unit, verbose_name=_("đơn vị xử lý"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("quy tắc chuyển xử lý")
        verbose_name_plural = _("quy tắc chuyển xử lý")
        constraints = [models.UniqueConstraint(fields=["category", "area"], name="citizen_route_once")]

    def __str__(self) -> str:
        return f"{self.category} · {self.area} → {self.target}"


class CalendarDay(models.Model):
    """A day that breaks the rule "Monday to Friday are working days": a public holiday (Tết…) or a weekend day
    worked in exchange (``is_working``)."""

    date = models.DateField(_("ngày"), unique=True)
    name = models.CharField(_("tên"), max_length=120)
    is_working = models.BooleanField(_("là ngày làm việc"), default=False)

    class Meta:
        verbose_name = _("ngày nghỉ, ngày làm bù")
        verbose_name_plural = _("lịch ngày nghỉ, ngày làm bù")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%d/%m/%Y} {self.name}"


class Status(models.TextChoices):
    RECEIVED = "received", _("Đã nhận")
    ACKNOWLEDGED = "acknowledged", _("Đã tiếp nhận")
    CLASSIFIED = "classified", _("Đã phân loại")
    ASSIGNED = "assigned", _("Đã chuyển đơn vị xử lý")
    IN_PROGRESS = "in_progress", _("Đang xử lý")
    ANSWERED = "answered", _("Đã có trả lời")
    PUBLISHED = "published", _("Đã công khai trả lời")
    CLOSED = "closed", _("Đã đóng")
    NOT_FIXABLE = "not_fixable", _("Đóng, không xử lý được")


class ClusterIssue(models.TextChoices):
    NOISE = "noise", _("Loa quá to, ồn")
    FAULT = "fault", _("Loa hỏng, không nghe được")
    WRONG_HOURS = "wrong_hours", _("Loa phát sai giờ")


class Feedback(models.Model):
    unit = models.ForeignKey(Unit, verbose_name=_("nơi phản ánh"), on_delete=models.PROTECT, related_name="+")
    handling_unit = models.ForeignKey(
        Unit, verbose_name=_("đơn vị xử lý"), on_delete=models.PROTECT, related_name="+"
    )
    category = models.ForeignKey(FeedbackCategory, verbose_name=_("lĩnh vực"), on_delete=models.PROTECT)
    status = models.CharField(_("trạng thái"), max_length=16, choices=Status.choices, default=Status.RECEIVED)
    # what the citizen sent (personal data: erased on request or at the end of retention)
    text = models.TextField(_("nội dung"), blank=True)
    address = models.CharField(_("địa chỉ"), max_length=300, blank=True)
    latitude = models.FloatField(_("vĩ độ"), null=True, blank=True)
    longitude = models.FloatField(_("kinh độ"), null=True, blank=True)
    cluster = models.ForeignKey(
        "fleet.Device", verbose_name=_("cụm loa"), null=True, blank=True, on_delete=models.SET_NULL
    )
    cluster_issue = models.CharField(
        _("vấn đề của cụm loa"), max_length=16, blank=True, choices=ClusterIssue.choices
    )
    contact_kind = models.CharField(_("loại liên hệ"), max_length=8, blank=True)  # "", "phone", "email"
    contact = models.CharField(_("liên hệ"), max_length=200, blank=True)
    contact_verified_at = models.DateTimeField(null=True, blank=True)
    consent_version = models.CharField(max_length=16)
    consent_at = models.DateTimeField()
    client_key = models.CharField(max_length=64, blank=True, db_index=True)
    text_key = models.CharField(max_length=64, blank=True, db_index=True)
    tracking_hash = models.CharField(max_length=64, unique=True)
    # the answer and what the public sees
    public_summary = models.TextField(_("nội dung công khai"), blank=True)
    answer = models.TextField(_("trả lời"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    close_reason = models.TextField(_("lý do"), blank=True)
    rating = models.PositiveSmallIntegerField(_("đánh giá"), null=True, blank=True)
    rating_comment = models.CharField(_("ý kiến về trả lời"), max_length=500, blank=True)
    reopened_count = models.PositiveSmallIntegerField(default=0)
    # times (UTC)
    created_at = models.DateTimeField(db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    due_ack_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalations = models.PositiveSmallIntegerField(default=0)
    erased_at = models.DateTimeField(null=True, blank=True)
    erased_by_citizen = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("phản ánh, kiến nghị")
        verbose_name_plural = _("phản ánh, kiến nghị")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["handling_unit", "status"]), models.Index(fields=["unit", "status"])]

    def __str__(self) -> str:
        return f"PA-{self.pk}"

    @property
    def number(self) -> str:
        return f"PA-{self.pk}"


class FeedbackPhoto(models.Model):
    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="photos")
    position = models.PositiveSmallIntegerField()
    path = models.CharField(max_length=200)  # relative to MEDIA_ROOT
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["feedback", "position"], name="citizen_photo_position")
        ]

    def __str__(self) -> str:
        return f"{self.feedback_id}/{self.position}"


class FeedbackEvent(models.Model):
    """One step of a feedback's history: a status change (``to_status``) or an internal note (``internal``)."""

    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)
    internal = models.BooleanField(default=False)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.feedback_id} {self.from_status}→{self.to_status}"


class CannedAnswer(models.Model):
    """A ready answer an operator of ``unit`` (and its subtree) can start from."""

    unit = models.ForeignKey(Unit, verbose_name=_("đơn vị"), on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("tiêu đề"), max_length=120)
    text = models.TextField(_("nội dung"))

    class Meta:
        verbose_name = _("mẫu trả lời")
        verbose_name_plural = _("mẫu trả lời")
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class ContactCode(models.Model):
    """A one-time code sent to a feedback's phone or e-mail; stored as a hash, a few tries, a short life."""

    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.feedback_id} {self.created_at:%Y-%m-%d %H:%M}"


class FeedbackPush(models.Model):
    """A browser the citizen asked to be told in (Web Push) when their feedback's status changes or its answer is
    published: registered from the tracking page, only after the citizen allowed notifications. The endpoint is an
    opaque URL of the browser's push service; deleted with the feedback's personal data."""

    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="pushes")
    endpoint = models.TextField()
    endpoint_hash = models.CharField(max_length=64, editable=False)
    p256dh = models.CharField(max_length=120)
    auth = models.CharField(max_length=60)
    vapid_key_id = models.CharField(max_length=32)
    lang = models.CharField(max_length=8, default="vi")
    created_at = models.DateTimeField()
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["feedback", "endpoint_hash"], name="citizen_feedback_push_once")
        ]

    def __str__(self) -> str:
        return f"{self.feedback_id}: {self.endpoint[:60]}"
