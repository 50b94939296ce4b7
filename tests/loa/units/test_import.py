"""`loa units import`: the national list, idempotent, zero-padded codes and kinds."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from loa.audit.models import AuditEntry
from loa.units.models import LegacyUnit, Level, Unit


def run(*args: str) -> str:
    out = StringIO()
    call_command("units", *args, stdout=out)
    return out.getvalue().strip()


def test_import_loads_34_provinces_and_3321_communes_and_is_idempotent(db: Any) -> None:
    assert run("import") == "34 provinces, 3321 communes"
    snapshot = list(Unit.objects.order_by("code").values_list("code", "name", "kind", "path", "parent_id"))
    audits = AuditEntry.objects.count()
    assert run("import") == "34 provinces, 3321 communes"
    assert (
        list(Unit.objects.order_by("code").values_list("code", "name", "kind", "path", "parent_id"))
        == snapshot
    )
    assert AuditEntry.objects.count() == audits, "a second run changes nothing, so it records nothing"

    kinds = {k: Unit.objects.filter(kind=k).count() for k in ("tinh", "thanh_pho", "xa", "phuong", "dac_khu")}
    assert kinds == {"tinh": 28, "thanh_pho": 6, "xa": 2621, "phuong": 687, "dac_khu": 13}
    hanoi = Unit.objects.get(code="01")
    assert hanoi.name == "Thành phố Hà Nội" and hanoi.level == Level.PROVINCE
    hoan_kiem = Unit.objects.get(code="00070")
    assert (
        hoan_kiem.name == "Phường Hoàn Kiếm" and hoan_kiem.parent == hanoi and hoan_kiem.path == "01/00070/"
    )
    assert all(len(c) == 5 for c in Unit.objects.communes().values_list("code", flat=True))


def test_subtree_is_one_query(tree: dict[str, Unit], django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        codes = set(Unit.objects.subtree(tree["province"]).values_list("code", flat=True))
    assert codes == {"22", "06652", "06658", "06652.001", "06658.001"}


def test_import_rejects_a_bad_province_code(db: Any) -> None:
    with pytest.raises(CommandError, match="2 chữ số"):
        run("import", "--province", "abc")


def test_legacy_crosswalk_import(tree: dict[str, Unit], tmp_path: Path) -> None:
    path = tmp_path / "legacy.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["level", "code", "name", "parent_code", "new_code"])
        writer.writerow(["1", "22", "Tỉnh Quảng Ninh", "", "22"])
        writer.writerow(["2", "193", "Thành phố Hạ Long", "22", ""])
        writer.writerow(["3", "6652", "Phường Hà Tu", "193", "06652"])
    assert "3 đơn vị cũ (3 mới), 2 đã nối" in run("import-legacy", str(path))
    assert LegacyUnit.objects.get(code="06652").new_unit == tree["a"]
    assert "3 đơn vị cũ (0 mới)" in run("import-legacy", str(path)), "idempotent"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["9", "1", "x", "", ""], "cấp phải là 1"),
        (["3", "abc", "Xã A", "", ""], "mã phải là số"),
        (["3", "99999", "Xã A", "", "77777"], "không có đơn vị mới mã 77777"),
    ],
)
def test_legacy_import_refuses_bad_rows_and_keeps_nothing(
    tree: dict[str, Unit], tmp_path: Path, row: list[str], message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "level,code,name,parent_code,new_code\n1,22,Tỉnh Quảng Ninh,,22\n" + ",".join(row) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(CommandError, match=message):
        run("import-legacy", str(path))
    assert LegacyUnit.objects.count() == 0
