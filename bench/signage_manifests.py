"""Board manifests for a province of 1,000 e-bulletin boards (issue 9 budget: ≤ 1 s for 1,000 boards).

Run: LOA_DATA_DIR=$(mktemp -d) [LOA_DATABASE_URL=postgres://…] .venv/bin/python bench/signage_manifests.py
     [--boards 1000] [--runs 3]

Seeds the province (Quảng Ninh, 22) with boards spread over its communes and zones — 70 % landscape 1920×1080,
20 % portrait 1080×1920, 10 % LED 192×96 — real slides (a fitted text, an image resized per class, a ticker, a
clock), a province playlist on the whole province every day 06:00 for 16 hours, a commune playlist on every tenth
commune at 11:00 and 17:00 (priority), ten boards with a schedule of their own, an active emergency in one commune
and a kill switch on one board. Then compiles every board's signed 48-hour manifest:

* ``cold``: every board gets a new version (first compile, or a new hour for all);
* ``warm``: nothing changed, nothing re-signed (the hourly run on a quiet day);
* ``province_schedule_saved_and_compiled``: an officer schedules a playlist on the whole province — the save and
  the recompilation of every board (after commit), timed together.

Prints JSON (seconds per run, the median, distinct timelines, manifest sizes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loa.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--boards", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--province", default="22")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone
    from PIL import Image

    from loa.accounts.models import RoleAssignment, User
    from loa.accounts.roles import Role
    from loa.broadcast import approval
    from loa.broadcast.models import Emergency
    from loa.broadcast.services import ScheduleSpec
    from loa.fleet.models import BoardScreen, Device, DeviceKind, KillSwitch
    from loa.signage.compile import compile_board_manifests
    from loa.signage.models import BoardManifestRow
    from loa.signage.scheduling import do_schedule_playlist
    from loa.signage.services import SlideInput, do_create_playlist, do_create_slide
    from loa.units.catalogue import do_import_units
    from loa.units.models import Level, Unit
    from loa_protocol.topics import new_device_id

    call_command("migrate", verbosity=0)
    do_import_units(only_province=args.province)
    province = Unit.objects.get(code=args.province, level=Level.PROVINCE)
    communes = list(province.children.filter(level=Level.COMMUNE).order_by("code"))
    author = User.objects.create_user(username="bench-author", password=None, full_name="Soạn")
    approver = User.objects.create_user(username="bench-approver", password=None, full_name="Duyệt")
    RoleAssignment.objects.create(user=author, role=Role.PROVINCE_ADMIN, unit=province)
    RoleAssignment.objects.create(user=approver, role=Role.APPROVER, unit=province)

    classes = [("landscape", 1920, 1080)] * 7 + [("portrait", 1080, 1920)] * 2 + [("led_192x96", 192, 96)]
    boards = Device.objects.bulk_create(
        [
            Device(
                device_id=new_device_id(),
                unit=communes[i % len(communes)],
                kind=DeviceKind.EBOARD,
                serial=f"BB-{i}",
            )
            for i in range(args.boards)
        ]
    )
    BoardScreen.objects.bulk_create(
        [
            BoardScreen(
                device=b, screen_class=c, width=w, height=h, orientation="portrait" if h > w else "landscape"
            )
            for b, (c, w, h) in zip(boards, [classes[i % 10] for i in range(len(boards))], strict=True)
        ]
    )
    every = ["landscape", "portrait", "led_192x96"]
    with tempfile.TemporaryDirectory() as tmp:
        img = Path(tmp) / "anh.png"
        Image.new("RGB", (1600, 900), (20, 120, 200)).save(img)
        text = do_create_slide(
            province,
            SlideInput("text", text="Tỉnh Quảng Ninh: phòng chống bão", screen_classes=every),
            actor=author,
        )
        image = do_create_slide(province, SlideInput("image", file=img, screen_classes=every), actor=author)
    ticker = do_create_slide(province, SlideInput("ticker", text="Đường dây nóng 1900 1234"), actor=author)
    clock = do_create_slide(province, SlideInput("clock"), actor=author)
    playlist = do_create_playlist(
        province, "Tỉnh", [(text, 10), (image, 8), (ticker, 30), (clock, 10)], actor=author
    )
    approval.do_decide_programme(playlist.programme, approve=True, actor=approver)

    def spec(
        title: str, times: list[str], units: list[Unit], devices: list[Device] = (), priority: int = 4
    ) -> ScheduleSpec:  # type: ignore[assignment]
        return ScheduleSpec(title=title, programme=None, kind="daily", times=times, target_units=units,
                            target_devices=list(devices), priority=priority)  # fmt: skip

    do_schedule_playlist(
        spec("Cả ngày", ["06:00"], [province]), playlist, minutes=16 * 60, owner=province, actor=author
    )
    for c in communes[::10]:
        do_schedule_playlist(spec(f"Xã {c.code}", ["11:00", "17:00"], [c], priority=3), playlist, minutes=30,
                             owner=province, actor=author)  # fmt: skip
    do_schedule_playlist(
        spec("Riêng", ["09:00"], [], boards[:10]), playlist, minutes=15, owner=province, actor=author
    )
    now = timezone.now()
    Emergency.objects.create(unit=communes[0], title="Lũ quét", text="Sơ tán ngay", item_id="em-bench",
                             sha256="0" * 64, media_url="/x", duration_s=10, requested_at=now)  # fmt: skip
    KillSwitch.objects.create(device=boards[-1], scope=boards[-1].unit, engaged_at=now, reason="bench")

    def run(at: dt.datetime) -> dict[str, float | int]:
        cpu = time.process_time()
        r = compile_board_manifests(at)
        cpu = (
            time.process_time() - cpu
        )  # this process's CPU time: less swayed by a loaded machine than the wall clock
        return {
            "seconds": round(r.seconds, 3),
            "cpu_seconds": round(cpu, 3),
            "boards": r.boards,
            "changed": r.changed,
            "unchanged": r.unchanged,
        }

    out: dict[str, object] = {"boards": args.boards, "communes": len(communes), "runs": {}}
    cold, warm, scheduled = [], [], []
    for i in range(args.runs):
        at = now + dt.timedelta(hours=25 * (i + 1))  # a new horizon: every board re-signed
        cold.append(run(at))
        warm.append(run(at))
        # an officer schedules the playlist on the whole province: the save and, once it commits, the
        # recompilation of every board it reaches (compile_later), timed together as the officer waits for them
        t0 = time.perf_counter()
        do_schedule_playlist(spec(f"Thêm {i}", ["20:00"], [province]), playlist, minutes=10, owner=province,
                             actor=author)  # fmt: skip
        scheduled.append({"seconds": round(time.perf_counter() - t0, 3)})
    sizes = [len(bytes(p)) for p in BoardManifestRow.objects.values_list("payload", flat=True)]
    out["distinct_contents"] = BoardManifestRow.objects.values("content_hash").distinct().count()
    out["runs"] = {"cold": cold, "warm": warm, "province_schedule_saved_and_compiled": scheduled}
    out["median_s"] = {k: statistics.median(x["seconds"] for x in v) for k, v in out["runs"].items()}  # type: ignore[union-attr]
    out["median_cpu_s"] = {"cold": statistics.median(x["cpu_seconds"] for x in cold),
                           "warm": statistics.median(x["cpu_seconds"] for x in warm)}  # fmt: skip
    out["manifest_bytes"] = {"min": min(sizes), "median": int(statistics.median(sizes)), "max": max(sizes)}
    json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
    print()


if __name__ == "__main__":
    main()
