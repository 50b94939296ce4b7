"""Roll the raw rows of one Asia/Ho_Chi_Minh day up into :class:`~loa.analytics.models.DailyStat` rows.

A day is rebuilt whole (delete its rows, insert the new ones, one transaction), so running it again, for any past
day, gives the same rows: the periodic job rolls up yesterday and today, ``loa analytics rebuild`` any range.

Metrics (device rows: ``device_id`` set, unit = the device's current unit):
``planned`` scheduled plays planned, ``played``/``partly`` (proof of play, :mod:`loa.broadcast.proof`),
``missed`` by reason (``key``), ``pending`` (not over yet), ``planned_s``/``played_s`` seconds planned and heard of
scheduled plays, ``airtime_s`` every second heard (scheduled, play-now and emergency), ``expected_s`` seconds the
device was enrolled during the day, ``offline_s`` seconds of it under an offline alarm, ``samples`` status samples.
Unit rows (``device_id`` empty): ``bulletins`` published by the originating unit (``key`` ``""``),
``bulletins.field``/``bulletins.type``/``bulletins.priority`` by code, ``commands`` sent by action.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from loa.analytics.models import DailyStat, UnitDailyStat
from loa.broadcast import proof
from loa.broadcast.recurrence import LOCAL_TZ
from loa.content.models import Bulletin
from loa.fleet.models import Alarm, Command, Device, DeviceKind, PlayLog, StatusSample
from loa.units.models import Unit

Key = tuple[int, str, str, str]  # unit id, device id, metric, key


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants at which the Vietnamese calendar day ``day`` starts and ends."""
    start = dt.datetime.combine(day, dt.time(0), tzinfo=LOCAL_TZ)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=LOCAL_TZ)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def local_day(at: dt.datetime) -> dt.date:
    return at.astimezone(LOCAL_TZ).date()


def days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    d = first
    while d <= last:
        yield d
        d += dt.timedelta(days=1)


@dataclass
class RollupResult:
    days: int
    rows: int
    seconds: float


def rebuild(first: dt.date, last: dt.date, *, now: dt.datetime | None = None) -> RollupResult:
    """Rebuild every day of ``[first, last]`` (days after ``now`` give no rows)."""
    started = time.monotonic()
    n_days = n_rows = 0
    for day in days(first, last):
        n_rows += rollup_day(day, now=now)
        n_days += 1
    return RollupResult(n_days, n_rows, time.monotonic() - started)


# play logs uploaded within this window re-open the day they were played (a cluster offline for a week uploads its
# week when it comes back); the periodic job runs far more often than this
LATE_WINDOW = dt.timedelta(days=1)


def rollup_recent(now: dt.datetime | None = None) -> RollupResult:
    """The periodic job: yesterday and today, and any older day that received late play logs since ``now`` minus
    :data:`LATE_WINDOW`."""
    now = now or timezone.now()
    today = local_day(now)
    yesterday = today - dt.timedelta(days=1)
    late = {
        local_day(d)
        for d in PlayLog.objects.filter(
            received_at__gte=now - LATE_WINDOW, received_at__lte=now, at__lt=day_bounds(yesterday)[0]
        ).datetimes("at", "day", tzinfo=LOCAL_TZ)
    }
    started = time.monotonic()
    n_rows = 0
    todo = sorted(late | {yesterday, today})
    for day in todo:
        n_rows += rollup_day(day, now=now)
    return RollupResult(len(todo), n_rows, time.monotonic() - started)


def rollup_day(day: dt.date, *, now: dt.datetime | None = None) -> int:
    """Replace the rows of ``day`` by a fresh count of the raw rows; returns the number of rows written."""
    now = now or timezone.now()
    since, until = day_bounds(day)
    values: dict[Key, float] = defaultdict(float)
    if since < now:
        _plays(values, since, until, now)
        _availability(values, since, min(until, now))
        _bulletins(values, since, until)
        _commands(values, since, until)
    rows = [
        DailyStat(day=day, unit_id=u, device_id=d, metric=m, key=k, value=v)
        for (u, d, m, k), v in sorted(values.items())
        if v
    ]
    per_unit: dict[tuple[int, str, str], float] = defaultdict(float)
    for r in rows:
        per_unit[(r.unit_id, r.metric, r.key)] += r.value
    unit_rows = [
        UnitDailyStat(day=day, unit_id=u, metric=m, key=k, value=v)
        for (u, m, k), v in sorted(per_unit.items())
    ]
    with transaction.atomic():
        DailyStat.objects.filter(day=day).delete()
        DailyStat.objects.bulk_create(rows, batch_size=1000)
        UnitDailyStat.objects.filter(day=day).delete()
        UnitDailyStat.objects.bulk_create(unit_rows, batch_size=1000)
    return len(rows)


def _device_units() -> dict[str, int]:
    return dict(Device.objects.values_list("device_id", "unit_id"))


def _plays(values: dict[Key, float], since: dt.datetime, until: dt.datetime, now: dt.datetime) -> None:
    units = _device_units()
    for root in Unit.objects.filter(parent__isnull=True):
        for r in proof.report(root, since, until, now=now):
            u = units.get(r.device_id)
            if u is None:
                continue
            planned_s = (r.planned_end - r.planned_start).total_seconds()
            values[(u, r.device_id, "planned", "")] += 1
            values[(u, r.device_id, "planned_s", "")] += planned_s
            values[(u, r.device_id, "played_s", "")] += min(r.played_s, planned_s)
            key = r.reason if r.status == "missed" else ""
            values[(u, r.device_id, r.status, key)] += 1
    heard = (
        PlayLog.objects.filter(at__gte=since, at__lt=until, kind__in=proof.HEARD_KINDS)
        .order_by()
        .values("device_id")
        .annotate(s=Sum("duration_s"))
        .values_list("device_id", "s")
    )
    for dev, seconds in heard:
        u = units.get(str(dev))
        if u is not None:
            values[(u, str(dev), "airtime_s", "")] += float(seconds or 0.0)


def _overlap(a0: dt.datetime, a1: dt.datetime, b0: dt.datetime, b1: dt.datetime) -> float:
    return max(0.0, (min(a1, b1) - max(a0, b0)).total_seconds())


def _availability(values: dict[Key, float], since: dt.datetime, until: dt.datetime) -> None:
    """Enrolled seconds and offline-alarm seconds of every loudspeaker cluster during ``[since, until)`` (the
    availability KPI is the clusters': a board offline is not a cluster offline, and the drill-down's rows are
    clusters), and the status samples of every device."""
    windows: dict[str, tuple[int, dt.datetime, dt.datetime]] = {}
    clusters: set[str] = set()
    devices = Device.objects.filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=since)).filter(
        Q(enrolled_at__lt=until) | Q(enrolled_at__isnull=True, created_at__lt=until)
    )
    for device_id, unit_id, kind, enrolled, created, revoked in devices.values_list(
        "device_id", "unit_id", "kind", "enrolled_at", "created_at", "revoked_at"
    ):
        start = max(since, enrolled or created)
        end = min(until, revoked) if revoked else until
        if end > start:
            windows[device_id] = (unit_id, start, end)
            if kind == DeviceKind.LOUDSPEAKER:
                clusters.add(device_id)
                values[(unit_id, device_id, "expected_s", "")] += (end - start).total_seconds()
    alarms = Alarm.objects.filter(kind=Alarm.Kind.OFFLINE, raised_at__lt=until).filter(
        Q(cleared_at__isnull=True) | Q(cleared_at__gt=since)
    )
    for dev, raised, cleared in alarms.values_list("device_id", "raised_at", "cleared_at"):
        if str(dev) in clusters:
            unit_id, start, end = windows[str(dev)]
            values[(unit_id, str(dev), "offline_s", "")] += _overlap(raised, cleared or end, start, end)
    samples = (
        StatusSample.objects.filter(at__gte=since, at__lt=until)
        .order_by()
        .values("device_id")
        .annotate(n=Count("id"))
        .values_list("device_id", "n")
    )
    for dev, n in samples:
        if str(dev) in windows:
            values[(windows[str(dev)][0], str(dev), "samples", "")] += n


def _bulletins(values: dict[Key, float], since: dt.datetime, until: dt.datetime) -> None:
    """Bulletins by the day they were (first) published: each published version counts once."""
    rows = (
        Bulletin.objects.filter(published_at__gte=since, published_at__lt=until)
        .order_by()
        .values("origin_unit_id", "field", "content_type", "priority")
        .annotate(n=Count("id"))
    )
    for r in rows:
        u, n = r["origin_unit_id"], r["n"]
        values[(u, "", "bulletins", "")] += n
        values[(u, "", "bulletins.field", str(r["field"]))] += n
        values[(u, "", "bulletins.type", str(r["content_type"]))] += n
        values[(u, "", "bulletins.priority", str(r["priority"]))] += n


def _commands(values: dict[Key, float], since: dt.datetime, until: dt.datetime) -> None:
    rows = (
        Command.objects.filter(issued_at__gte=since, issued_at__lt=until)
        .order_by()
        .values("unit_id", "action")
        .annotate(n=Count("id"))
    )
    for r in rows:
        values[(r["unit_id"], "", "commands", r["action"])] += r["n"]
