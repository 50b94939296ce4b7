"""``loa bench ingest``: gateway ingest benchmark (one JSON object on stdout)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Đo hiệu năng: loa bench ingest (trạng thái/giây, nhật ký phát/giây, đúng một lần)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["ingest"])
        parser.add_argument("--devices", type=int, default=200)
        parser.add_argument("--heartbeats", type=int, default=20000)
        parser.add_argument("--playlogs", type=int, default=20000)
        parser.add_argument("--publishers", type=int, default=4)

    def handle(self, *args: Any, **options: Any) -> None:
        from loa.gateway.bench import run_ingest

        if options["devices"] < 1:
            raise CommandError("--devices phải ≥ 1")
        result = run_ingest(
            devices=options["devices"],
            heartbeats=options["heartbeats"],
            playlogs=options["playlogs"],
            publishers=options["publishers"],
        )
        self.stdout.write(json.dumps(result, ensure_ascii=False))
