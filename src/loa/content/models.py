"""Bulletins (bản tin): the source information a province or a commune writes, approves and publishes.

Field names follow the de-facto interface of provincial source information systems (regulations.md §5.4):
``TieuDe`` → ``title``, ``NoiDungTomTat`` → ``summary``, ``LoaiLinhVuc`` → ``field``, ``LoaiBanTin`` →
``content_type``, ``MucDoUuTien`` → ``priority``, ``ThoiGianSanXuat`` → ``produced_at``, ``ThoiLuong`` →
``duration_s``, ``TacGia{TenDayDu, ButDanh, Email}`` → ``author_*``, ``NguonTin`` → ``news_source``,
``TiepAm``/``NguonTiepAm`` → ``is_relay``/``relay_source``, ``DiaBanTao`` → ``origin_unit``,
``DanhSachDiaBanNhan`` → ``receivers``, ``ThongTinChiTietBanTin[{Ten, GiaTri}]`` → ``extras``.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from loa.units.models import Unit


class Field(models.IntegerChoices):
    """LoaiLinhVuc."""

    GENERAL = 1, _("Thông tin chung")
    UNEXPECTED = 2, _("Thông tin đột xuất")
    POLICY = 3, _("Chủ trương, đường lối của Đảng, chính sách, pháp luật của Nhà nước")
    DIRECTION = 4, _("Chỉ đạo, điều hành của cấp ủy, chính quyền cơ sở")
    KNOWLEDGE = 5, _("Kiến thức khoa học, kỹ thuật, kinh tế, văn hóa, xã hội")
    GOOD_DEEDS = 6, _("Người tốt, việc tốt, gương điển hình")


class ContentType(models.IntegerChoices):
    """LoaiBanTin."""

    TEXT = 1, _("Văn bản")
    IMAGE = 2, _("Hình ảnh")
    AUDIO = 3, _("Âm thanh")
    VIDEO = 4, _("Video")
    LIVE = 5, _("Trực tiếp")
    RELAY = 6, _("Tiếp sóng (FM/luồng)")


class Priority(models.IntegerChoices):
    """MucDoUuTien: 1 is the most urgent."""

    EMERGENCY = 1, _("Khẩn cấp")
    PRIORITY = 2, _("Ưu tiên")
    NORMAL = 3, _("Thông thường")


class Language(models.TextChoices):
    """Broadcast language: ISO 639-3 codes for Vietnamese and the ethnic-minority languages most used."""

    VIE = "vie", _("Tiếng Việt")
    TYZ = "tyz", _("Tiếng Tày")
    BLT = "blt", _("Tiếng Thái")
    MTQ = "mtq", _("Tiếng Mường")
    KHM = "khm", _("Tiếng Khmer")
    HMN = "hmn", _("Tiếng H'Mông")
    NUT = "nut", _("Tiếng Nùng")
    IUM = "ium", _("Tiếng Dao")
    JRA = "jra", _("Tiếng Gia Rai")
    RAD = "rad", _("Tiếng Ê Đê")
    BDQ = "bdq", _("Tiếng Ba Na")
    SED = "sed", _("Tiếng Xơ Đăng")
    KPM = "kpm", _("Tiếng Cơ Ho")
    CJM = "cjm", _("Tiếng Chăm")
    HRE = "hre", _("Tiếng Hrê")
    ZHO = "zho", _("Tiếng Hoa")
    UND = "und", _("Ngôn ngữ khác")


class State(models.TextChoices):
    DRAFT = "draft", _("Bản nháp")
    SUBMITTED = "submitted", _("Chờ duyệt")
    APPROVED = "approved", _("Đã duyệt")
    PUBLISHED = "published", _("Đã phát hành")
    EXPIRED = "expired", _("Hết hiệu lực")
    CANCELLED = "cancelled", _("Đã hủy")


class Bulletin(models.Model):
    uid = models.UUIDField(_("mã bản tin (BanTinID)"), default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(_("tiêu đề"), max_length=300)
    summary = models.TextField(_("tóm tắt"), max_length=2000, blank=True)
    body = models.TextField(_("nội dung"), max_length=50000, blank=True)
    read_as = models.TextField(_("đọc là"), max_length=60000, blank=True)
    field = models.PositiveSmallIntegerField(_("lĩnh vực"), choices=Field.choices, default=Field.GENERAL)
    content_type = models.PositiveSmallIntegerField(
        _("loại bản tin"), choices=ContentType.choices, default=ContentType.TEXT
    )
    priority = models.PositiveSmallIntegerField(
        _("mức độ ưu tiên"), choices=Priority.choices, default=Priority.NORMAL
    )
    produced_at = models.DateTimeField(_("thời gian sản xuất"))
    duration_s = models.PositiveIntegerField(_("thời lượng (giây)"), null=True, blank=True)
    author_name = models.CharField(_("tác giả"), max_length=200, blank=True)
    author_pen_name = models.CharField(_("bút danh"), max_length=200, blank=True)
    author_email = models.EmailField(_("e-mail tác giả"), max_length=254, blank=True)
    news_source = models.CharField(_("nguồn tin"), max_length=300, blank=True)
    is_relay = models.BooleanField(_("tiếp âm"), default=False)
    relay_source = models.CharField(_("nguồn tiếp âm"), max_length=500, blank=True)
    origin_unit = models.ForeignKey(
        Unit, verbose_name=_("địa bàn tạo"), on_delete=models.PROTECT, related_name="bulletins"
    )
    receivers = models.ManyToManyField(
        Unit, verbose_name=_("địa bàn nhận"), related_name="received_bulletins"
    )
    language = models.CharField(_("ngôn ngữ"), max_length=8, choices=Language.choices, default=Language.VIE)
    valid_from = models.DateTimeField(_("hiệu lực từ"), null=True, blank=True)
    valid_until = models.DateTimeField(_("hiệu lực đến"), null=True, blank=True)
    extras = models.JSONField(_("thông tin chi tiết"), default=list, blank=True)
    audio_asset = models.ForeignKey(
        "media.MediaAsset",
        verbose_name=_("tệp âm thanh"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bulletins",
    )

    state = models.CharField(_("trạng thái"), max_length=16, choices=State.choices, default=State.DRAFT)
    version = models.PositiveIntegerField(_("phiên bản"), default=1)
    superseded_by = models.ForeignKey(
        "self",
        verbose_name=_("được thay thế bởi"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="supersedes",
    )
    replaces = models.ForeignKey(
        "self",
        verbose_name=_("thay thế cho"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replacements",
    )
    shared_from = models.ForeignKey(
        "self",
        verbose_name=_("chia sẻ từ"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="republished_as",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bulletins_created"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bulletins_updated"
    )
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bulletins_published",
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("bản tin")
        verbose_name_plural = _("bản tin")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["state", "valid_until"]),
            models.Index(fields=["origin_unit", "state"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def unit(self) -> Unit:
        """The unit the bulletin belongs to (for the audit log and permission checks)."""
        return self.origin_unit


class BulletinVersion(models.Model):
    """A snapshot of a bulletin's editable fields, taken at every save."""

    bulletin = models.ForeignKey(Bulletin, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    snapshot = models.JSONField()
    substantive = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("phiên bản bản tin")
        verbose_name_plural = _("phiên bản bản tin")
        ordering = ["bulletin", "number"]
        constraints = [models.UniqueConstraint(fields=["bulletin", "number"], name="bulletin_version_unique")]

    def __str__(self) -> str:
        return f"{self.bulletin_id} v{self.number}"


class Approval(models.Model):
    """One decision on one approval step. A substantive edit clears the approvals (``cleared_at``)."""

    class Decision(models.TextChoices):
        APPROVED = "approved", _("Đồng ý")
        REJECTED = "rejected", _("Trả lại")

    bulletin = models.ForeignKey(Bulletin, on_delete=models.CASCADE, related_name="approvals")
    step = models.PositiveSmallIntegerField()
    step_label = models.CharField(max_length=200)
    role = models.CharField(max_length=32)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField()
    note = models.TextField(max_length=2000, blank=True)
    decided_at = models.DateTimeField(auto_now_add=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("ý kiến duyệt")
        verbose_name_plural = _("ý kiến duyệt")
        ordering = ["bulletin", "decided_at", "pk"]

    def __str__(self) -> str:
        return f"{self.bulletin_id} step {self.step}: {self.decision}"


class ApprovalPolicy(models.Model):
    """The ordered approval steps of one unit's bulletins: ``[{"role": "approver", "label": "..."}]``."""

    unit = models.OneToOneField(Unit, on_delete=models.CASCADE, related_name="approval_policy")
    steps = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("quy trình duyệt")
        verbose_name_plural = _("quy trình duyệt")

    def __str__(self) -> str:
        return f"{self.unit.code}: {len(self.steps)}"


class Comment(models.Model):
    bulletin = models.ForeignKey(Bulletin, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("bình luận")
        verbose_name_plural = _("bình luận")
        ordering = ["bulletin", "created_at", "pk"]

    def __str__(self) -> str:
        return self.text[:50]


class Attachment(models.Model):
    class Kind(models.TextChoices):
        AUDIO = "audio", _("Âm thanh")
        IMAGE = "image", _("Hình ảnh")
        VIDEO = "video", _("Video")
        DOCUMENT = "document", _("Tài liệu")

    bulletin = models.ForeignKey(Bulletin, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    asset = models.ForeignKey("media.MediaAsset", on_delete=models.PROTECT, related_name="attachments")
    title = models.CharField(max_length=300, blank=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("tệp đính kèm")
        verbose_name_plural = _("tệp đính kèm")

    def __str__(self) -> str:
        return f"{self.kind}:{self.asset_id}"


class FeedItem(models.Model):
    """A bulletin in a unit's inbox: published by the province to a commune, or shared up by a commune."""

    class Direction(models.TextChoices):
        DOWN = "down", _("Tỉnh gửi xuống")
        UP = "up", _("Xã đề xuất lên")

    class State(models.TextChoices):
        NEW = "new", _("Mới")
        QUEUED = "queued", _("Chờ chèn tự động")
        # the priority bulletin's play command went to the commune's clusters (loa.broadcast.handoffs)
        INSERTED = "inserted", _("Đã chèn tự động")
        # it could not be (no active cluster, no audio): the reason is in ``note``; the commune takes it by hand
        NOT_INSERTED = "not_inserted", _("Không chèn tự động được")
        HANDED_OFF = "handed_off", _("Đã chuyển phát khẩn cấp")
        TAKEN = "taken", _("Đã nhận")
        DECLINED = "declined", _("Đã từ chối")
        WITHDRAWN = "withdrawn", _("Đã thu hồi")

    bulletin = models.ForeignKey(Bulletin, on_delete=models.CASCADE, related_name="feed_items")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="feed_items")
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.DOWN)
    state = models.CharField(max_length=16, choices=State.choices, default=State.NEW)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("bản tin đến")
        verbose_name_plural = _("bản tin đến")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["bulletin", "unit", "direction"], name="feed_item_unique")
        ]
        indexes = [models.Index(fields=["unit", "state"])]

    def __str__(self) -> str:
        return f"{self.unit_id} ← {self.bulletin_id} ({self.state})"


class BroadcastHandoff(models.Model):
    """An event for the broadcasting side: play this emergency bulletin now in ``unit``, or stop it.

    The scheduling/broadcast issue consumes these rows (``consumed_at``); content only writes them.
    """

    class Kind(models.TextChoices):
        EMERGENCY = "emergency", _("Phát khẩn cấp")
        PRIORITY = "priority", _("Chèn ưu tiên")
        CANCEL = "cancel", _("Hủy phát")

    bulletin = models.ForeignKey(Bulletin, on_delete=models.CASCADE, related_name="handoffs")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    consumed_at = models.DateTimeField(null=True, blank=True)
    consumed_by = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = _("chuyển sang phát thanh")
        verbose_name_plural = _("chuyển sang phát thanh")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["consumed_at", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind}:{self.bulletin_id}→{self.unit_id}"
