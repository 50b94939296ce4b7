"""Analytics on PostgreSQL at province scale (issue 12): 3,000 clusters in one province, 10 million play events.

Creates its own database (``--db``, dropped at the end unless ``--keep``), migrates it, imports the unit catalogue,
enrols ``--devices`` clusters across the province's communes (ORM bulk insert: 3,000 rows), then writes the play
events with one ``INSERT … SELECT generate_series`` per month (not the ORM): a schedule at 06:00, 11:00, 17:00 and
20:00 every day, 90 % of plays heard (``start`` + ``end`` of 300 s), 5 % refused, 5 % silent, going back as many
days as 10 million events need. The daily rollup rows of those days are written by SQL from the play logs (the same
metrics ``loa.analytics.rollup`` writes for them); then:

- the **rollup of one day** is the real ``rollup_day`` (proof of play from compiled manifests: the day's manifests
  are compiled first, as the hourly job does), median of 3;
- the **monthly province report**: the XLSX at once (``monthly_workbook``), and the periodic report's snapshot and
  its PDF and DOCX, median of 3;
- the **dashboard page** ``/analytics/units/<province>/?from=&to=`` (the month), through Django's full stack signed
  in as a province admin with a verified second factor: p50/p95 of ``--requests`` requests.

Run (PostgreSQL at 127.0.0.1:5432, trust authentication):
  LOA_DATA_DIR=$(mktemp -d) .venv/bin/python bench/analytics_pg.py [--events 10000000] [--devices 3000]
Prints one JSON object; figures in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loa.settings")

SLOTS = ("06:00", "11:00", "17:00", "20:00")
EVENTS_PER_DEVICE_DAY = len(SLOTS) * (0.9 * 2 + 0.05)


def admin_sql(dsn: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for s in statements:
            conn.execute(s)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--db", default="loa_bench_analytics")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--devices", type=int, default=3000)
    parser.add_argument("--province", default="22")
    parser.add_argument("--month", default="2026-11", help="the month reported on (YYYY-MM)")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="measure an existing database (made with --keep)"
    )
    args = parser.parse_args()
    base = args.admin_dsn.rsplit("/", 1)[0]
    if not args.reuse:
        admin_sql(args.admin_dsn, f'DROP DATABASE IF EXISTS "{args.db}"', f'CREATE DATABASE "{args.db}"')
    os.environ["LOA_DATABASE_URL"] = f"{base}/{args.db}"
    out: dict[str, Any] = {}
    try:
        run(args, out)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_sql(args.admin_dsn, f'DROP DATABASE IF EXISTS "{args.db}"')
        print(json.dumps(out, ensure_ascii=False))


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace, out: dict[str, Any]) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from loa.accounts.models import RoleAssignment, User
    from loa.accounts.roles import Role
    from loa.analytics import rollup
    from loa.analytics.documents import docx, pdf, workbook
    from loa.analytics.models import DailyStat, Report, UnitDailyStat
    from loa.analytics.periods import month_of
    from loa.analytics.report import monthly_workbook
    from loa.analytics.reports import take_snapshot
    from loa.broadcast.compile import compile_manifests
    from loa.broadcast.recurrence import local_to_utc
    from loa.fleet.models import Device, PlayLog
    from loa.units.catalogue import do_import_units
    from loa.units.models import Level, Unit

    first, last = month_of(dt.date.fromisoformat(args.month + "-01"))
    measured_day = first + dt.timedelta(days=14)
    t = time.monotonic()
    call_command("migrate", verbosity=0)
    if not args.reuse:
        do_import_units()
    log(f"migrated (and imported units) in {time.monotonic() - t:.0f} s")
    province = Unit.objects.get(code=args.province, level=Level.PROVINCE)
    communes = list(province.children.filter(level=Level.COMMUNE, is_active=True).order_by("code"))
    schedule = seed_devices_and_schedule(args, province, communes, first)
    if not args.reuse:
        days = int(args.events / (args.devices * EVENTS_PER_DEVICE_DAY)) + 1
        start_day = last - dt.timedelta(days=days - 1)
        t = time.monotonic()
        seed_play_logs(schedule.pk, start_day, last)
        out["seed_play_logs_s"] = round(time.monotonic() - t, 1)
        t = time.monotonic()
        seed_daily_stats(start_day, last)
        out["seed_rollups_s"] = round(time.monotonic() - t, 1)
    if not UnitDailyStat.objects.exists():
        t = time.monotonic()
        with connection.cursor() as c:
            c.execute(UNIT_STATS_SQL, {"first": first, "last": last})  # the month measured
        out["seed_unit_rollups_s"] = round(time.monotonic() - t, 1)
    with connection.cursor() as c:
        c.execute("ANALYZE")
    out |= {
        "database": f"PostgreSQL {connection.cursor().connection.info.server_version}",
        "devices": Device.objects.count(),
        "communes": len(communes),
        "play_events": PlayLog.objects.count(),
        "daily_stat_rows": DailyStat.objects.count(),
        "unit_daily_stat_rows": UnitDailyStat.objects.count(),
        "month_rollup_rows_province": DailyStat.objects.filter(
            unit__path__startswith=province.path, day__gte=first, day__lte=last
        ).count(),
        "month": args.month,
    }
    log(f"data: {out}")

    def timed(fn: Any, repeat: int = 3) -> dict[str, float]:
        runs = []
        for _ in range(repeat):
            t = time.monotonic()
            fn()
            runs.append(time.monotonic() - t)
        return {"median_s": round(statistics.median(runs), 3), "max_s": round(max(runs), 3)}

    # the rollup of one day: the day's manifests first (as the hourly compile job leaves them), then the real rollup
    t = time.monotonic()
    compile_manifests(local_to_utc(measured_day, dt.time(0)) - dt.timedelta(hours=3))
    out["compile_manifests_s"] = round(time.monotonic() - t, 1)
    now = rollup.day_bounds(last)[1] + dt.timedelta(days=1)
    out["rollup_one_day"] = timed(lambda: rollup.rollup_day(measured_day, now=now))
    log(f"rollup of one day: {out['rollup_one_day']}")

    out["report_xlsx_province"] = timed(lambda: monthly_workbook(province, first, last))
    report = Report(unit=province, kind=Report.Kind.MONTH, first=first, last=last)
    snap: dict[str, Any] = {}
    out["report_snapshot_province"] = timed(lambda: snap.update(take_snapshot(report)))
    out["report_pdf_province_render"] = timed(lambda: pdf(snap))
    out["report_docx_province_render"] = timed(lambda: docx(snap))
    out["report_xlsx_province_render"] = timed(lambda: workbook(snap))
    log(f"reports: {out}")

    from django.test import Client
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = User.objects.filter(username="bench-analytics").first()
    if user is None:
        user = User.objects.create_user(username="bench-analytics", password="x" * 20)
        RoleAssignment.objects.create(user=user, role=Role.PROVINCE_ADMIN, unit=province)
    device = TOTPDevice.objects.filter(user=user).first() or TOTPDevice.objects.create(
        user=user, name="bench", confirmed=True
    )
    client = Client()
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session["loa_unit"] = province.code
    session.save()
    url = f"/analytics/units/{province.code}/?from={first:%d/%m/%Y}&to={last:%d/%m/%Y}"
    assert client.get(url).status_code == 200
    times = []
    for _ in range(args.requests):
        t = time.monotonic()
        r = client.get(url)
        times.append((time.monotonic() - t) * 1000)
        assert r.status_code == 200
    times.sort()
    out["dashboard_province_ms"] = {
        "p50": round(statistics.median(times), 1),
        "p95": round(times[max(0, int(len(times) * 0.95) - 1)], 1),
        "requests": len(times),
    }
    commune_url = f"/analytics/units/{communes[0].code}/?from={first:%d/%m/%Y}&to={last:%d/%m/%Y}"
    ctimes = []
    for _ in range(args.requests):
        t = time.monotonic()
        client.get(commune_url)
        ctimes.append((time.monotonic() - t) * 1000)
    ctimes.sort()
    out["dashboard_commune_ms"] = {
        "p50": round(statistics.median(ctimes), 1),
        "p95": round(ctimes[max(0, int(len(ctimes) * 0.95) - 1)], 1),
    }
    with open("/proc/loadavg") as f:
        out["loadavg_after"] = f.read().split()[:3]


def seed_devices_and_schedule(
    args: argparse.Namespace, province: Any, communes: list[Any], first: dt.date
) -> Any:
    import hashlib

    from loa.broadcast.models import ItemKind, Programme, ProgrammeItem, Schedule
    from loa.broadcast.recurrence import local_to_utc
    from loa.fleet.models import Device
    from loa_protocol.topics import new_device_id

    existing = Schedule.objects.filter(title="Bench analytics").first()
    if existing is not None:
        return existing
    enrolled = local_to_utc(dt.date(2024, 1, 1), dt.time(0))
    Device.objects.bulk_create(
        [
            Device(device_id=new_device_id(), unit=communes[i % len(communes)], enrolled_at=enrolled)
            for i in range(args.devices)
        ],
        batch_size=1000,
    )
    programme = Programme.objects.create(unit=province, title="Bản tin", state=Programme.State.APPROVED)
    sha = hashlib.sha256(b"bench").hexdigest()
    ProgrammeItem.objects.create(programme=programme, position=0, kind=ItemKind.AUDIO, title="Bản tin", sha256=sha,
                                 media_url=f"https://loa.example.vn/files/audio/{sha}.mp3", duration_s=300.0)  # fmt: skip
    schedule = Schedule.objects.create(unit=province, programme=programme, title="Bench analytics", kind="daily",
                                       times=list(SLOTS), start_date=dt.date(2024, 1, 1))  # fmt: skip
    schedule.target_units.set([province])
    return schedule


def _months(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    out, d = [], start
    while d <= end:
        nxt = (d.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        out.append((d, min(end, nxt - dt.timedelta(days=1))))
        d = nxt
    return out


PLAY_SQL = """
INSERT INTO fleet_playlog (device_id, event_id, unit_id, kind, item_id, media_sha256, at, offset_s, duration_s,
                           priority, command_id, schedule_id, manifest_entry_id, reason, received_at)
SELECT d.device_id, gen_random_uuid(), d.unit_id, e.kind, 'pi-1', '',
       s.ts + e.shift, 0, e.duration, 4, NULL, %(sid)s::text,
       's' || %(sid)s || '-' || to_char(s.ts AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MISS') || 'Z-0',
       e.reason, s.ts + e.shift
FROM (SELECT (day + slot) AT TIME ZONE 'Asia/Ho_Chi_Minh' AS ts
      FROM generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS day,
           unnest(ARRAY[interval '6 hours', interval '11 hours', interval '17 hours', interval '20 hours']) AS slot) s
CROSS JOIN fleet_device d
CROSS JOIN LATERAL (SELECT abs(hashtext(d.device_id || s.ts::text)) %% 100 AS r) h
JOIN LATERAL (VALUES ('start', interval '0', NULL::float8, '', 0),
                     ('end', interval '300 seconds', 300.0::float8, '', 0),
                     ('refused', interval '0', NULL::float8, 'outside_window', 1)) AS e(kind, shift, duration, reason, refused)
  ON (h.r < 90 AND e.refused = 0) OR (h.r >= 90 AND h.r < 95 AND e.refused = 1)
"""

# the rows rollup_day writes for these play logs (planned/played/missed/seconds/airtime/expected), by SQL
STATS_SQL = """
INSERT INTO analytics_dailystat (day, unit_id, device_id, metric, key, value)
SELECT day, unit_id, device_id, metric, key, value FROM (
  SELECT (p.at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day, p.unit_id, p.device_id,
         count(*) FILTER (WHERE p.kind = 'end') AS played,
         count(*) FILTER (WHERE p.kind = 'refused') AS refused,
         coalesce(sum(p.duration_s) FILTER (WHERE p.kind = 'end'), 0) AS heard
  FROM fleet_playlog p
  WHERE p.at >= %(since)s AND p.at < %(until)s
  GROUP BY 1, 2, 3
) g
CROSS JOIN LATERAL (VALUES
  ('planned', '', 4.0), ('planned_s', '', 1200.0), ('played', '', g.played::float8),
  ('played_s', '', g.heard), ('airtime_s', '', g.heard), ('expected_s', '', 86400.0),
  ('missed', 'outside_window', g.refused::float8), ('missed', 'no_report', (4 - g.played - g.refused)::float8)
) AS m(metric, key, value)
WHERE m.value <> 0
"""


# UnitDailyStat: the same rows summed without the device (what rollup_day writes beside them), for the month read
UNIT_STATS_SQL = """
INSERT INTO analytics_unitdailystat (day, unit_id, metric, key, value)
SELECT day, unit_id, metric, key, sum(value) FROM analytics_dailystat
WHERE day BETWEEN %(first)s AND %(last)s GROUP BY day, unit_id, metric, key
"""


def seed_play_logs(schedule_id: int, start: dt.date, end: dt.date) -> None:
    from django.db import connection

    for a, b in _months(start, end):
        t = time.monotonic()
        with connection.cursor() as c:
            c.execute(PLAY_SQL, {"sid": str(schedule_id), "first": a, "last": b})
            n = c.rowcount
        log(f"play logs {a}..{b}: {n} rows in {time.monotonic() - t:.0f} s")


def seed_daily_stats(start: dt.date, end: dt.date) -> None:
    from django.db import connection

    from loa.analytics.rollup import day_bounds

    for a, b in _months(start, end):
        t = time.monotonic()
        with connection.cursor() as c:
            c.execute(STATS_SQL, {"since": day_bounds(a)[0], "until": day_bounds(b)[1]})
            n = c.rowcount
        log(f"daily stats {a}..{b}: {n} rows in {time.monotonic() - t:.0f} s")


if __name__ == "__main__":
    main()
