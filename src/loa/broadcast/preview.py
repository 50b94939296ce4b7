"""What plays here, and when: the next hours of a commune (or one device) from the compiled manifests, with the
entries a device will refuse (outside its windows) and the conflicts (two entries overlapping) marked."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from loa.broadcast.models import DeviceManifest, ManifestContent, Schedule
from loa.broadcast.recurrence import LOCAL_TZ
from loa_protocol import items
from loa_protocol import windows as wnd
from loa_protocol.ladder import obeys_windows


@dataclass
class PreviewRow:
    start: dt.datetime
    end: dt.datetime
    title: str
    schedule_id: int | None
    priority: int
    devices: int
    refused: bool
    conflict: str

    def as_dict(self) -> dict[str, Any]:
        start, end = self.start.astimezone(LOCAL_TZ), self.end.astimezone(LOCAL_TZ)
        # a play whose length is unknown or under a minute shows its start alone, not "06:30–06:30"
        local = f"{start:%d/%m %H:%M}" + (f"–{end:%H:%M}" if f"{end:%H:%M}" != f"{start:%H:%M}" else "")
        return {**self.__dict__, "local": local}


def _titles(entries: list[dict[str, Any]]) -> dict[str, str]:
    from loa.broadcast.models import ProgrammeItem

    ids = {pk for e in entries if (pk := items.programme_item_pk(e["item_id"])) is not None}
    return {
        items.programme_item_id(pk): t
        for pk, t in ProgrammeItem.objects.filter(pk__in=ids).values_list("pk", "title")
    }


def _rows(
    contents: list[tuple[ManifestContent, int]], start: dt.datetime, end: dt.datetime
) -> list[PreviewRow]:
    """Entries of the given contents (each with its number of devices) in ``[start, end)``."""
    by_entry: dict[str, dict[str, Any]] = {}
    devices: Counter[str] = Counter()
    refused: dict[str, bool] = {}
    conflicts: dict[str, str] = defaultdict(str)
    all_entries: list[dict[str, Any]] = []
    for content, n in contents:
        # the device's own rule (loa_protocol.windows); a closed manifest is stored as {"closed": true}
        closed = isinstance(content.windows, dict) and bool(content.windows.get("closed"))
        pairs = [] if closed else [(w["start"], w["end"]) for w in content.windows or []]
        windows = wnd.decode(pairs, closed=closed)
        entries = [
            e for e in content.entries
            if dt.datetime.fromisoformat(e["end"]) > start and dt.datetime.fromisoformat(e["start"]) < end
        ]  # fmt: skip
        entries.sort(key=lambda e: e["start"])
        for e in entries:
            by_entry.setdefault(e["entry_id"], e)
            devices[e["entry_id"]] += n
            at = dt.datetime.fromisoformat(e["start"])
            is_refused = obeys_windows(e["priority"]) and not wnd.open_at(windows, at, LOCAL_TZ)
            refused[e["entry_id"]] = refused.get(e["entry_id"], False) or is_refused
        for a, b in itertools.pairwise(entries):
            if b["start"] < a["end"] and a["schedule_id"] != b["schedule_id"]:
                conflicts[b["entry_id"]] = f"trùng giờ với lịch #{a['schedule_id']}"
                conflicts[a["entry_id"]] = (
                    conflicts[a["entry_id"]] or f"trùng giờ với lịch #{b['schedule_id']}"
                )
        all_entries += entries
    titles = _titles(all_entries)
    schedule_titles = dict(
        Schedule.objects.filter(pk__in={int(e["schedule_id"]) for e in all_entries if e.get("schedule_id")})
        .values_list("pk", "title")
    )  # fmt: skip
    rows = []
    for entry_id, e in by_entry.items():
        sid = int(e["schedule_id"]) if e.get("schedule_id") else None
        title = titles.get(e["item_id"], e["item_id"])
        # a schedule named after what it plays ("Lên lịch phát" on a bulletin) is named once
        schedule_title = schedule_titles.get(sid) if sid is not None else None
        if schedule_title and schedule_title != title:
            title = f"{schedule_title}: {title}"
        rows.append(
            PreviewRow(
                start=dt.datetime.fromisoformat(e["start"]),
                end=dt.datetime.fromisoformat(e["end"]),
                title=title,
                schedule_id=sid,
                priority=e["priority"],
                devices=devices[entry_id],
                refused=refused[entry_id],
                conflict=conflicts.get(entry_id, ""),
            )
        )
    rows.sort(key=lambda r: (r.start, r.priority))
    return rows


def unit_preview(unit: Any, *, hours: int = 24, now: dt.datetime | None = None) -> list[PreviewRow]:
    now = now or timezone.now()
    hashes = Counter(
        DeviceManifest.objects.filter(device__unit__path__startswith=unit.path, device__revoked_at__isnull=True)
        .values_list("content_hash", flat=True)
    )  # fmt: skip
    contents = ManifestContent.objects.filter(digest__in=list(hashes))
    return _rows([(c, hashes[c.digest]) for c in contents], now, now + dt.timedelta(hours=hours))


def device_preview(device: Any, *, hours: int = 24, now: dt.datetime | None = None) -> list[PreviewRow]:
    now = now or timezone.now()
    m = DeviceManifest.objects.filter(device=device).only("content_hash").first()
    content = ManifestContent.objects.filter(digest=m.content_hash).first() if m else None
    if content is None:
        return []
    return _rows([(content, 1)], now, now + dt.timedelta(hours=hours))
