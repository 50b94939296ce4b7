"""Administrative units: province → commune (xã, phường, đặc khu) → zone (thôn, bản, tổ dân phố).

Every unit stores its materialised ``path`` (the codes from the root, each followed by ``/``), so a whole
subtree is one indexed ``path LIKE 'prefix%'`` query.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.IntegerChoices):
    PROVINCE = 1, _("Tỉnh/thành phố")
    COMMUNE = 2, _("Xã/phường/đặc khu")
    ZONE = 3, _("Thôn/bản/tổ dân phố")


class Kind(models.TextChoices):
    TINH = "tinh", _("Tỉnh")
    THANH_PHO = "thanh_pho", _("Thành phố trực thuộc trung ương")
    XA = "xa", _("Xã")
    PHUONG = "phuong", _("Phường")
    DAC_KHU = "dac_khu", _("Đặc khu")
    THON = "thon", _("Thôn")
    BAN = "ban", _("Bản")
    TO_DAN_PHO = "to_dan_pho", _("Tổ dân phố")
    KHU_PHO = "khu_pho", _("Khu phố")
    AP = "ap", _("Ấp")
    BUON = "buon", _("Buôn")
    PHUM = "phum", _("Phum/sóc")


KINDS_BY_LEVEL: dict[int, tuple[str, ...]] = {
    Level.PROVINCE: (Kind.TINH, Kind.THANH_PHO),
    Level.COMMUNE: (Kind.XA, Kind.PHUONG, Kind.DAC_KHU),
    Level.ZONE: (Kind.THON, Kind.BAN, Kind.TO_DAN_PHO, Kind.KHU_PHO, Kind.AP, Kind.BUON, Kind.PHUM),
}


class UnitQuerySet(models.QuerySet["Unit"]):
    def subtree(self, unit: Unit) -> UnitQuerySet:
        """The unit and everything below it, in one query."""
        return self.filter(path__startswith=unit.path)

    def provinces(self) -> UnitQuerySet:
        return self.filter(level=Level.PROVINCE)

    def communes(self) -> UnitQuerySet:
        return self.filter(level=Level.COMMUNE)

    def zones(self) -> UnitQuerySet:
        return self.filter(level=Level.ZONE)


class Unit(models.Model):
    code = models.CharField(_("mã"), max_length=16, unique=True)
    name = models.CharField(_("tên"), max_length=200)
    kind = models.CharField(_("loại"), max_length=16, choices=Kind.choices)
    level = models.PositiveSmallIntegerField(_("cấp"), choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("đơn vị cha"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=255, unique=True, editable=False)
    latitude = models.FloatField(_("vĩ độ"), null=True, blank=True)
    longitude = models.FloatField(_("kinh độ"), null=True, blank=True)
    is_active = models.BooleanField(_("đang hoạt động"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = UnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("đơn vị hành chính")
        verbose_name_plural = _("đơn vị hành chính")
        ordering = ["path"]
        indexes = [models.Index(fields=["level", "path"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def save(self, *args: object, **kwargs: object) -> None:
        self.path = (self.parent.path if self.parent_id and self.parent else "") + f"{self.code}/"
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def is_within(self, other: Unit) -> bool:
        """True when this unit is ``other`` or lies in its subtree."""
        return self.path.startswith(other.path)

    def ancestors(self) -> UnitQuerySet:
        codes = [c for c in self.path.split("/") if c]
        return Unit.objects.filter(code__in=codes).order_by("level")

    @property
    def province(self) -> Unit:
        if self.level == Level.PROVINCE or self.parent is None:
            return self
        return self.parent.province


class LegacyUnit(models.Model):
    """A pre-2025 unit (three tiers: province, district, commune), kept for imported history."""

    class LegacyLevel(models.IntegerChoices):
        PROVINCE = 1, _("Tỉnh (trước 2025)")
        DISTRICT = 2, _("Huyện/quận (trước 2025)")
        COMMUNE = 3, _("Xã/phường (trước 2025)")

    code = models.CharField(_("mã cũ"), max_length=16)
    level = models.PositiveSmallIntegerField(_("cấp"), choices=LegacyLevel.choices)
    name = models.CharField(_("tên"), max_length=200)
    parent_code = models.CharField(_("mã đơn vị cha cũ"), max_length=16, blank=True)
    new_unit = models.ForeignKey(
        Unit,
        verbose_name=_("đơn vị mới"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="legacy_units",
    )
    note = models.CharField(_("ghi chú"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("đơn vị cũ (trước 2025)")
        verbose_name_plural = _("đơn vị cũ (trước 2025)")
        constraints = [models.UniqueConstraint(fields=["level", "code"], name="legacy_unit_level_code")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class UnitSetting(models.Model):
    """A setting of one unit (later issues add guardrails here); every change is audited."""

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="settings")
    key = models.CharField(max_length=64)
    value = models.JSONField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("thiết lập đơn vị")
        verbose_name_plural = _("thiết lập đơn vị")
        constraints = [models.UniqueConstraint(fields=["unit", "key"], name="unit_setting_unique")]

    def __str__(self) -> str:
        return f"{self.unit.code}:{self.key}"
