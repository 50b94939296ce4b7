"""Schedules → per-device manifests for the next 48 hours.

The work is done once per schedule (expansion to UTC slots) and once per unit (which schedules reach it, its
effective windows and volume cap); devices only pick up their unit's entries plus the few schedules aimed at them
directly. A device's manifest gets a new version only when its content (entries and windows) changes; the signed
payload is stored on :class:`~loa.broadcast.models.DeviceManifest`, which is also the outbox the gateway publishes
retained on ``loa/v1/dev/{id}/manifest`` and what ``GET /api/v1/broadcast/manifests/{id}`` serves.

The horizon starts at the current hour (not the current second), so the content — and the version — changes at
most when an entry enters or leaves the horizon, or when a schedule or a guardrail changes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from loa.broadcast import guardrails as gr
from loa.broadcast.models import (
    DeviceManifest,
    Guardrail,
    ItemKind,
    ManifestContent,
    ManifestRevision,
    Programme,
    Schedule,
)
from loa.broadcast.recurrence import (
    LOCAL_TZ,
    LOCAL_TZ_NAME,
    Recurrence,
    check_recurrence,
    session_plan,
    session_seconds,
    session_starts,
)
from loa.content.models import State as BulletinState
from loa_protocol import items
from loa_protocol import windows as wnd
from loa_protocol.messages import MAX_MANIFEST_BYTES
from loa_protocol.signing import load_private_key

log = logging.getLogger(__name__)

HORIZON = dt.timedelta(hours=48)
REFRESH_BEFORE = dt.timedelta(hours=24)  # re-sign an unchanged manifest when it has less than this left


def _iso(value: dt.datetime) -> str:
    """UTC instants as pydantic writes them in JSON mode (``2026-11-26T14:00:00Z``), so the signature the server
    computes over this dict is the one the device computes over the decoded model."""
    value = value.astimezone(dt.UTC)
    text = value.replace(tzinfo=None).isoformat()
    return text + "Z"


# ---- schedules → slots -----------------------------------------------------------------------------------


def recurrence_of(s: Schedule) -> Recurrence:
    return check_recurrence(
        s.kind,
        s.times,
        start_date=s.start_date,
        weekdays=s.weekdays or (),
        dates=[dt.date.fromisoformat(d) for d in s.dates or ()],
        rrule_text=s.rrule,
        exdates=[dt.date.fromisoformat(d) for d in s.exdates or ()],
        valid_from=s.valid_from,
        valid_until=s.valid_until,
        repeat_mode=s.repeat_mode,
        repeat_count=s.repeat_count,
        repeat_every_min=s.repeat_every_min,
        repeat_span_min=s.repeat_span_min,
    )


@dataclass(frozen=True)
class ItemMedia:
    item_id: str
    title: str
    sha256: str
    media_url: str
    duration_s: float
    kind: str = "file"  # "stream": a relay, played live from media_url, no sha256 (see docs/protocol.md)
    # a bulletin item plays only while its bulletin is published and valid (docs/adr/0007): a cancelled or
    # expired bulletin's approval is withdrawn, its slots stay empty (the other items keep their times)
    withdrawn: bool = False
    until: dt.datetime | None = None


def _bulletin_approval(item: Any) -> tuple[bool, dt.datetime | None]:
    bulletin = item.bulletin if item.bulletin_id else None
    if bulletin is None:
        return False, None
    return bulletin.state != BulletinState.PUBLISHED, bulletin.valid_until


def programme_media(s: Schedule) -> list[ItemMedia]:
    """The items of the schedule's programme, in order; a relay is a stream that plays for the schedule's relay
    minutes (or the item's own duration)."""
    out = []
    for item in s.programme.items.all():
        withdrawn, until = _bulletin_approval(item)
        duration = item.duration_s
        kind = "file"
        if item.kind == ItemKind.RELAY:
            kind = "stream"
            if s.relay_minutes:
                duration = s.relay_minutes * 60.0
        out.append(
            ItemMedia(
                items.programme_item_id(item.pk),
                item.title,
                item.sha256,
                item.media_url,
                float(duration),
                kind,
                withdrawn,
                until,
            )
        )
    return out


def schedule_entries(s: Schedule, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """The manifest entries (protocol JSON form, UTC) of one schedule that are still playing in ``[start, end)``.

    Entry ids are stable (schedule, slot start, item position), so a recompile yields the same ids."""
    media = programme_media(s)
    if not media:
        return []
    rec = recurrence_of(s)
    durations = [m.duration_s for m in media]
    length = session_seconds(rec, durations)
    out = []
    for session in session_starts(rec, start, end, length):
        for slot in session_plan(rec, session, durations):
            if slot.end <= start or slot.start >= end:
                continue
            m = media[slot.position]
            if m.withdrawn or (m.until is not None and slot.start >= m.until):
                continue
            entry: dict[str, Any] = {
                "entry_id": items.entry_id(s.pk, slot.start, slot.position),
                "start": _iso(slot.start),
                "end": _iso(slot.end),
                "item_id": m.item_id,
                "media_url": m.media_url,
                "duration_s": m.duration_s,
                "priority": s.priority,
                "volume": s.volume,
                "schedule_id": str(s.pk),
            }
            if m.kind == "stream":
                entry["kind"] = "stream"  # a live relay: no content hash, never downloaded by the device
            else:
                entry["sha256"] = m.sha256
            out.append(entry)
    return out


# ---- units: effective limits -----------------------------------------------------------------------------


def limits_of(g: Guardrail | None) -> gr.Limits:
    if g is None:
        return gr.Limits()
    return gr.Limits(
        windows=gr.stored_windows(g.windows) if g.windows is not None else None,
        max_sessions_per_day=g.max_sessions_per_day,
        allowed_weekdays=frozenset(g.allowed_weekdays) if g.allowed_weekdays is not None else None,
        max_days_per_week=g.max_days_per_week,
        max_minutes_per_session=g.max_minutes_per_session,
        max_volume=g.max_volume,
    )


class LimitsIndex:
    """Effective limits for unit paths, from one query of the guardrails along those paths."""

    def __init__(self, paths: Iterable[str]) -> None:
        codes: set[str] = set()
        for path in paths:
            codes.update(c for c in path.split("/") if c)
        rows = Guardrail.objects.filter(unit__code__in=codes).select_related("unit")
        self.by_code = {g.unit.code: limits_of(g) for g in rows}
        self._cache: dict[str, gr.Limits] = {}

    def effective(self, path: str) -> gr.Limits:
        if path not in self._cache:
            chain = [self.by_code.get(c, gr.Limits()) for c in path.split("/") if c]
            self._cache[path] = gr.effective(chain)
        return self._cache[path]


def effective_limits(unit: Any) -> gr.Limits:
    return LimitsIndex([unit.path]).effective(unit.path)


# ---- compile ---------------------------------------------------------------------------------------------


@dataclass
class CompileResult:
    devices: int = 0
    changed: int = 0
    unchanged: int = 0
    schedules: int = 0
    entries: int = 0
    seconds: float = 0.0
    changed_ids: list[str] = field(default_factory=list)


def horizon_start(now: dt.datetime) -> dt.datetime:
    return now.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def active_schedules(start: dt.datetime, end: dt.datetime) -> list[Schedule]:
    first_day = (start - dt.timedelta(days=1)).date()
    return list(
        Schedule.objects.filter(state=Schedule.State.ACTIVE)
        # only approved programmes reach a manifest (docs/adr/0007), whatever wrote the schedule row
        .filter(programme__state=Programme.State.APPROVED)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=first_day))
        .select_related("programme")
        .prefetch_related("programme__items__bulletin", "target_units", "target_devices")
    )


def _span(entry: dict[str, Any]) -> list[gr.Interval]:
    """The local minutes an entry occupies (split at midnight), rounded outwards to whole minutes."""
    start = dt.datetime.fromisoformat(entry["start"]).astimezone(LOCAL_TZ)
    end = dt.datetime.fromisoformat(entry["end"]).astimezone(LOCAL_TZ)
    a = start.hour * 60 + start.minute
    b = end.hour * 60 + end.minute + (1 if end.second or end.microsecond else 0)
    if end.date() == start.date():
        return [(a, max(b, a + 1))]
    return [(a, 1440), (0, max(b, 1))]


def manifest_windows(
    intervals: tuple[gr.Interval, ...] | None, opened: Iterable[gr.Interval] = ()
) -> tuple[list[dict[str, str]], bool]:
    """A unit's effective windows, opened by the spans of entries an approver allowed outside them, in the
    manifest's form (``windows``, ``closed``) by the protocol's encoding (:func:`loa_protocol.windows.encode`):
    the whole day is ``[]``, never open is ``closed``. ``None`` (no restriction) stays ``[]``."""
    if intervals is not None:
        intervals = wnd.merge([*intervals, *opened])
    pairs, closed = wnd.encode(intervals)
    return [{"end": b, "start": a} for a, b in pairs], closed


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compile_manifests(
    now: dt.datetime | None = None,
    *,
    device_ids: Iterable[str] | None = None,
    unit_paths: Iterable[str] | None = None,
    private_key: str | None = None,
) -> CompileResult:
    """Recompile the manifests of every active device (or of ``device_ids`` / the devices under ``unit_paths``).

    Bulk reads and writes: a fixed number of queries whatever the number of devices. The canonical JSON that the
    signature covers is assembled from pieces serialised once per distinct content (sorted keys, compact), which is
    byte for byte what ``loa_protocol.signing.canonical_bytes`` gives for the decoded manifest."""
    import time

    from loa.fleet import keys
    from loa.fleet.models import Device, DeviceKind

    t0 = time.perf_counter()
    now = (now or timezone.now()).astimezone(dt.UTC)
    start = horizon_start(now)
    end = start + HORIZON
    key = load_private_key(private_key or keys.private_key())
    result = CompileResult()

    # loudspeakers only: a board has its own manifest (signage.compile); counted here, every commune play listed
    # the commune's boards as planned and "không có nhật ký phát" in the proof of play
    qs = Device.objects.active().filter(kind=DeviceKind.LOUDSPEAKER).among(device_ids, unit_paths)
    devices = list(qs.values_list("device_id", "unit__path"))
    result.devices = len(devices)
    if not devices:
        result.seconds = time.perf_counter() - t0
        return result

    schedules = active_schedules(start, end)
    by_unit_path: dict[str, list[int]] = defaultdict(list)
    by_device: dict[str, list[int]] = defaultdict(list)
    entries_of: list[list[dict[str, Any]]] = []
    for idx, s in enumerate(schedules):
        entries_of.append(schedule_entries(s, start, end))
        for u in s.target_units.all():
            by_unit_path[u.path].append(idx)
        for d in s.target_devices.all():
            by_device[d.device_id].append(idx)
    result.schedules = sum(1 for e in entries_of if e)

    limits = LimitsIndex({p for _, p in devices})
    # A schedule an approver allowed outside the windows: its entries' spans open the device's windows too,
    # otherwise the device would (rightly, by its own rule) refuse what the approver allowed.
    overridden = {
        str(s.pk) for s in schedules if any(v.get("code") == "outside_window" for v in (s.violations or []))
    }
    UnitView = tuple[tuple[int, ...], str, tuple[gr.Interval, ...] | None, int | None]
    unit_cache: dict[str, UnitView] = {}

    def unit_view(path: str) -> UnitView:
        if path not in unit_cache:
            prefixes = []
            acc = ""
            for code in (c for c in path.split("/") if c):
                acc += code + "/"
                prefixes.append(acc)
            idxs = tuple(sorted({i for p in prefixes for i in by_unit_path.get(p, ())}))
            lim = limits.effective(path)
            unit_cache[path] = (idxs, repr(lim.windows), lim.windows, lim.max_volume)
        return unit_cache[path]

    existing = {
        m.device_id: m
        for m in DeviceManifest.objects.filter(device_id__in=[d for d, _ in devices]).only(
            "device_id", "version", "content_hash", "valid_until", "published_version"
        )
    }
    # distinct contents: (schedule indexes, windows, cap) → (digest, entries json, entries, windows, windows json)
    contents: dict[
        tuple[Any, ...], tuple[str, str, list[dict[str, Any]], list[dict[str, str]], str, bool]
    ] = {}
    to_create: list[DeviceManifest] = []
    to_update: list[DeviceManifest] = []
    revisions: list[ManifestRevision] = []
    head = f',"generated_at":"{_iso(now)}"'
    tail = (
        f',"timezone":"{LOCAL_TZ_NAME}","v":1,'
        f'"valid_from":"{_iso(start)}","valid_until":"{_iso(end)}","version":'
    )
    for device_id, path in devices:
        idxs, windows_key, intervals, cap = unit_view(path)
        own = by_device.get(device_id)
        all_idxs = tuple(sorted(set(idxs) | set(own))) if own else idxs
        content_key = (all_idxs, windows_key, cap)
        if content_key not in contents:
            entries = [e for i in all_idxs for e in entries_of[i]]
            if cap is not None:
                entries = [
                    {**e, "volume": min(e["volume"], cap) if e["volume"] is not None else cap}
                    for e in entries
                ]
            entries.sort(key=lambda e: (e["start"], e["priority"], e["entry_id"]))
            opened = [iv for e in entries if e["schedule_id"] in overridden for iv in _span(e)]
            windows, closed = manifest_windows(intervals, opened)
            windows_json = _dumps(windows)
            entries_json = _dumps(entries)
            capped = "" if cap is None else f"|{cap}"  # the device enforces the cap too (Manifest.max_volume)
            shut = "|closed" if closed else ""
            digest = hashlib.sha256(f"{windows_json}|{entries_json}{capped}{shut}".encode()).hexdigest()
            contents[content_key] = (digest, entries_json, entries, windows, windows_json, closed)
        digest, entries_json, entries, _windows, windows_json, closed = contents[content_key]
        result.entries += len(entries)
        current = existing.get(device_id)
        if (
            current is not None
            and current.content_hash == digest
            and current.valid_until is not None
            and current.valid_until - now > REFRESH_BEFORE
        ):
            result.unchanged += 1
            continue
        version = (current.version if current else 0) + 1
        canonical = (
            ('{"closed":true,' if closed else "{")  # sorted keys: "closed" first; left out when false
            + f'"device_id":"{device_id}","entries":{entries_json}{head}'
            + ("" if cap is None else f',"max_volume":{cap}')
            + f'{tail}{version},"windows":{windows_json}}}'
        ).encode()
        signature = base64.b64encode(key.sign(canonical)).decode()
        payload = canonical[:-1] + f',"signature":"{signature}"}}'.encode()
        if len(payload) > MAX_MANIFEST_BYTES:
            # a device refuses it as too_large and reports it (ManifestAck → alarm): say why here too
            log.error(
                "lịch phát của %s lớn %d byte, quá giới hạn thiết bị %d byte (protocol.md §1): thiết bị sẽ từ chối",
                device_id, len(payload), MAX_MANIFEST_BYTES,
            )  # fmt: skip
        if current is None:
            to_create.append(
                DeviceManifest(
                    device_id=device_id, version=version, content_hash=digest, payload=payload,
                    valid_until=end, generated_at=now,
                )
            )  # fmt: skip
        else:
            current.version, current.content_hash, current.payload = version, digest, payload
            current.valid_until, current.generated_at = end, now
            to_update.append(current)
        revisions.append(ManifestRevision(device_id=device_id, version=version, generated_at=now))
        revisions[-1].digest = digest  # type: ignore[attr-defined]
        result.changed += 1
        result.changed_ids.append(device_id)
    with transaction.atomic():
        used = {r.digest for r in revisions}  # type: ignore[attr-defined]
        if used:
            known = dict(ManifestContent.objects.filter(digest__in=used).values_list("digest", "pk"))
            new = [
                # what the manifest carries; a closed one (never open) is kept as {"closed": true}
                ManifestContent(digest=d, entries=e, windows={"closed": True} if shut else w)
                for d, _j, e, w, _wj, shut in contents.values()
                if d in used and d not in known
            ]
            unique_new = list({c.digest: c for c in new}.values())
            ManifestContent.objects.bulk_create(unique_new, batch_size=200)
            known = dict(ManifestContent.objects.filter(digest__in=used).values_list("digest", "pk"))
            for r in revisions:
                r.content_id = known[r.digest]  # type: ignore[attr-defined]
        if to_create:
            DeviceManifest.objects.bulk_create(to_create, batch_size=500)
        if to_update:
            DeviceManifest.objects.bulk_update(
                to_update,
                ["version", "content_hash", "payload", "valid_until", "generated_at"],
                batch_size=500,
            )
        if revisions:
            ManifestRevision.objects.bulk_create(revisions, batch_size=1000)
    result.seconds = time.perf_counter() - t0
    return result


def manifest_payload(device_id: str) -> bytes | None:
    """The current signed manifest of a device (for the HTTPS safety net), or ``None``."""
    row = DeviceManifest.objects.filter(device_id=device_id).only("payload").first()
    return bytes(row.payload) if row is not None else None
