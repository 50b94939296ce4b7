"""Proof of play: planned versus actual, per device and per schedule.

Planned: an entry is planned for a device when the device's manifest revision in force at the entry's start
(the latest one generated before it) contains the entry. Actual: the device's play logs for that entry
(``manifest_entry_id``). Each planned entry is ``played`` (≥ 95 % of its duration heard), ``partly`` played, or
``missed`` with its reason: refused outside the window, pre-empted, offline (an offline alarm covered its start),
or no report (no log came back).

The same verdicts (:func:`judge`) serve the plays started by commands (:mod:`loa.broadcast.plays`); :func:`tally`
gives them per slot for thousands of clusters by letting the database count.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.models import CharField
from django.db.models.functions import Cast

from loa.broadcast.models import ManifestContent, ManifestRevision
from loa.broadcast.recurrence import LOCAL_TZ
from loa.exports import csv_document
from loa.labels import label

PLAYED_SHARE = 0.95
# words for statuses and reasons: loa.labels (tables "play_status" and "reason")
# a manifest reaches 48 hours ahead (compile.HORIZON): an older revision cannot hold an entry of the range
LOOKBACK = dt.timedelta(hours=72)
# play logs of an entry are reported at or after its start; a device's clock may be a little early
LOG_SLACK = dt.timedelta(days=1)
HEARD_KINDS = ("end", "interrupted")
REASON_KINDS = ("refused", "interrupted", "error")  # events that carry why a play stopped or did not start


@dataclass
class ProofRow:
    device_id: str
    schedule_id: int | None
    entry_id: str
    item_id: str
    planned_start: dt.datetime
    planned_end: dt.datetime
    status: str
    reason: str
    played_s: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def planned_sets(
    unit_path: str, since: dt.datetime, until: dt.datetime, *, entry_id: str | None = None
) -> dict[str, tuple[dict[str, Any], set[str]]]:
    """Entry id → (entry, devices it was planned on), for entries starting in ``[since, until)`` on the devices of
    the unit whose path is ``unit_path`` (and its subtree).

    Devices that got the same revisions at the same times (most of a province, compiled together) are worked out
    once: the cost follows the number of distinct revision histories, not of devices."""
    revisions = (
        ManifestRevision.objects.filter(
            device__unit__path__startswith=unit_path,
            generated_at__lt=until,
            generated_at__gte=since - LOOKBACK,
        )
        .order_by("device_id", "generated_at", "version")
        # the instants come as text and are parsed once per distinct value, not once per device (thousands)
        .values_list("device_id", Cast("generated_at", CharField()), "content_id")
    )
    by_device: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for dev, generated_at, content_id in revisions:
        by_device[dev].append((generated_at, content_id))
    by_text: dict[tuple[tuple[str, int], ...], list[str]] = defaultdict(list)
    for device_id, revs in by_device.items():
        by_text[tuple(revs)].append(device_id)
    instants = {text: _instant(text) for history in by_text for text, _c in history}
    histories = {tuple((instants[t], c) for t, c in history): devices for history, devices in by_text.items()}
    content_ids = {c for history in histories for _at, c in history}
    contents: dict[int, list[tuple[dt.datetime, dict[str, Any]]]] = {}
    for pk, entries in ManifestContent.objects.filter(pk__in=content_ids).values_list("pk", "entries"):
        contents[pk] = [
            (start, e)
            for e in entries
            if (entry_id is None or e["entry_id"] == entry_id)
            and since <= (start := dt.datetime.fromisoformat(e["start"])) < until
        ]
    out: dict[str, tuple[dict[str, Any], set[str]]] = {}
    for history, devices in histories.items():
        for i, (generated_at, content_id) in enumerate(history):
            in_force_until = history[i + 1][0] if i + 1 < len(history) else None
            for start, e in contents[content_id]:
                if start < generated_at or (in_force_until is not None and start >= in_force_until):
                    continue
                out.setdefault(e["entry_id"], (e, set()))[1].update(devices)
    return out


def _instant(text: str) -> dt.datetime:
    """A stored instant cast to text (SQLite: naive UTC, PostgreSQL: with its offset) as an aware datetime."""
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def planned(
    unit_path: str, since: dt.datetime, until: dt.datetime, *, entry_id: str | None = None
) -> dict[tuple[str, str], dict[str, Any]]:
    """(device, entry id) → entry, for entries starting in ``[since, until)`` that were planned."""
    return {
        (device_id, eid): e
        for eid, (e, devices) in planned_sets(unit_path, since, until, entry_id=entry_id).items()
        for device_id in devices
    }


def report(
    unit: Any,
    since: dt.datetime,
    until: dt.datetime,
    *,
    schedule_id: int | None = None,
    now: dt.datetime | None = None,
    entry_id: str | None = None,
) -> list[ProofRow]:
    from django.utils import timezone

    from loa.fleet.models import PlayLog

    now = now or timezone.now()
    plan = planned(unit.path, since, until, entry_id=entry_id)
    if schedule_id is not None:
        plan = {k: e for k, e in plan.items() if e.get("schedule_id") == str(schedule_id)}
    logs = PlayLog.objects.filter(
        unit__path__startswith=unit.path,
        manifest_entry_id__in={k[1] for k in plan},
        at__gte=since - LOG_SLACK,
        at__lt=until + LOG_SLACK,
    )
    heard = heard_seconds(logs, "manifest_entry_id")
    reasons = last_reasons(logs, "manifest_entry_id")
    alarms = offline_alarms(unit.path, since, until)
    times: dict[str, tuple[dt.datetime, dt.datetime]] = {}
    rows = []
    for (device_id, entry_id_), e in sorted(plan.items(), key=lambda kv: (kv[1]["start"], kv[0][0])):
        if entry_id_ not in times:
            times[entry_id_] = (dt.datetime.fromisoformat(e["start"]), dt.datetime.fromisoformat(e["end"]))
        start, end = times[entry_id_]
        status, reason, played = judge(
            heard.get((device_id, entry_id_)), reasons.get((device_id, entry_id_), ""),
            expected=float(e["duration_s"]), start=start, open_until=end, now=now,
            offline=alarms.get(device_id, []),
        )  # fmt: skip
        rows.append(
            ProofRow(
                device_id=device_id,
                schedule_id=int(e["schedule_id"]) if e.get("schedule_id") else None,
                entry_id=entry_id_,
                item_id=e["item_id"],
                planned_start=start,
                planned_end=end,
                status=status,
                reason=reason,
                played_s=round(played, 3),
            )
        )
    return rows


def judge(
    heard: float | None,
    reason: str,
    *,
    expected: float,
    start: dt.datetime,
    open_until: dt.datetime,
    now: dt.datetime,
    offline: list[tuple[dt.datetime, dt.datetime | None]],
) -> tuple[str, str, float]:
    """(status, reason code, seconds heard) of one planned play on one cluster.

    ``heard`` is the seconds of its ``end`` and ``interrupted`` events, ``None`` when the cluster reported no event
    at all; ``reason`` the last refusal, interruption or error; ``open_until`` the instant after which silence
    means it was missed rather than not yet played."""
    played = heard or 0.0
    if expected > 0 and played >= PLAYED_SHARE * expected:
        return "played", "", played
    if played > 0:
        return "partly", reason, played
    if reason:
        return "missed", reason, 0.0
    if now < open_until:
        return "pending", "", 0.0
    was_offline = any(r <= start and (c is None or c > start) for r, c in offline)
    return "missed", "offline" if was_offline else "no_report", 0.0


def heard_seconds(logs: Any, key: str) -> dict[tuple[str, str], float | None]:
    """(device, ``key``) → seconds heard, for every pair with at least one event — summed by the database."""
    from django.db.models import Q, Sum

    rows = (
        logs.order_by()
        .values("device_id", key)
        .annotate(heard=Sum("duration_s", filter=Q(kind__in=HEARD_KINDS)))
        .values_list("device_id", key, "heard")
    )
    return {(str(d), _norm(k)): float(s or 0.0) for d, k, s in rows}  # a row: it reported something


def last_reasons(logs: Any, key: str) -> dict[tuple[str, str], str]:
    """(device, ``key``) → reason code of the last refusal, interruption or error (few rows: read them all)."""
    events: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for d, k, kind, reason in (
        logs.filter(kind__in=REASON_KINDS).order_by("at").values_list("device_id", key, "kind", "reason")
    ):
        events[(str(d), _norm(k))].append((kind, reason or ""))
    return {k: r for k, evs in events.items() if (r := event_reason(evs))}


def _norm(key: Any) -> str:
    """Entry ids as they are; a command id cast to text is compared without dashes (PostgreSQL writes them, SQLite
    stores 32 hex digits)."""
    text = str(key or "")
    if len(text) == 36 and text[8] == text[13] == text[18] == text[23] == "-":
        return text.replace("-", "")
    return text


def offline_alarms(
    unit_path: str, since: dt.datetime, until: dt.datetime
) -> dict[str, list[tuple[dt.datetime, dt.datetime | None]]]:
    """Device → (raised, cleared) of the offline alarms of the unit's devices overlapping ``[since, until)``."""
    from django.db.models import Q

    from loa.fleet.models import Alarm

    alarms: dict[str, list[tuple[dt.datetime, dt.datetime | None]]] = defaultdict(list)
    for dev, raised, cleared in (
        Alarm.objects.filter(unit__path__startswith=unit_path, kind=Alarm.Kind.OFFLINE, raised_at__lt=until)
        .filter(Q(cleared_at__isnull=True) | Q(cleared_at__gt=since))
        .values_list("device_id", "raised_at", "cleared_at")
    ):
        alarms[str(dev)].append((raised, cleared))
    return alarms


def event_reason(events: list[tuple[str, str]]) -> str:
    """The reason code of the last refusal, interruption or error among a cluster's (kind, reason) events."""
    for kind, r in reversed(events):
        if kind == "refused" and r:
            return r
        if kind == "interrupted":
            return "preempted" if r.startswith("preempted") else r or "interrupted"
        if kind == "error":
            return r or "error"
    return ""


def to_csv(rows: list[ProofRow]) -> str:
    return csv_document(
        ["cụm loa", "lịch", "mục", "giờ dự kiến", "kết thúc dự kiến", "kết quả", "lý do", "số giây đã phát"],
        (
            [
                r.device_id,
                r.schedule_id or "",
                r.item_id,
                f"{r.planned_start.astimezone(LOCAL_TZ):%d/%m/%Y %H:%M:%S}",
                f"{r.planned_end.astimezone(LOCAL_TZ):%d/%m/%Y %H:%M:%S}",
                label(r.status, "play_status"),
                label(r.reason, "reason") if r.reason else "",
                f"{r.played_s:.0f}",
            ]
            for r in rows
        ),
    )


def summary(rows: list[ProofRow]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r.status] += 1
    return dict(counts)


def heard_counts(
    logs: Any, key: str, thresholds: dict[str, float], *, as_text: bool = False
) -> dict[str, tuple[int, int, int, int]]:
    """``key`` value → (clusters that heard ≥ its threshold, heard less but some, reported anything, reported a
    refusal, interruption or error), counted by the database in two levels (per cluster, then per key) so that no
    per-cluster row travels to Python. With ``as_text`` the key column (a UUID) is grouped as stored and compared
    as text."""
    from django.db import connection
    from django.db.models import Case, FloatField, Sum, Value, When
    from django.db.models.functions import Coalesce

    if not thresholds:
        return {}
    inner = (
        logs.order_by()
        .values(key, "device_id")
        .annotate(
            heard=Sum(
                Case(
                    When(kind__in=HEARD_KINDS, then=Coalesce("duration_s", Value(0.0))),
                    default=Value(0.0),
                    output_field=FloatField(),
                )
            ),
            flagged=Sum(Case(When(kind__in=REASON_KINDS, then=Value(1)), default=Value(0))),
        )
    )
    sql, params = inner.query.sql_with_params()
    q = connection.ops.quote_name
    whens = " ".join("WHEN %s THEN %s" for _ in thresholds)
    k_expr = f"CAST(sub.{q(key)} AS TEXT)" if as_text else f"sub.{q(key)}"
    case_params: list[Any] = [p for k, th in thresholds.items() for p in (k, th)]
    query = (
        f"SELECT k, SUM(CASE WHEN heard >= th THEN 1 ELSE 0 END), "  # noqa: S608 - only quoted names are formatted
        f"SUM(CASE WHEN heard > 0 AND heard < th THEN 1 ELSE 0 END), COUNT(*), "
        f"SUM(CASE WHEN flagged > 0 THEN 1 ELSE 0 END) FROM ("
        f"SELECT {k_expr} AS k, sub.{q('heard')} AS heard, sub.{q('flagged')} AS flagged, "
        f"CASE {k_expr} {whens} ELSE 1e18 END AS th "
        f"FROM ({sql}) sub) x GROUP BY k"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [*case_params, *params])
        return {
            _norm(k): (int(p or 0), int(s or 0), int(n or 0), int(f or 0))
            for k, p, s, n, f in cursor.fetchall()
        }


@dataclass
class Plan:
    planned: int  # clusters
    expected: float  # seconds each must hear to have played it
    start: dt.datetime
    open_until: dt.datetime  # silence before this is "not yet", after it "missed"
    devices: set[str] | None = None  # when known without a query (schedules)


def tally(
    plans: dict[str, Plan],
    logs: Any,
    key: str,
    now: dt.datetime,
    *,
    offline: dict[str, list[tuple[dt.datetime, dt.datetime | None]]],
    acks: dict[tuple[str, str], tuple[str, str]] | None = None,
    alarm_pairs: set[tuple[str, str]] | None = None,
    partly_reason: str = "",
    key_forms: dict[str, list[str]] | None = None,
    count_key: str | None = None,
) -> dict[str, tuple[Counter[str], Counter[str]]]:
    """Clusters per status and per reason of each planned key, the same verdicts as :func:`judge` gives one
    cluster at a time: the database counts who heard enough, some, or reported anything; only the clusters with a
    reason of their own (a refusal or interruption in their logs, a failed or refused delivery, an offline alarm)
    are judged one by one (:func:`judge`)."""
    acks = acks or {}
    thresholds: dict[str, float] = {}
    for k, p in plans.items():
        th = PLAYED_SHARE * p.expected if p.expected > 0 else 1e18
        for form in (key_forms or {}).get(k, [k]):
            thresholds[form] = th
    counts = heard_counts(logs, count_key or key, thresholds, as_text=count_key is not None)
    # the reasons are read only for the keys whose clusters reported a refusal, interruption or error
    flagged = [k for k, c in counts.items() if c[3]]
    if not flagged:
        reasons: dict[tuple[str, str], str] = {}
    elif count_key is None:
        reasons = last_reasons(logs.filter(**{f"{key}__in": flagged}), key)
    else:
        reasons = last_reasons(logs.filter(**{f"{count_key}__in": [uuid.UUID(k) for k in flagged]}), key)
    special: set[tuple[str, str]] = (
        {pk for pk in reasons if pk[1] in plans} | set(acks) | (alarm_pairs or set())
    )
    for k, p in plans.items():
        if p.devices is not None:
            special |= {(d, k) for d in offline.keys() & p.devices}
    heard = heard_seconds(logs.filter(device_id__in={d for d, _k in special}), key) if special else {}
    by_key: dict[str, list[str]] = defaultdict(list)
    for d, k in special:
        by_key[k].append(d)
    out = {}
    for k, p in plans.items():
        played, partly, evented, _flagged = counts.get(k, (0, 0, 0, 0))
        base = Counter(
            played=played, partly=partly, evented0=evented - played - partly, silent=p.planned - evented
        )
        final: Counter[str] = Counter()
        why: Counter[str] = Counter()
        th = PLAYED_SHARE * p.expected if p.expected > 0 else 1e18
        for d in by_key.get(k, []):
            h = heard.get((d, k))
            base["silent" if h is None else "played" if h >= th else "partly" if h > 0 else "evented0"] -= 1
            status, reason, _s = judge(h, reasons.get((d, k), ""), expected=p.expected, start=p.start,
                                             open_until=p.open_until, now=now, offline=offline.get(d, []))  # fmt: skip
            status, reason = with_ack(status, reason, h, acks.get((d, k)), partly_reason)
            final[status] += 1
            if reason and status in ("missed", "partly"):
                why[reason] += 1
        final["played"] += max(0, base["played"])
        final["partly"] += max(0, base["partly"])
        if partly_reason and base["partly"] > 0:
            why[partly_reason] += base["partly"]
        rest = max(0, base["evented0"]) + max(0, base["silent"])
        if rest:
            if now < p.open_until:
                final["pending"] += rest
            else:
                final["missed"] += rest
                why["no_report"] += rest
        out[k] = (final, why)
    return out


def with_ack(
    status: str, reason: str, heard: float | None, ack: tuple[str, str] | None, partly_reason: str
) -> tuple[str, str]:
    """A command's own answer explains a cluster that reported no play at all (refused, failed, not delivered)."""
    if status == "partly" and not reason:
        return status, partly_reason
    if ack is not None and heard is None and reason in ("", "no_report", "offline"):
        state, ack_reason = ack
        if state in ("refused", "failed"):
            return "missed", ack_reason or state
        if state == "expired":
            return "missed", "not_delivered"
    return status, reason
