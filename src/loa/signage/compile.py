"""Board playlists → each board's signed 48-hour manifest (:class:`loa_protocol.board.BoardManifest`).

Like the clusters' compiler (:mod:`loa.broadcast.compile`): the horizon starts at the current hour; each active
board schedule is expanded once (stable entry ids, ``b{schedule}-{start}Z``); the timeline of a board is computed
once per distinct (screen, unit, schedules aimed at the board) and validated once through the protocol model;
each board's manifest is then spliced from the pre-serialised canonical pieces and signed with the fleet's
command key (Ed25519, the same key and canonical form as the clusters' manifests). A board's version moves only
when its content changes (timeline, windows, kill switch, emergency, screen, brightness schedule) or when it has
under 24 h left.

What a board shows, in the manifest: the kill switch state (:func:`loa.fleet.boards.killed_ids`), an active
emergency of an area that contains the board (the whole screen, signed on its own too), the screen-on windows
(:mod:`loa.signage.windows`), the fleet's brightness schedule, the layouts it uses and the timeline. Only approved
playlists are compiled, and a bulletin slide whose bulletin is no longer published (or past its validity) is left
out (docs/adr/0007).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from loa.broadcast.compile import REFRESH_BEFORE, horizon_start, recurrence_of
from loa.broadcast.models import Emergency, Programme, Schedule
from loa.broadcast.recurrence import LOCAL_TZ_NAME, session_starts
from loa.content.models import State as BulletinState
from loa.fleet import boards as fleet_boards
from loa.fleet import keys
from loa.fleet.models import BoardScreen, Device, DeviceKind
from loa.signage import layouts
from loa.signage.models import (
    BoardManifestRevision,
    BoardManifestRow,
    BoardSchedule,
    BoardTimeline,
    SlideKind,
)
from loa.signage.store import url_of
from loa.signage.windows import ScreenWindowsIndex
from loa_protocol import board as pb
from loa_protocol import windows as wnd
from loa_protocol.signing import load_private_key

HORIZON = pb.BOARD_MANIFEST_TTL
EMERGENCY_LOOKBACK = dt.timedelta(hours=24)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat() + "Z"


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass
class CompileResult:
    boards: int = 0
    changed: int = 0
    unchanged: int = 0
    schedules: int = 0
    seconds: float = 0.0
    changed_ids: list[str] = field(default_factory=list)


# ---- schedules → entries (per screen class) ------------------------------------------------------------------


def _media(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": url_of(r["sha256"], r["ext"]),
        "sha256": r["sha256"],
        "bytes": r["bytes"],
        "mime": r["mime"],
    }


def slide_json(
    slide: Any, position: int, duration: float, cls: str, zone_ids: set[str], scale: float
) -> dict | None:
    """One slide as the manifest carries it for a board of standard class ``cls``; ``None`` when it was not
    prepared for that class or may not be shown (a bulletin no longer published)."""
    zone = "main"
    out: dict[str, Any] = {
        "slide_id": f"sl{slide.pk}-{position}",
        "kind": slide.kind,
        "duration_s": float(duration),
    }
    if slide.kind == SlideKind.TICKER:
        zone = "ticker" if "ticker" in zone_ids else "main"
        out["text"] = {"body": slide.text, "align": "left"}
    elif slide.kind == SlideKind.CLOCK:
        zone = "clock" if "clock" in zone_ids else "main"
    elif slide.kind in (SlideKind.TEXT, SlideKind.BULLETIN):
        fit = (slide.fits or {}).get(cls)
        if fit is None:
            return None
        text: dict[str, Any] = {
            "body": "\n".join(fit["lines"]),
            "font_px": max(4, round(fit["font_px"] * scale)),
        }
        if slide.kind == SlideKind.BULLETIN:
            b = slide.bulletin
            if b is None or b.state != BulletinState.PUBLISHED:
                return None
            out["bulletin_id"] = str(b.pk)
            out["url"] = f"/congdan/ban-tin/{b.pk}/"
            if slide.qr:
                out["qr"] = _media(slide.qr)
            image = (slide.renditions or {}).get(cls)
            if image is not None:  # the bulletin's own image
                out["media"] = _media(image)
            text["align"] = "left"
        out["text"] = text
    else:
        r = (slide.renditions or {}).get(cls)
        if r is None:
            return None
        out["media"] = _media(r)
    out["zone"] = zone
    return out


@dataclass
class _Sched:
    schedule: Schedule
    board: BoardSchedule
    starts: list[tuple[dt.datetime, dt.datetime]]
    until: dt.datetime | None  # the earliest valid_until of its bulletin slides


def _expand(bs: BoardSchedule, start: dt.datetime, end: dt.datetime) -> _Sched:
    s = bs.schedule
    items = list(bs.playlist.items.all())
    one_pass = sum(float(i.duration_s) for i in items)
    length = max(one_pass, bs.minutes * 60.0)
    rec = recurrence_of(s)
    spans = []
    for st in session_starts(rec, start, end, length):
        en = st + dt.timedelta(seconds=length)
        if en > start and st < end:
            spans.append((st, en))
    untils = [
        b.valid_until for i in items if (b := i.slide.bulletin) is not None and b.valid_until is not None
    ]
    return _Sched(s, bs, spans, min(untils) if untils else None)


def active_board_schedules(start: dt.datetime, end: dt.datetime) -> list[BoardSchedule]:
    first_day = (start - dt.timedelta(days=1)).date()
    return list(
        BoardSchedule.objects.filter(schedule__state=Schedule.State.ACTIVE)
        .filter(schedule__programme__state=Programme.State.APPROVED)
        .filter(Q(schedule__valid_until__isnull=True) | Q(schedule__valid_until__gte=first_day))
        .select_related("schedule", "playlist")
        .prefetch_related(
            "playlist__items__slide__bulletin", "schedule__target_units", "schedule__target_devices"
        )
    )


def entries_for(
    sched: _Sched, cls: str, layout_zones: dict[str, set[str]], scale: float
) -> list[dict[str, Any]]:
    playlist = sched.board.playlist
    zone_ids = layout_zones[playlist.layout]
    slides = [
        j
        for pos, item in enumerate(playlist.items.all())
        if (j := slide_json(item.slide, pos, item.duration_s, cls, zone_ids, scale)) is not None
    ]
    if not any(s["zone"] == "main" for s in slides):
        return []
    out = []
    for st, en in sched.starts:
        if sched.until is not None and st >= sched.until:
            continue
        out.append(
            {
                "entry_id": f"b{sched.schedule.pk}-{st.astimezone(dt.UTC):%Y%m%dT%H%M%S}Z",
                "start": _iso(st),
                "end": _iso(en),
                "playlist_id": f"pl{playlist.pk}",
                "layout_id": playlist.layout,
                "priority": 3 if sched.schedule.priority == 3 else 4,
                "schedule_id": str(sched.schedule.pk),
                "slides": slides,
            }
        )
    return out


# ---- emergencies ---------------------------------------------------------------------------------------------


def active_emergencies(now: dt.datetime) -> list[Emergency]:
    return list(
        Emergency.objects.filter(state=Emergency.State.ACTIVE, created_at__gte=now - EMERGENCY_LOOKBACK)
        .select_related("unit")
        .order_by("-created_at")
    )


def emergency_json(em: Emergency, key: Any) -> dict[str, Any]:
    msg = pb.BoardEmergency(
        emergency_id=f"em{em.pk}",
        unit_code=em.unit.code,
        title=em.title[:300] or "Thông báo khẩn cấp",
        text=(em.text or "")[:5000],
        issued_at=em.created_at,
    )
    return pb.signed_emergency(msg, key).model_dump(mode="json")


# ---- compile -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _UnitPath:
    path: str


@dataclass(frozen=True)
class _Board:
    device_id: str
    unit: _UnitPath
    screen: dict[str, Any]
    brightness: tuple[tuple[str, int], ...] = ()


def _brightness(steps: Any) -> tuple[tuple[str, int], ...]:
    """The fleet's stored brightness schedule (already checked, ``fleet.boards.check_brightness_schedule``) as the
    manifest's sorted steps."""
    return tuple(sorted((str(s["at"]), int(s["percent"])) for s in (steps or ())))


def _screen_row(
    screen_class: str | None, width: int | None, height: int | None, orientation: str | None
) -> dict:
    if screen_class is None or not width or not height:
        return _screen(None)
    return {
        "screen_class": screen_class,
        "width": width,
        "height": height,
        "orientation": orientation or "landscape",
    }


def _screen(row: BoardScreen | None) -> dict[str, Any]:
    if row is None:
        return {"screen_class": "landscape", "width": 1920, "height": 1080, "orientation": "landscape"}
    return {
        "screen_class": row.screen_class, "width": row.width, "height": row.height,
        "orientation": row.orientation,
    }  # fmt: skip


def compile_board_manifests(
    now: dt.datetime | None = None,
    *,
    device_ids: Iterable[str] | None = None,
    unit_paths: Iterable[str] | None = None,
    private_key: str | None = None,
) -> CompileResult:
    t0 = time.perf_counter()
    now = (now or timezone.now()).astimezone(dt.UTC)
    start = horizon_start(now)
    end = start + HORIZON
    key = load_private_key(private_key or keys.private_key())
    result = CompileResult()

    qs = Device.objects.active().filter(kind=DeviceKind.EBOARD).among(device_ids, unit_paths)
    # plain rows, not model instances: a thousand boards with their unit and screen in one light query
    devices = [
        _Board(device_id, _UnitPath(path), _screen_row(sc, w, h, o), _brightness(b))
        for device_id, path, sc, w, h, o, b in qs.values_list(
            "device_id", "unit__path", "screen__screen_class", "screen__width", "screen__height",
            "screen__orientation", "screen__brightness_schedule",
        )
    ]  # fmt: skip
    result.boards = len(devices)
    if not devices:
        result.seconds = time.perf_counter() - t0
        return result

    scheds = [_expand(bs, start, end) for bs in active_board_schedules(start, end)]
    scheds = [s for s in scheds if s.starts]
    result.schedules = len(scheds)
    by_unit_path: dict[str, list[int]] = defaultdict(list)
    by_device: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(scheds):
        for u in s.schedule.target_units.all():
            by_unit_path[u.path].append(i)
        for d in s.schedule.target_devices.all():
            by_device[d.device_id].append(i)
    windows_index = ScreenWindowsIndex({d.unit.path for d in devices})
    killed = fleet_boards.killed_ids(devices)  # type: ignore[arg-type]  # it reads device_id and unit.path only
    emergencies = active_emergencies(now)
    em_cache: dict[int, dict[str, Any]] = {}

    def emergency_for(path: str) -> dict[str, Any] | None:
        for em in emergencies:  # the latest one of an area containing the board
            if path.startswith(em.unit.path):
                if em.pk not in em_cache:
                    em_cache[em.pk] = emergency_json(em, key)
                return em_cache[em.pk]
        return None

    existing: dict[str, tuple[Any, ...]] = {
        str(row[0]): row
        for row in BoardManifestRow.objects.filter(device_id__in=[d.device_id for d in devices]).values_list(
            "device_id", "pk", "version", "content_hash", "valid_until"
        )
    }
    contents: dict[tuple[Any, ...], tuple[str, tuple[str, str, str], list[dict[str, Any]]]] = {}
    rows_new: list[BoardManifestRow] = []
    rows_upd: list[tuple[Any, ...]] = []
    revisions: list[tuple[BoardManifestRevision, str]] = []
    for device in devices:
        path = device.unit.path
        screen = device.screen
        w, h = screen["width"], screen["height"]
        cls = layouts.standard_class(screen["screen_class"], screen["orientation"], w, h)
        base_w, base_h = layouts.SCREEN_SIZES[cls]
        scale = min(w / base_w, h / base_h)
        prefixes, acc = [], ""
        for code in (c for c in path.split("/") if c):
            acc += code + "/"
            prefixes.append(acc)
        idxs = sorted(
            {i for p in prefixes for i in by_unit_path.get(p, ())} | set(by_device.get(device.device_id, ()))
        )
        windows = windows_index.effective(path)
        em = emergency_for(path)
        is_killed = device.device_id in killed
        content_key = (
            tuple(idxs),
            cls,
            w,
            h,
            screen["orientation"],
            windows,
            em and em["emergency_id"],
            is_killed,
            device.brightness,
        )
        if content_key not in contents:
            layout_zones = {
                name: {z.zone_id for z in layouts.zones(name, w, h)} for name in layouts.LAYOUT_LABELS
            }
            timeline = [e for i in idxs for e in entries_for(scheds[i], cls, layout_zones, scale)]
            timeline.sort(key=lambda e: (e["start"], e["priority"], e["entry_id"]))
            used = sorted({e["layout_id"] for e in timeline})
            pairs, closed = wnd.encode(windows)
            body = {
                "brightness": [{"at": at, "percent": pct} for at, pct in device.brightness],
                "closed": closed,
                "emergency": em,
                "killed": is_killed,
                "kind": "board",
                "layouts": [
                    {
                        "layout_id": n,
                        "name": layouts.LAYOUT_LABELS[n],
                        "zones": [z.as_dict() for z in layouts.zones(n, w, h)],
                    }
                    for n in used
                ],
                "screen": screen,
                "timeline": timeline,
                "timezone": LOCAL_TZ_NAME,
                "v": 1,
                "windows": [{"start": a, "end": b} for a, b in pairs],
            }
            # validated once per distinct content through the protocol model, in its canonical JSON form
            probe = pb.BoardManifest.model_validate(
                {**body, "device_id": "loa-000000000000", "version": 1, "issued_at": now, "valid_until": end}
            ).model_dump(mode="json", exclude={"signature"})
            for k in ("device_id", "version", "issued_at", "valid_until"):
                probe.pop(k)
            digest = hashlib.sha256(_dumps(probe).encode()).hexdigest()
            pieces = {k: _dumps(v) for k, v in probe.items()}
            pieces["issued_at"], pieces["valid_until"] = _dumps(_iso(now)), _dumps(_iso(end))
            contents[content_key] = (digest, _template(pieces), probe["timeline"])
        digest, (before_id, before_version, after_version), timeline = contents[content_key]
        current = existing.get(device.device_id)  # (device_id, pk, version, content_hash, valid_until)
        if (
            current is not None
            and current[3] == digest
            and current[4] is not None
            and current[4] - now > REFRESH_BEFORE
        ):
            result.unchanged += 1
            continue
        version = (current[2] if current else 0) + 1
        # device ids match ^loa-[0-9a-f]{12}$ (the protocol's pattern): written in JSON as they are
        canonical = f"{before_id}{device.device_id}{before_version}{version}{after_version}"
        signature = base64.b64encode(key.sign(canonical.encode())).decode()
        payload = (canonical[:-1] + f',"signature":"{signature}"}}').encode()
        if current is None:
            rows_new.append(
                BoardManifestRow(
                    device_id=device.device_id, version=version, content_hash=digest, payload=payload,
                    valid_until=end, generated_at=now,
                )
            )  # fmt: skip
        else:
            rows_upd.append((version, digest, payload, current[1]))
        revisions.append(
            (BoardManifestRevision(device_id=device.device_id, version=version, generated_at=now), digest)
        )
        result.changed += 1
        result.changed_ids.append(device.device_id)
    timelines = {d: t for d, _p, t in contents.values()}
    with transaction.atomic():
        digests = {d for _r, d in revisions}
        if digests:
            known = dict(BoardTimeline.objects.filter(digest__in=digests).values_list("digest", "pk"))
            BoardTimeline.objects.bulk_create(
                [BoardTimeline(digest=d, timeline=timelines[d]) for d in digests if d not in known],
                batch_size=200,
            )
            known = dict(BoardTimeline.objects.filter(digest__in=digests).values_list("digest", "pk"))
            for r, digest in revisions:
                r.timeline_id = known[digest]
        if rows_new:
            BoardManifestRow.objects.bulk_create(rows_new, batch_size=500)
        if rows_upd:  # one prepared UPDATE run for every row (bulk_update's CASE WHEN costs seconds at 1,000)
            ops = connection.ops
            table = BoardManifestRow._meta.db_table
            until_db, now_db = ops.adapt_datetimefield_value(end), ops.adapt_datetimefield_value(now)
            params: list[Any] = [(v, d, p, until_db, now_db, pk) for v, d, p, pk in rows_upd]
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {table} SET version = %s, content_hash = %s, payload = %s, valid_until = %s, "  # noqa: S608
                    "generated_at = %s WHERE id = %s",
                    params,
                )
        if revisions:
            BoardManifestRevision.objects.bulk_create([r for r, _d in revisions], batch_size=1000)
    result.seconds = time.perf_counter() - t0
    return result


def _template(pieces: dict[str, str]) -> tuple[str, str, str]:
    """The canonical JSON (sorted keys, compact) of a manifest whose values are pre-serialised in ``pieces``, cut
    where the two per-board values go: ``before_id + device_id + before_version + version + after_version``. The
    timeline is serialised once per distinct content, not once per board."""
    keys = sorted([*pieces, "device_id", "version"])
    out: list[str] = []
    chunk = "{"
    for i, k in enumerate(keys):
        chunk += ("," if i else "") + _dumps(k) + ":"
        if k == "device_id":
            out.append(chunk + '"')
            chunk = '"'
        elif k == "version":
            out.append(chunk)
            chunk = ""
        else:
            chunk += pieces[k]
    out.append(chunk + "}")
    return out[0], out[1], out[2]


def manifest_payload(device_id: str) -> bytes | None:
    row = BoardManifestRow.objects.filter(device_id=device_id).only("payload").first()
    return bytes(row.payload) if row is not None else None


def compile_later(*, unit_paths: Iterable[str] = (), device_ids: Iterable[str] = ()) -> None:
    """Recompile the boards under ``unit_paths`` (and ``device_ids``) after the current transaction commits."""
    paths, ids = sorted(set(unit_paths)), sorted(set(device_ids))
    if paths:
        transaction.on_commit(lambda: compile_board_manifests(unit_paths=paths))
    if ids:
        transaction.on_commit(lambda: compile_board_manifests(device_ids=ids))


def on_bulletin_transition(sender: Any, bulletin: Any, name: str, **kwargs: Any) -> None:
    """Receiver of ``loa.content.signals.bulletin_transition`` (after commit): a bulletin that leaves "published"
    (cancelled, expired, replaced) leaves the boards showing it now, not at the next hourly compilation."""
    if bulletin.state == BulletinState.PUBLISHED:
        return
    schedules = (
        Schedule.objects.filter(state=Schedule.State.ACTIVE, board__playlist__items__slide__bulletin=bulletin)
        .distinct()
        .prefetch_related("target_units", "target_devices__unit")
    )
    paths = sorted(
        {u.path for s in schedules for u in s.target_units.all()}
        | {d.unit.path for s in schedules for d in s.target_devices.all()}
    )
    if paths:
        compile_board_manifests(unit_paths=paths)


def on_emergency_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Receiver of ``post_save`` of :class:`~loa.broadcast.models.Emergency`: the boards of its area get the
    emergency in their manifests (or lose it on cancel) once the transaction commits — the player's push channel
    carries it at once; the manifest must not bring back a cancelled one."""
    path = instance.unit.path
    transaction.on_commit(lambda: compile_board_manifests(unit_paths=[path]))


def on_board_changed(
    sender: Any, unit_paths: list[str] | None = None, device_ids: list[str] | None = None, **kwargs: Any
) -> None:
    """Receiver of ``loa.fleet.signals.board_changed`` (sent inside the fleet's transaction): recompile those
    boards once it commits — the kill switch and the screen are in the manifest."""
    compile_later(unit_paths=unit_paths or (), device_ids=device_ids or ())
