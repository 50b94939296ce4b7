"""``loa bulletins expire``: end the bulletins whose validity window is over (run it every few minutes)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from loa.content.workflow import expire_due


class Command(BaseCommand):
    help = "Bản tin: kết thúc các bản tin đã hết thời hạn hiệu lực (expire). Chạy định kỳ, ví dụ mỗi 5 phút."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        exp = sub.add_parser("expire", help="chuyển các bản tin quá hạn sang “hết hiệu lực” (có ghi nhật ký)")
        exp.add_argument("--json", action="store_true", help="in kết quả dạng JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        count = expire_due()
        if options.get("json"):
            self.stdout.write(json.dumps({"expired": count}))
        else:
            self.stdout.write(f"Đã kết thúc {count} bản tin hết hiệu lực.")
