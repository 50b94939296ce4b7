"""``loa analytics rebuild --from YYYY-MM-DD --to YYYY-MM-DD``: recount the daily rollups of a period."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loa.analytics.rollup import rebuild, rollup_recent


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as e:
        raise CommandError(f"Ngày không hợp lệ: {text!r} (cần dạng YYYY-MM-DD)") from e


class Command(BaseCommand):
    help = "Thống kê: tổng hợp lại số liệu theo ngày (giờ Việt Nam) cho một khoảng ngày, hoặc hôm qua và hôm nay."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rb = sub.add_parser("rebuild", help="tổng hợp lại các ngày từ --from đến --to (kể cả hai đầu)")
        rb.add_argument("--from", dest="first", required=True, type=_date)
        rb.add_argument("--to", dest="last", required=True, type=_date)
        rb.add_argument("--json", action="store_true", help="in kết quả dạng JSON")
        rc = sub.add_parser("recent", help="tổng hợp hôm qua, hôm nay và những ngày có nhật ký phát gửi muộn")
        rc.add_argument("--json", action="store_true", help="in kết quả dạng JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "rebuild":
            if options["last"] < options["first"]:
                raise CommandError("--to phải không sớm hơn --from.")
            if (options["last"] - options["first"]).days > 3660:
                raise CommandError("Khoảng ngày quá dài (tối đa 10 năm).")
            r = rebuild(options["first"], options["last"])
        else:
            r = rollup_recent()
        if options.get("json"):
            self.stdout.write(json.dumps({"days": r.days, "rows": r.rows, "seconds": round(r.seconds, 3)}))
        else:
            self.stdout.write(
                f"Đã tổng hợp {r.days} ngày ({r.rows} dòng số liệu) trong {r.seconds:.2f} giây."
            )
