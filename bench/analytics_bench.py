"""Analytics on demo-size data (SQLite by default): seed one province, its communes and clusters, a schedule at
06:00 and 17:00 for a month with proof-of-play logs, then time the rollup of one day, the rebuild of the month, the
KPIs of the province and the monthly XLSX report of the province and of a commune. Prints one JSON object; figures
in docs/benchmarks.md. Not the 10-million-row PostgreSQL benchmark of issue 12 (a later session).

LOA_DATA_DIR=$(mktemp -d) .venv/bin/loa migrate && LOA_DATA_DIR=... .venv/bin/python bench/analytics_bench.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import statistics
import time
import uuid
from typing import Any


def seed(communes: int, per_commune: int, days: int, first: dt.date) -> dict[str, Any]:
    from loa.accounts.models import User
    from loa.broadcast.compile import compile_manifests
    from loa.broadcast.models import ItemKind, Programme, ProgrammeItem, Schedule
    from loa.broadcast.recurrence import local_to_utc
    from loa.content.models import Bulletin, State
    from loa.fleet.models import Device, PlayLog
    from loa.units.models import Kind, Level, Unit
    from loa_protocol.topics import new_device_id

    rng = random.Random(12)
    province = Unit.objects.create(code="98", name="Tỉnh Thử", kind=Kind.TINH, level=Level.PROVINCE)
    units = [
        Unit.objects.create(
            code=f"9{i:04d}", name=f"Xã Thử {i}", kind=Kind.XA, level=Level.COMMUNE, parent=province
        )
        for i in range(communes)
    ]
    enrolled = local_to_utc(first - dt.timedelta(days=10), dt.time(0))
    devices = Device.objects.bulk_create(
        [
            Device(device_id=new_device_id(), unit=u, enrolled_at=enrolled)
            for u in units
            for _ in range(per_commune)
        ]
    )
    programme = Programme.objects.create(unit=province, title="Bản tin", state=Programme.State.APPROVED)
    sha = hashlib.sha256(b"bench").hexdigest()
    ProgrammeItem.objects.create(programme=programme, position=0, kind=ItemKind.AUDIO, title="Bản tin", sha256=sha,
                                 media_url=f"https://loa.example.vn/files/audio/{sha}.mp3", duration_s=300.0)  # fmt: skip
    schedule = Schedule.objects.create(unit=province, programme=programme, title="Sáng chiều", kind="daily",
                                       times=["06:00", "17:00"], start_date=first)  # fmt: skip
    schedule.target_units.set([province])
    author = User.objects.create_user(username="bench", password=uuid.uuid4().hex)
    logs = 0
    for n in range(days):
        day = first + dt.timedelta(days=n)
        compile_manifests(local_to_utc(day, dt.time(0)) - dt.timedelta(hours=3))
        batch = []
        for hhmm in (dt.time(6), dt.time(17)):
            start = local_to_utc(day, hhmm)
            entry = f"s{schedule.pk}-{start:%Y%m%dT%H%M%S}Z-0"
            for d in devices:
                r = rng.random()
                common = dict(device_id=d.device_id, unit_id=d.unit_id, item_id="pi-1", priority=4,
                              manifest_entry_id=entry, schedule_id=str(schedule.pk), offset_s=0)  # fmt: skip
                if r < 0.9:
                    batch += [
                        PlayLog(event_id=uuid.uuid4(), kind="start", at=start, received_at=start, **common),
                        PlayLog(event_id=uuid.uuid4(), kind="end", at=start + dt.timedelta(seconds=300),
                                duration_s=300.0, received_at=start, **common),
                    ]  # fmt: skip
                elif r < 0.95:
                    batch.append(PlayLog(event_id=uuid.uuid4(), kind="refused", at=start, received_at=start,
                                         reason="outside_window", **common))  # fmt: skip
        PlayLog.objects.bulk_create(batch, batch_size=2000)
        logs += len(batch)
        for i in range(5):
            at = local_to_utc(day, dt.time(8 + i))
            Bulletin.objects.create(title=f"Tin {day} {i}", origin_unit=rng.choice(units), produced_at=at,
                                    created_by=author, updated_by=author, state=State.PUBLISHED, published_at=at,
                                    field=rng.randint(1, 6), priority=rng.randint(1, 3))  # fmt: skip
    return {"province": province, "commune": units[0], "devices": len(devices), "play_logs": logs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--communes", type=int, default=20)
    parser.add_argument("--per-commune", type=int, default=15)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loa.settings")
    import django

    django.setup()
    from django.db import connection

    from loa.analytics import rollup
    from loa.analytics.kpis import Period, compute
    from loa.analytics.report import monthly_workbook

    first = dt.date(2026, 11, 1)
    last = first + dt.timedelta(days=args.days - 1)
    now = rollup.day_bounds(last)[1] + dt.timedelta(hours=1)
    t0 = time.monotonic()
    world = seed(args.communes, args.per_commune, args.days, first)
    seeded = time.monotonic() - t0

    def timed(fn: Any, repeat: int = 3) -> float:
        runs = []
        for _ in range(repeat):
            t = time.monotonic()
            fn()
            runs.append(time.monotonic() - t)
        return round(statistics.median(runs), 3)

    rebuild = rollup.rebuild(first, last, now=now)
    one_day = timed(lambda: rollup.rollup_day(first + dt.timedelta(days=14), now=now))
    province, commune = world["province"], world["commune"]
    kpis = timed(lambda: compute(Period(province, first, last)))
    report_province = timed(lambda: monthly_workbook(province, first, last))
    report_commune = timed(lambda: monthly_workbook(commune, first, last))
    print(json.dumps({
        "database": connection.vendor, "devices": world["devices"], "communes": args.communes,
        "days": args.days, "play_logs": world["play_logs"], "seed_s": round(seeded, 1),
        "rebuild_month_s": round(rebuild.seconds, 3), "rollup_rows": rebuild.rows, "rollup_one_day_s": one_day,
        "kpis_province_s": kpis, "report_province_s": report_province, "report_commune_s": report_commune,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
