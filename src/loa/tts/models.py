"""Text-to-speech: the abbreviation table editors extend, and the speech clips synthesized from text."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Abbreviation(models.Model):
    """One entry of a unit's abbreviation table (``UBND`` → "ủy ban nhân dân"); overrides the bundled file.

    An entry of a unit applies to its subtree (a province's entries to its communes; a commune's own entry wins).
    An entry with no unit applies everywhere (kept by system administrators in the admin). With ``near`` words
    it is a context rule: read so only when one of those words is among the four words around it.
    """

    unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("đơn vị"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="abbreviations",
    )
    text = models.CharField(_("viết tắt"), max_length=50, help_text=_("Phân biệt chữ hoa, chữ thường."))
    reading = models.CharField(_("đọc là"), max_length=300)
    near = models.CharField(
        _("khi gần các từ"),
        max_length=300,
        blank=True,
        default="",
        help_text=_(
            "Để trống: luôn đọc như vậy. Ghi các từ, ngăn bằng dấu phẩy: chỉ đọc như vậy khi gần các từ đó."
        ),
    )
    active = models.BooleanField(_("đang dùng"), default=True)
    updated_at = models.DateTimeField(_("cập nhật lúc"), auto_now=True)

    class Meta:
        verbose_name = _("từ viết tắt")
        verbose_name_plural = _("từ viết tắt")
        ordering = ["text", "near"]
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "text", "near"],
                condition=models.Q(unit__isnull=False),
                name="tts_abbreviation_unique_per_unit",
            ),
            models.UniqueConstraint(
                fields=["text", "near"],
                condition=models.Q(unit__isnull=True),
                name="tts_abbreviation_unique_global",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.text} → {self.reading}"

    @property
    def near_words(self) -> tuple[str, ...]:
        return tuple(w.strip() for w in self.near.split(",") if w.strip())


class SpeechClip(models.Model):
    """Audio synthesized from text for a unit, processed by the media pipeline (MP3 mono, loudness-normalized)."""

    unit = models.ForeignKey(
        "units.Unit",
        verbose_name=_("đơn vị"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="speech_clips",
    )
    text = models.TextField(_("văn bản"))
    read_as = models.TextField(_("đọc là"))
    voice = models.CharField(_("giọng"), max_length=16)
    speed = models.PositiveSmallIntegerField(_("tốc độ (từ/phút)"))
    engine = models.CharField(_("bộ tổng hợp"), max_length=32)
    sha256 = models.CharField(_("sha256"), max_length=64, db_index=True)
    path = models.CharField(_("tệp"), max_length=500)
    duration_s = models.FloatField(_("thời lượng (giây)"))
    loudness_lufs = models.FloatField(_("độ lớn (LUFS)"))
    media_asset_id = models.CharField(_("mã tệp âm thanh"), max_length=64, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("người tạo"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("tạo lúc"), auto_now_add=True)

    class Meta:
        verbose_name = _("bản đọc tổng hợp")
        verbose_name_plural = _("bản đọc tổng hợp")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.text[:40]} ({self.voice}, {self.duration_s:.1f} s)"
