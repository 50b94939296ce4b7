"""``loa audit verify``: walk the audit hash chain and name the first broken entry."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loa.audit.log import verify


class Command(BaseCommand):
    help = "Nhật ký kiểm toán: `loa audit verify` kiểm tra chuỗi hash và chỉ ra mục đầu tiên bị sửa."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="kiểm tra toàn bộ chuỗi hash")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            result = verify()
            if not result.ok:
                raise CommandError(
                    f"Chuỗi kiểm toán bị phá vỡ tại mục #{result.broken_id}: {result.reason} "
                    f"({result.checked} mục trước đó hợp lệ)."
                )
            self.stdout.write(f"Chuỗi kiểm toán hợp lệ: {result.checked} mục.")
