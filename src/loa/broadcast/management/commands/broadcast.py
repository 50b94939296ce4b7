"""``loa broadcast compile`` (every hour, and after changes), ``loa broadcast handoffs`` (bulletins handed over)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Phát thanh: biên dịch lịch phát 48 giờ cho mọi cụm loa (compile), xử lý bản tin chuyển sang (handoffs)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["compile", "handoffs"])
        parser.add_argument("--unit", default="", help="chỉ các cụm loa của đơn vị này (compile)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["what"] == "handoffs":
            from loa.broadcast.handoffs import consume

            self.stdout.write(json.dumps(consume(), ensure_ascii=False))
            return
        from loa.broadcast.compile import compile_manifests
        from loa.units.models import Unit

        paths = None
        if options["unit"]:
            unit = Unit.objects.filter(code=options["unit"]).first()
            if unit is None:
                raise CommandError(f"Không có đơn vị mã {options['unit']!r}.")
            paths = [unit.path]
        r = compile_manifests(unit_paths=paths)
        self.stdout.write(
            json.dumps(
                {"devices": r.devices, "changed": r.changed, "unchanged": r.unchanged, "schedules": r.schedules,
                 "entries": r.entries, "seconds": round(r.seconds, 3)},
                ensure_ascii=False,
            )
        )  # fmt: skip
