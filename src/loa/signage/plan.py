"""Planned versus shown, per board and per playlist (issue 9 item 7, the server side).

**Planned**: the timeline entries of the board's manifest revision in force when each entry started
(:class:`~loa.signage.models.BoardManifestRevision`: what the board had been told to show then; an entry removed
before it was due — a schedule cancelled — is no longer planned). **Shown**: the proof-of-display rows the player
uploads (:class:`~loa.signage.models.ProofOfDisplay`, ingested exactly once by the player endpoint), matched by
entry id; the seconds of the main zone (or the whole screen) count.

Verdict per board and entry (the loudspeakers' words, :mod:`loa.broadcast.proof`):

| status | meaning |
|---|---|
| ``played`` "đã hiển thị" | ≥ 95 % of the entry's time on screen |
| ``partly`` "hiển thị một phần" | some of it (reason: the players' own, e.g. ``preempted``) |
| ``missed`` "không hiển thị" | none: the player's reason when its rows give one, else ``no_report`` |
| ``pending`` "chưa tới giờ" | not over yet |
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from loa.signage.models import BoardManifestRevision, ProofOfDisplay

SHOWN_RATIO = 0.95
MAX_RANGE = dt.timedelta(days=31)


@dataclass
class PlanRow:
    device_id: str
    entry_id: str
    playlist_id: str
    schedule_id: str
    start: dt.datetime
    end: dt.datetime
    planned_s: float
    shown_s: float = 0.0
    displays: int = 0
    status: str = "pending"
    reason: str = ""
    reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id, "entry_id": self.entry_id, "playlist_id": self.playlist_id,
            "schedule_id": self.schedule_id, "start": self.start, "end": self.end, "planned_s": self.planned_s,
            "shown_s": round(self.shown_s, 3), "displays": self.displays, "status": self.status,
            "reason": self.reason,
        }  # fmt: skip


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def planned(device_ids: Iterable[str], since: dt.datetime, until: dt.datetime) -> list[PlanRow]:
    """The entries planned on these boards that overlap ``[since, until)``."""
    revs: dict[str, list[tuple[dt.datetime, list[dict[str, Any]]]]] = defaultdict(list)
    for device_id, generated_at, timeline in (
        BoardManifestRevision.objects.filter(device_id__in=list(device_ids), generated_at__lt=until)
        .order_by("device_id", "generated_at", "pk")
        .values_list("device_id", "generated_at", "timeline__timeline")
    ):
        revs[str(device_id)].append((generated_at, timeline or []))
    rows: list[PlanRow] = []
    for board_id, history in revs.items():
        times = [g for g, _ in history]
        seen: set[str] = set()
        for _g, timeline in history:
            for e in timeline:
                start, end = _parse(e["start"]), _parse(e["end"])
                if e["entry_id"] in seen or end <= since or start >= until:
                    continue
                # the revision in force at the entry's start (the last one generated before it)
                i = bisect_right(times, start) - 1
                in_force = history[max(i, 0)][1]
                if not any(x["entry_id"] == e["entry_id"] for x in in_force):
                    continue
                seen.add(e["entry_id"])
                rows.append(
                    PlanRow(
                        board_id, e["entry_id"], e["playlist_id"], str(e.get("schedule_id") or ""), start, end,
                        (end - start).total_seconds(),
                    )
                )  # fmt: skip
    rows.sort(key=lambda r: (r.start, r.device_id))
    return rows


def judge(rows: list[PlanRow], now: dt.datetime) -> list[PlanRow]:
    """Fill the shown side from the proof-of-display rows (one query) and give each row its verdict."""
    if not rows:
        return rows
    shown: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for device_id, entry_id, zone, started, ended, reason in ProofOfDisplay.objects.filter(
        device_id__in={r.device_id for r in rows}, entry_id__in={r.entry_id for r in rows}
    ).values_list("device_id", "entry_id", "zone", "started_at", "ended_at", "reason"):
        shown[(str(device_id), entry_id)].append((zone, started, ended, reason))
    for r in rows:
        for zone, started, ended, reason in shown.get((r.device_id, r.entry_id), []):
            if zone in ("main", ""):
                r.shown_s += max(0.0, (min(ended, r.end) - max(started, r.start)).total_seconds())
                r.displays += 1
            if reason:
                code = reason.split(":")[0]
                r.reasons[code] = r.reasons.get(code, 0) + 1
        if r.shown_s >= SHOWN_RATIO * r.planned_s:
            r.status = "played"
        elif r.shown_s > 0:
            r.status, r.reason = "partly", max(r.reasons, key=r.reasons.__getitem__) if r.reasons else ""
        elif r.end > now:
            r.status = "pending"
        else:
            r.status = "missed"
            r.reason = max(r.reasons, key=r.reasons.__getitem__) if r.reasons else "no_report"
    return rows


def board_plan(device_id: str, since: dt.datetime, until: dt.datetime, now: dt.datetime) -> list[PlanRow]:
    return judge(planned([device_id], since, until), now)


def playlist_plan(
    playlist_id: int, device_ids: Iterable[str], since: dt.datetime, until: dt.datetime, now: dt.datetime
) -> list[PlanRow]:
    rows = [r for r in planned(device_ids, since, until) if r.playlist_id == f"pl{playlist_id}"]
    return judge(rows, now)


def totals(rows: list[PlanRow]) -> dict[str, int]:
    out = {"planned": len(rows), "played": 0, "partly": 0, "missed": 0, "pending": 0}
    for r in rows:
        out[r.status] += 1
    return out
