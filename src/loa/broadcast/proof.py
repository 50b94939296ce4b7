"""Proof of play: planned versus actual, per device and per schedule.

Planned: an entry is planned for a device when the device's manifest revision in force at the entry's start
(the latest one generated before it) contains the entry. Actual: the device's play logs for that entry
(``manifest_entry_id``). Each planned entry is ``played`` (≥ 95 % of its duration heard), ``partly`` played, or
``missed`` with its reason: refused outside the window, pre-empted, offline (an offline alarm covered its start),
or no report (no log came back).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from loa.broadcast.models import ManifestContent, ManifestRevision
from loa.broadcast.recurrence import LOCAL_TZ

PLAYED_SHARE = 0.95
STATUS_LABELS = {
    "played": "đã phát",
    "partly": "phát một phần",
    "missed": "không phát",
    "pending": "chưa tới giờ",
}
REASON_LABELS = {
    "outside_window": "ngoài khung giờ cho phép",
    "preempted": "bị phát khẩn cấp/ưu tiên chen ngang",
    "offline": "cụm loa mất kết nối",
    "no_report": "không có nhật ký phát",
    "stopped": "bị dừng",
    "media_missing": "thiếu tệp âm thanh",
    "window_closed": "hết khung giờ của mục",
}


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


def planned(
    device_ids: list[str], since: dt.datetime, until: dt.datetime
) -> dict[tuple[str, str], dict[str, Any]]:
    """(device, entry id) → entry, for entries starting in ``[since, until)`` that were planned."""
    revisions = list(
        ManifestRevision.objects.filter(device_id__in=device_ids, generated_at__lt=until)
        .order_by("device_id", "generated_at", "version")
        .values_list("device_id", "generated_at", "content_id")
    )
    contents = {c.pk: c.entries for c in ManifestContent.objects.filter(pk__in={r[2] for r in revisions})}
    by_device: dict[str, list[tuple[dt.datetime, int]]] = defaultdict(list)
    for dev, generated_at, content_id in revisions:
        by_device[str(dev)].append((generated_at, content_id))
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for device_id, revs in by_device.items():
        for i, (generated_at, content_id) in enumerate(revs):
            in_force_until = revs[i + 1][0] if i + 1 < len(revs) else None
            for e in contents[content_id]:
                start = dt.datetime.fromisoformat(e["start"])
                if not since <= start < until or start < generated_at:
                    continue
                if in_force_until is not None and start >= in_force_until:
                    continue
                out[(device_id, e["entry_id"])] = e
    return out


def report(
    unit: Any,
    since: dt.datetime,
    until: dt.datetime,
    *,
    schedule_id: int | None = None,
    now: dt.datetime | None = None,
) -> list[ProofRow]:
    from django.db.models import Q
    from django.utils import timezone

    from loa.fleet.models import Alarm, Device, PlayLog

    now = now or timezone.now()
    device_ids = list(
        Device.objects.filter(unit__path__startswith=unit.path).values_list("device_id", flat=True)
    )
    plan = planned(device_ids, since, until)
    if schedule_id is not None:
        plan = {k: e for k, e in plan.items() if e.get("schedule_id") == str(schedule_id)}
    logs: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for log in PlayLog.objects.filter(
        device_id__in=device_ids, manifest_entry_id__in={k[1] for k in plan}
    ).order_by("at"):
        logs[(str(log.device_id), log.manifest_entry_id)].append(log)
    alarms: dict[str, list[tuple[dt.datetime, dt.datetime | None]]] = defaultdict(list)
    for dev, raised, cleared in (
        Alarm.objects.filter(device_id__in=device_ids, kind=Alarm.Kind.OFFLINE, raised_at__lt=until)
        .filter(Q(cleared_at__isnull=True) | Q(cleared_at__gt=since))
        .values_list("device_id", "raised_at", "cleared_at")
    ):
        alarms[str(dev)].append((raised, cleared))
    rows = []
    for (device_id, entry_id), e in sorted(plan.items(), key=lambda kv: (kv[1]["start"], kv[0][0])):
        start, end = dt.datetime.fromisoformat(e["start"]), dt.datetime.fromisoformat(e["end"])
        events = logs.get((device_id, entry_id), [])
        played = sum(ev.duration_s or 0.0 for ev in events if ev.kind in ("end", "interrupted"))
        duration = float(e["duration_s"])
        reason = ""
        if played >= PLAYED_SHARE * duration:
            status = "played"
        elif played > 0:
            status = "partly"
            reason = _reason(events)
        elif end > now and not events:
            status = "pending"
        else:
            status = "missed"
            reason = _reason(events)
            if not reason:
                offline = any(r <= start and (c is None or c > start) for r, c in alarms.get(device_id, []))
                reason = "offline" if offline else "no_report"
        rows.append(
            ProofRow(
                device_id=device_id,
                schedule_id=int(e["schedule_id"]) if e.get("schedule_id") else None,
                entry_id=entry_id,
                item_id=e["item_id"],
                planned_start=start,
                planned_end=end,
                status=status,
                reason=reason,
                played_s=round(played, 3),
            )
        )
    return rows


def _reason(events: list[Any]) -> str:
    for ev in reversed(events):
        r = ev.reason or ""
        if ev.kind == "refused" and r:
            return r
        if ev.kind == "interrupted":
            return "preempted" if r.startswith("preempted") else r or "interrupted"
        if ev.kind == "error":
            return r or "error"
    return ""


def to_csv(rows: list[ProofRow]) -> str:
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 with a BOM correctly
    writer = csv.writer(out)
    writer.writerow(
        ["cụm loa", "lịch", "mục", "giờ dự kiến", "kết thúc dự kiến", "kết quả", "lý do", "số giây đã phát"]
    )
    for r in rows:
        writer.writerow(
            [
                r.device_id,
                r.schedule_id or "",
                r.item_id,
                f"{r.planned_start.astimezone(LOCAL_TZ):%d/%m/%Y %H:%M:%S}",
                f"{r.planned_end.astimezone(LOCAL_TZ):%d/%m/%Y %H:%M:%S}",
                STATUS_LABELS.get(r.status, r.status),
                REASON_LABELS.get(r.reason, r.reason),
                f"{r.played_s:.0f}",
            ]
        )
    return out.getvalue()


def summary(rows: list[ProofRow]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r.status] += 1
    return dict(counts)
