"""Loading the national list of units (34 provinces, 3,321 communes) from ``vietnam-provinces``."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from vietnam_provinces import Province, Ward

from loa.audit.log import record
from loa.units.models import Kind, Level, Unit

_KIND_BY_DIVISION = {
    "tỉnh": Kind.TINH,
    "thành phố trung ương": Kind.THANH_PHO,
    "xã": Kind.XA,
    "phường": Kind.PHUONG,
    "đặc khu": Kind.DAC_KHU,
}


@dataclass
class ImportResult:
    provinces: int
    communes: int
    created: int
    updated: int

    def summary(self) -> str:
        return f"{self.provinces} provinces, {self.communes} communes"


def province_code(value: int) -> str:
    return f"{int(value):02d}"


def commune_code(value: int) -> str:
    return f"{int(value):05d}"


def do_import_units(*, only_province: str | None = None, actor: object = None) -> ImportResult:
    """Create or update provinces and communes; idempotent: a second run changes nothing."""
    existing = {u.code: u for u in Unit.objects.filter(level__in=[Level.PROVINCE, Level.COMMUNE])}
    created = updated = 0
    with transaction.atomic():
        provinces: dict[str, Unit] = {}
        for p in Province.iter_all():
            code = province_code(p.code.value)
            if only_province and code != only_province:
                continue
            kind = _KIND_BY_DIVISION[p.division_type.value]
            unit = existing.get(code)
            if unit is None:
                unit = Unit.objects.create(code=code, name=p.name, kind=kind, level=Level.PROVINCE)
                created += 1
            elif (unit.name, unit.kind) != (p.name, kind):
                unit.name, unit.kind = p.name, kind
                unit.save(update_fields=["name", "kind"])
                updated += 1
            provinces[code] = unit
        new_communes = []
        for w in Ward.iter_all():
            parent = provinces.get(province_code(w.province_code.value))
            if parent is None:
                continue
            code = commune_code(w.code.value)
            kind = _KIND_BY_DIVISION[w.division_type.value]
            unit = existing.get(code)
            if unit is None:
                new_communes.append(
                    Unit(
                        code=code,
                        name=w.name,
                        kind=kind,
                        level=Level.COMMUNE,
                        parent=parent,
                        path=f"{parent.path}{code}/",
                    )
                )
            elif (unit.name, unit.kind, unit.parent_id) != (w.name, kind, parent.pk):
                unit.name, unit.kind, unit.parent = w.name, kind, parent
                unit.save()
                updated += 1
        Unit.objects.bulk_create(new_communes, batch_size=500)
        created += len(new_communes)
        if created or updated:
            record(
                "unit.catalogue_imported",
                actor=actor,
                message="Nạp danh mục đơn vị hành chính",
                data={"created": created, "updated": updated},
            )
    return ImportResult(
        provinces=Unit.objects.provinces().count(),
        communes=Unit.objects.communes().count(),
        created=created,
        updated=updated,
    )
