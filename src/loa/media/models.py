"""The media library: one row per asset a unit owns; the bytes live on disk, addressed by their sha256."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MediaAsset(models.Model):
    class Kind(models.TextChoices):
        AUDIO = "audio", _("Âm thanh")
        IMAGE = "image", _("Hình ảnh")
        VIDEO = "video", _("Video")
        DOCUMENT = "document", _("Tài liệu")

    kind = models.CharField(_("loại"), max_length=16, choices=Kind.choices, default=Kind.AUDIO)
    # The stored device-format file (for audio: the normalised mono MP3) is at a path derived from this.
    sha256 = models.CharField(_("sha256 tệp đã xử lý"), max_length=64, db_index=True)
    mime_type = models.CharField(_("kiểu MIME"), max_length=100, default="audio/mpeg")
    size_bytes = models.PositiveBigIntegerField(_("kích thước (byte)"), default=0)
    original_sha256 = models.CharField(_("sha256 tệp gốc"), max_length=64, db_index=True)
    original_name = models.CharField(_("tên tệp gốc"), max_length=255, blank=True)
    original_format = models.CharField(_("định dạng gốc"), max_length=100, blank=True)
    original_codec = models.CharField(_("mã hóa gốc"), max_length=50, blank=True)
    original_ext = models.CharField(_("đuôi tệp gốc lưu trữ"), max_length=10, blank=True)
    duration_s = models.FloatField(_("thời lượng (giây)"), null=True, blank=True)
    loudness_lufs = models.FloatField(_("độ lớn (LUFS)"), null=True, blank=True)
    true_peak_dbtp = models.FloatField(_("đỉnh thực (dBTP)"), null=True, blank=True)
    input_loudness_lufs = models.FloatField(_("độ lớn tệp gốc (LUFS)"), null=True, blank=True)
    sample_rate = models.PositiveIntegerField(_("tần số lấy mẫu (Hz)"), null=True, blank=True)
    waveform = models.JSONField(_("dạng sóng"), default=list, blank=True)
    # The owner unit; null for a system asset (ingested from the command line without --unit).
    unit = models.ForeignKey(
        "units.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="media_assets"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("tạo lúc"), default=timezone.now)

    class Meta:
        verbose_name = _("tệp đa phương tiện")
        verbose_name_plural = _("thư viện đa phương tiện")
        ordering = ["-created_at"]
        constraints = [
            # The same content is one asset per owner: uploading it twice gives the same asset. Another unit
            # uploading the same recording gets its own row (own owner, own audit trail) over the same file.
            models.UniqueConstraint(
                fields=["unit", "sha256"], condition=Q(unit__isnull=False), name="media_asset_unit_sha256"
            ),
            models.UniqueConstraint(
                fields=["sha256"], condition=Q(unit__isnull=True), name="media_asset_system_sha256"
            ),
        ]

    def __str__(self) -> str:
        return self.original_name or self.sha256[:12]

    @property
    def file_name(self) -> str:
        return f"{self.sha256}.mp3"
