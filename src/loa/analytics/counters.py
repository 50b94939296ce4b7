"""On-ingest counters (issue 12 item 1): today's figures move as the gateway stores play logs and status samples,
between two runs of the rollup job (every 15 minutes).

The gateway calls :func:`ingest_play_logs` and :func:`ingest_samples` inside its batch transaction with the rows it
has just stored (never a re-sent duplicate: the caller passes only new rows). They add to the day's rollup rows of
the two metrics that are plain sums of raw rows — ``airtime_s`` (seconds heard, :data:`loa.broadcast.proof.
HEARD_KINDS`) and ``samples`` — in both :class:`~loa.analytics.models.DailyStat` and
:class:`~loa.analytics.models.UnitDailyStat`, by one upsert each (``INSERT … ON CONFLICT … DO UPDATE SET value =
value + excluded.value``, SQLite and PostgreSQL). Only the current Vietnamese day is counted: older days are the
rollup's (late uploads re-open their day, ``rollup.LATE_WINDOW``). Proof-of-play metrics (planned, played, missed)
need the day's manifests and stay with the job.

**Idempotent with the rebuild**: the rollup replaces a day's rows whole from the raw rows, so whatever the counters
added is recounted exactly; a counter never adds a row twice (new rows only), and an increment that races a running
rollup is either part of the rows it writes or wiped by its delete and recounted by the next run — the figures can
lag by one run, never double (docs/analytics.md, "On-ingest counters").
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db import connection
from django.utils import timezone

from loa.analytics.models import DailyStat, UnitDailyStat
from loa.analytics.rollup import local_day

HEARD_KINDS = ("end", "interrupted")  # loa.broadcast.proof.HEARD_KINDS (tested equal)


def _bump(day: dt.date, values: dict[tuple[int, str, str], float]) -> None:
    """Add ``values`` ((unit id, device id, metric) → amount) to the day's device rows and their units' rows."""
    if not values:
        return
    per_unit: dict[tuple[int, str], float] = defaultdict(float)
    for (unit_id, _device, metric), v in values.items():
        per_unit[(unit_id, metric)] += v
    device_table, unit_table = DailyStat._meta.db_table, UnitDailyStat._meta.db_table
    # table names are the models' own; every value is a bound parameter
    device_sql = (
        f"INSERT INTO {device_table} (day, unit_id, device_id, metric, key, value) VALUES (%s, %s, %s, %s, '', %s) "  # noqa: S608
        f"ON CONFLICT (day, unit_id, device_id, metric, key) DO UPDATE SET value = {device_table}.value + excluded.value"
    )
    unit_sql = (
        f"INSERT INTO {unit_table} (day, unit_id, metric, key, value) VALUES (%s, %s, %s, '', %s) "  # noqa: S608
        f"ON CONFLICT (day, unit_id, metric, key) DO UPDATE SET value = {unit_table}.value + excluded.value"
    )
    with connection.cursor() as cursor:
        cursor.executemany(device_sql, [(day, u, d, m, v) for (u, d, m), v in sorted(values.items())])
        cursor.executemany(unit_sql, [(day, u, m, v) for (u, m), v in sorted(per_unit.items())])


def ingest_play_logs(
    rows: Iterable[tuple[str, int, str, dt.datetime, float | None]], *, now: dt.datetime | None = None
) -> int:
    """``rows``: (device id, unit id, kind, at, duration_s) of play logs just stored. Adds their seconds heard
    today to today's ``airtime_s``; returns the number of rows counted."""
    today = local_day(now or timezone.now())
    values: dict[tuple[int, str, str], float] = defaultdict(float)
    n = 0
    for device_id, unit_id, kind, at, duration in rows:
        if kind in HEARD_KINDS and local_day(at) == today:
            values[(unit_id, device_id, "airtime_s")] += float(duration or 0.0)
            n += 1
    _bump(today, {k: v for k, v in values.items() if v})
    return n


def ingest_samples(rows: Iterable[tuple[str, int, dt.datetime]], *, now: dt.datetime | None = None) -> int:
    """``rows``: (device id, unit id, at) of status samples just stored: today's ``samples`` count."""
    today = local_day(now or timezone.now())
    values: dict[tuple[int, str, str], float] = defaultdict(float)
    n = 0
    for device_id, unit_id, at in rows:
        if local_day(at) == today:
            values[(unit_id, device_id, "samples")] += 1
            n += 1
    _bump(today, values)
    return n
