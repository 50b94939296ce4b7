"""``loa signage compile [--unit CODE]``: every board's signed 48-hour manifest (every hour, and after changes).

``loa signage render-led <board> [--queue]``: the files an LED controller plays for the board (``loa.signage.led``:
a PNG per slide, an H.264 MP4, ``playlist.json``), now, or as a job with ``--queue``."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Bảng tin điện tử: biên dịch lịch trình chiếu 48 giờ đã ký cho mọi bảng tin (compile); "
        "dựng tệp phát cho bộ điều khiển bảng LED (render-led <mã bảng tin>)"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["compile", "render-led"])
        parser.add_argument(
            "board", nargs="?", default="", help="render-led: mã bảng tin (loa-…) hoặc số sê-ri"
        )
        parser.add_argument("--unit", default="", help="chỉ các bảng tin của đơn vị này")
        parser.add_argument("--queue", action="store_true", help="render-led: chạy thành tác vụ nền")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["what"] == "render-led":
            self._render_led(options["board"], queue=options["queue"])
            return
        from loa.signage.compile import compile_board_manifests
        from loa.units.models import Unit

        paths = None
        if options["unit"]:
            unit = Unit.objects.filter(code=options["unit"]).first()
            if unit is None:
                raise CommandError(f"Không có đơn vị mã {options['unit']!r}.")
            paths = [unit.path]
        r = compile_board_manifests(unit_paths=paths)
        self.stdout.write(
            json.dumps(
                {"boards": r.boards, "changed": r.changed, "unchanged": r.unchanged, "schedules": r.schedules,
                 "seconds": round(r.seconds, 3)},
                ensure_ascii=False,
            )
        )  # fmt: skip

    def _render_led(self, board: str, *, queue: bool) -> None:
        from django.db.models import Q

        from loa.errors import Refusal
        from loa.fleet.models import Device
        from loa.jobs.run import enqueue
        from loa.signage import led

        if not board:
            raise CommandError("Thiếu mã bảng tin: loa signage render-led <mã bảng tin>.")
        device = Device.objects.select_related("unit").filter(Q(device_id=board) | Q(serial=board)).first()
        if device is None:
            raise CommandError(f"Không có bảng tin {board!r}.")
        if queue:
            job = enqueue("signage.render_led", "loa.signage.led.render_led_job", unit=device.unit,
                          device_id=device.device_id)  # fmt: skip
            self.stdout.write(json.dumps({"job": job.pk, "state": str(job.state)}, ensure_ascii=False))
            return
        try:
            package = led.do_render_led(device)
        except Refusal as exc:
            raise CommandError(exc.message) from None
        out = led.package_dir(device.device_id)
        self.stdout.write(
            json.dumps(
                {"board": device.device_id, "folder": str(out), "slides": len(package.slides),
                 "duration_s": package.video.get("duration_s"), "manifest_version": package.manifest_version},
                ensure_ascii=False,
            )
        )  # fmt: skip
