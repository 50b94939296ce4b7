"""The pre-2025 unit table and its old→new crosswalk, filled by import for history."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from loa.audit.log import record
from loa.units.models import LegacyUnit, Unit

REQUIRED_COLUMNS = {"level", "code", "name"}


class LegacyImportError(Exception):
    pass


def do_import_legacy(rows: Iterable[dict[str, str]]) -> dict[str, int]:
    """Upsert legacy units from rows (level 1–3, code, name, parent_code, new_code); validate every row first."""
    parsed = []
    for line, row in enumerate(rows, start=2):
        missing = REQUIRED_COLUMNS - {k for k, v in row.items() if k and v is not None}
        if missing:
            raise LegacyImportError(f"Dòng {line}: thiếu cột {', '.join(sorted(missing))}.")
        level_raw = (row.get("level") or "").strip()
        if level_raw not in {"1", "2", "3"}:
            raise LegacyImportError(
                f"Dòng {line}: cấp phải là 1 (tỉnh), 2 (huyện) hoặc 3 (xã), không phải {level_raw!r}."
            )
        code = (row.get("code") or "").strip()
        name = (row.get("name") or "").strip()
        if not code.isdigit() or not name:
            raise LegacyImportError(f"Dòng {line}: mã phải là số và tên không được trống.")
        width = {"1": 2, "2": 3, "3": 5}[level_raw]
        parsed.append(
            (
                line,
                int(level_raw),
                code.zfill(width),
                name[:200],
                (row.get("parent_code") or "").strip(),
                (row.get("new_code") or "").strip(),
            )
        )
    new_units = {u.code: u for u in Unit.objects.filter(code__in=[p[5] for p in parsed if p[5]])}
    for line, _level, _code, _name, _parent, new_code in parsed:
        if new_code and new_code.zfill(5) not in new_units and new_code.zfill(2) not in new_units:
            raise LegacyImportError(
                f"Dòng {line}: không có đơn vị mới mã {new_code}. Chạy `loa units import` trước."
            )
    created = linked = 0
    with transaction.atomic():
        for _line, level, code, name, parent, new_code in parsed:
            new_unit = (
                new_units.get(new_code.zfill(5)) or new_units.get(new_code.zfill(2)) if new_code else None
            )
            _obj, was_created = LegacyUnit.objects.update_or_create(
                level=level, code=code, defaults={"name": name, "parent_code": parent, "new_unit": new_unit}
            )
            created += int(was_created)
            linked += int(new_unit is not None)
        record(
            "unit.legacy_imported",
            message="Nạp bảng đơn vị cũ",
            data={"rows": len(parsed), "created": created},
        )
    return {"legacy": len(parsed), "created": created, "linked": linked}
