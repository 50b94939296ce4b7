"""``loa units import`` and ``loa units import-legacy``."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loa.units.catalogue import do_import_units
from loa.units.legacy import LegacyImportError, do_import_legacy


class Command(BaseCommand):
    help = (
        "Đơn vị hành chính: nạp 34 tỉnh và 3.321 xã (import) hoặc bảng đơn vị cũ trước 2025 (import-legacy)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser(
            "import", help="nạp/cập nhật tỉnh và xã từ vietnam-provinces (chạy lại không đổi gì)"
        )
        imp.add_argument("--province", help="chỉ nạp một tỉnh (mã 2 chữ số), ví dụ 01")
        leg = sub.add_parser(
            "import-legacy", help="nạp đơn vị cũ (trước 2025) và bảng chuyển đổi cũ→mới từ CSV"
        )
        leg.add_argument("csv_file", help="CSV có các cột: level, code, name, parent_code, new_code")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "import":
            only = options.get("province")
            if only is not None:
                only = only.strip().zfill(2)
                if not only.isdigit() or len(only) != 2:
                    raise CommandError("Mã tỉnh phải gồm 2 chữ số, ví dụ 01 (Hà Nội).")
            result = do_import_units(only_province=only)
            self.stdout.write(result.summary())
        else:
            path = Path(options["csv_file"])
            if not path.is_file():
                raise CommandError(f"Không tìm thấy tệp {path}.")
            try:
                with path.open(newline="", encoding="utf-8-sig") as fh:
                    legacy = do_import_legacy(csv.DictReader(fh))
            except (LegacyImportError, UnicodeDecodeError) as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                f"{legacy['legacy']} đơn vị cũ ({legacy['created']} mới), {legacy['linked']} đã nối với đơn vị mới"
            )
