"""Broadcasting services: ``check_*`` validates, ``do_*`` changes state and writes the audit log in the same
transaction. Permission checks are the caller's (``access_*`` in the API and console views).

After a change that alters what devices must play, the affected devices' manifests are recompiled once the
transaction commits (:func:`recompile_later`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from loa.audit.log import record
from loa.broadcast import approval
from loa.broadcast import compile as comp
from loa.broadcast import guardrails as gr
from loa.broadcast.access import Override
from loa.broadcast.models import Guardrail, ItemKind, Programme, ProgrammeItem, RelaySource, Schedule
from loa.broadcast.recurrence import (
    LOCAL_TZ,
    Recurrence,
    RecurrenceError,
    check_recurrence,
    describe,
    session_seconds,
    session_starts,
)
from loa.errors import Refusal
from loa.playable.resolve import PlayableError, PlaySource, media_url, resolve_now
from loa.units.models import Level, Unit
from loa_protocol.ladder import SCHEDULABLE, PlayClass

CHECK_DAYS = 35  # how far ahead a schedule is checked against the guardrails
MIN_OVERRIDE_REASON = 10
MAX_ITEMS = 50


class BroadcastError(Refusal):
    """A refused broadcast action; ``details`` lists every broken guardrail."""

    def __init__(
        self, code: str, message: str, status: int = 400, details: list[dict[str, Any]] | None = None
    ):
        super().__init__(code, message, status, details=details)


# ---- relay sources ---------------------------------------------------------------------------------------


def check_relay_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 1000:
        raise BroadcastError(
            "relay_url_invalid", "Địa chỉ luồng tiếp sóng phải là một URL http:// hoặc https://."
        )
    return url


def do_create_relay_source(
    province: Unit, name: str, url: str, *, actor: Any, request: Any = None
) -> RelaySource:
    if province.level != Level.PROVINCE:
        raise BroadcastError("relay_unit_invalid", "Danh sách nguồn tiếp sóng được đặt ở cấp tỉnh.")
    name = " ".join((name or "").split())[:200]
    if not name:
        raise BroadcastError("relay_name_required", "Cần tên nguồn tiếp sóng (ví dụ: VOV1, Đài tỉnh).")
    url = check_relay_url(url)
    if RelaySource.objects.filter(province=province, url=url).exists():
        raise BroadcastError("relay_exists", "Nguồn tiếp sóng này đã có trong danh sách.")
    with transaction.atomic():
        source = RelaySource.objects.create(province=province, name=name, url=url)
        record(
            "broadcast.relay_source_added",
            actor=actor,
            request=request,
            unit=province,
            obj=source,
            message=f"Thêm nguồn tiếp sóng {name} cho {province.name}",
            data={"url": url},
        )
    return source


# ---- programmes ------------------------------------------------------------------------------------------


@dataclass
class ItemSpec:
    kind: str
    title: str = ""
    text: str = ""
    bulletin_id: int | None = None
    relay_source_id: int | None = None
    media_asset_id: int | None = None
    duration_s: float | None = None  # relays: how long (default 30 minutes)


def _resolve_item(
    unit: Unit, spec: ItemSpec, *, actor: Any, request: Any, token: Any = None
) -> dict[str, Any]:
    """What a programme item plays, through the one resolver (:mod:`loa.playable.resolve`): the actor's rights on
    the asset or bulletin, ``tts.use`` for speech, the province's allow-list for relays."""
    if spec.kind == ItemKind.TTS:
        source = PlaySource(text=spec.text)
    elif spec.kind == ItemKind.AUDIO:
        source = PlaySource(media_asset_id=spec.media_asset_id or 0)
    elif spec.kind == ItemKind.BULLETIN:
        source = PlaySource(bulletin_id=spec.bulletin_id or 0)
    elif spec.kind == ItemKind.RELAY:
        relay = (
            RelaySource.objects.filter(pk=spec.relay_source_id or 0, is_active=True)
            .select_related("province")
            .first()
        )
        if relay is None:
            raise BroadcastError(
                "relay_not_allowed", "Nguồn tiếp sóng không có trong danh sách được phép của tỉnh."
            )
        source = PlaySource(relay=relay, relay_duration_s=spec.duration_s)
    else:
        raise BroadcastError(
            "item_kind_invalid", "Loại mục không hợp lệ: âm thanh, bản tin, đọc văn bản hoặc tiếp sóng."
        )
    try:
        playable = resolve_now(actor, source, unit=unit, token=token, request=request)
    except PlayableError as exc:
        raise BroadcastError(exc.code, exc.message, exc.status) from exc
    out: dict[str, Any] = {
        "title": spec.title or playable.title or "Âm thanh",
        "sha256": playable.sha256,
        "duration_s": playable.duration_s,
    }
    if playable.text:
        out["text"] = playable.text
    if playable.bulletin is not None:
        out["bulletin"] = playable.bulletin
    if playable.relay_source is not None:
        # a stream has no content hash: the URL's hash only identifies the item here; manifests carry it as a
        # kind="stream" entry without sha256 (compile.py, docs/protocol.md)
        out["relay_source"] = playable.relay_source
        out["media_url"] = playable.media_url
    return out


def _ancestor_paths(path: str) -> list[str]:
    out, acc = [], ""
    for code in (c for c in path.split("/") if c):
        acc += code + "/"
        out.append(acc)
    return out


def do_create_programme(
    unit: Unit, title: str, items: Sequence[ItemSpec], *, actor: Any, request: Any = None, token: Any = None
) -> Programme:
    title = " ".join((title or "").split())[:300]
    if not title:
        raise BroadcastError("programme_title_required", "Cần tên chương trình.")
    if not items:
        raise BroadcastError("programme_empty", "Chương trình cần ít nhất một mục.")
    if len(items) > MAX_ITEMS:
        raise BroadcastError("programme_too_long", f"Một chương trình có tối đa {MAX_ITEMS} mục.")
    resolved = [_resolve_item(unit, spec, actor=actor, request=request, token=token) for spec in items]
    # approved sources only (docs/adr/0007): typed text or unapproved audio makes the programme wait
    unreviewed = approval.unreviewed_items(
        (s.kind, r["sha256"]) for s, r in zip(items, resolved, strict=True)
    )
    state = Programme.State.PENDING if unreviewed else Programme.State.APPROVED
    with transaction.atomic():
        programme = Programme.objects.create(
            unit=unit,
            title=title,
            state=state,
            decided_at=None if unreviewed else timezone.now(),
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        for pos, (spec, r) in enumerate(zip(items, resolved, strict=True)):
            ProgrammeItem.objects.create(
                programme=programme,
                position=pos,
                kind=spec.kind,
                title=r["title"][:300],
                text=r.get("text", "")[:10000],
                bulletin=r.get("bulletin"),
                relay_source=r.get("relay_source"),
                sha256=r["sha256"],
                media_url=r.get("media_url") or media_url(r["sha256"]),
                duration_s=float(r["duration_s"]),
            )
        record(
            "broadcast.programme_created",
            actor=actor,
            request=request,
            unit=unit,
            obj=programme,
            message=f"Tạo chương trình “{title}” ({len(items)} mục)" + (", chờ duyệt" if unreviewed else ""),
            data={
                "items": [
                    {"kind": s.kind, "title": r["title"]} for s, r in zip(items, resolved, strict=True)
                ],
                "state": state,
                "unreviewed_items": unreviewed,
            },
        )
    return programme


# ---- guardrails ------------------------------------------------------------------------------------------


def guardrail_limits(values: dict[str, Any]) -> gr.Limits:
    """Limits from the fields an operator sends (``None``/missing = inherit)."""
    try:
        windows = gr.parse_windows(values["windows"]) if values.get("windows") is not None else None
    except gr.GuardrailError as exc:
        raise BroadcastError(exc.code, exc.message) from exc
    weekdays = values.get("allowed_weekdays")
    if weekdays is not None and (
        not isinstance(weekdays, list | tuple)
        or any(not isinstance(d, int) or not 0 <= d <= 6 for d in weekdays)
    ):
        raise BroadcastError("weekdays_invalid", "Thứ trong tuần phải từ 0 (Thứ Hai) đến 6 (Chủ nhật).")
    bounds = {
        "max_sessions_per_day": (1, 48, "Số buổi phát mỗi ngày"),
        "max_days_per_week": (0, 7, "Số ngày phát mỗi tuần"),
        "max_minutes_per_session": (1, 24 * 60, "Số phút mỗi buổi"),
        "max_volume": (0, 100, "Âm lượng tối đa"),
    }
    numbers: dict[str, int | None] = {}
    for name, (lo, hi, label) in bounds.items():
        value = values.get(name)
        if value is not None and (not isinstance(value, int) or not lo <= value <= hi):
            raise BroadcastError("guardrail_invalid", f"{label} phải từ {lo} đến {hi}.")
        numbers[name] = value
    return gr.Limits(
        windows=windows,
        allowed_weekdays=frozenset(weekdays) if weekdays is not None else None,
        **numbers,
    )


def do_set_guardrails(unit: Unit, values: dict[str, Any], *, actor: Any, request: Any = None) -> Guardrail:
    """Set the limits of ``unit``; below a province they may only tighten what the levels above allow."""
    limits = guardrail_limits(values)
    if unit.parent_id is not None:
        parent_limits = comp.LimitsIndex([unit.parent.path]).effective(unit.parent.path)  # type: ignore[union-attr]
        reasons = gr.loosening(parent_limits, limits)
        if reasons:
            raise BroadcastError(
                "guardrail_looser_than_parent",
                f"{unit.name} chỉ được đặt giới hạn chặt hơn cấp trên: " + "; ".join(reasons) + ".",
            )
    fields = {
        "windows": [list(p) for p in gr.windows_hhmm(limits.windows)] if limits.windows is not None else None,
        "max_sessions_per_day": limits.max_sessions_per_day,
        "allowed_weekdays": sorted(limits.allowed_weekdays) if limits.allowed_weekdays is not None else None,
        "max_days_per_week": limits.max_days_per_week,
        "max_minutes_per_session": limits.max_minutes_per_session,
        "max_volume": limits.max_volume,
    }
    with transaction.atomic():
        row, _created = Guardrail.objects.select_for_update().get_or_create(unit=unit)
        before = {k: getattr(row, k) for k in fields}
        for k, v in fields.items():
            setattr(row, k, v)
        row.save()
        record(
            "broadcast.guardrails_changed",
            actor=actor,
            request=request,
            unit=unit,
            obj=row,
            message=f"Đổi giới hạn phát của {unit.name}",
            data={"before": before, "after": fields},
        )
        recompile_later(unit_paths=[unit.path])
    return row


# ---- schedules -------------------------------------------------------------------------------------------


@dataclass
class ScheduleSpec:
    """A schedule to check or save. ``programme`` is what it plays; a preview of content that is not a
    programme yet (a bulletin about to be wrapped in one) gives ``programme=None`` and the item ``durations``."""

    title: str
    programme: Programme | None
    kind: str
    times: list[str]
    start_date: dt.date | None = None
    weekdays: list[int] = field(default_factory=list)
    dates: list[dt.date] = field(default_factory=list)
    rrule: str = ""
    exdates: list[dt.date] = field(default_factory=list)
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    repeat_mode: str = "none"
    repeat_count: int = 1
    repeat_every_min: int = 0
    repeat_span_min: int = 0
    volume: int | None = None
    priority: int = PlayClass.NORMAL
    target_units: list[Unit] = field(default_factory=list)
    target_devices: list[Any] = field(default_factory=list)
    durations: list[float] | None = None

    def recurrence(self) -> Recurrence:
        try:
            return check_recurrence(
                self.kind,
                self.times,
                start_date=self.start_date,
                weekdays=self.weekdays,
                dates=self.dates,
                rrule_text=self.rrule,
                exdates=self.exdates,
                valid_from=self.valid_from,
                valid_until=self.valid_until,
                repeat_mode=self.repeat_mode,
                repeat_count=self.repeat_count,
                repeat_every_min=self.repeat_every_min,
                repeat_span_min=self.repeat_span_min,
            )
        except RecurrenceError as exc:
            raise BroadcastError(exc.code, exc.message) from exc


def _durations(programme: Programme) -> list[float]:
    return [float(i.duration_s) for i in programme.items.all()]


def _check_range(rec: Recurrence, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = now
    if rec.valid_from:
        start = max(
            start, dt.datetime.combine(rec.valid_from, dt.time.min, tzinfo=LOCAL_TZ).astimezone(dt.UTC)
        )
    end = start + dt.timedelta(days=CHECK_DAYS)
    days = list(rec.dates) + ([rec.start_date] if rec.kind == "once" and rec.start_date else [])
    if rec.kind in ("once", "dates") and days:
        end = max(end, dt.datetime.combine(max(days), dt.time.max, tzinfo=LOCAL_TZ).astimezone(dt.UTC))
    return start, end


def _sessions(
    rec: Recurrence, durations: list[float], start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    length = session_seconds(rec, durations)
    return [(s, s + dt.timedelta(seconds=length)) for s in session_starts(rec, start, end) if s >= start]


def communes_reached(target_units: Iterable[Unit], target_devices: Iterable[Any]) -> list[Unit]:
    """The communes (and zones, which have their own limits) a schedule reaches: the unit whose guardrails apply."""
    out: dict[str, Unit] = {}
    for unit in target_units:
        if unit.level == Level.PROVINCE:
            for c in Unit.objects.filter(path__startswith=unit.path, level=Level.COMMUNE, is_active=True):
                out[c.path] = c
        else:
            out[unit.path] = unit
    for device in target_devices:
        out[device.unit.path] = device.unit
    return list(out.values())


def _reaching(unit: Unit, exclude_pk: int | None) -> list[Schedule]:
    """Active schedules that play in ``unit``: aimed at it, at a unit above it, below it, or at its devices."""
    above = _ancestor_paths(unit.path)
    qs = Schedule.objects.filter(state=Schedule.State.ACTIVE).filter(
        Q(target_units__path__in=above)
        | Q(target_units__path__startswith=unit.path)
        | Q(target_devices__unit__path__startswith=unit.path)
    )
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return list(qs.distinct().select_related("programme").prefetch_related("programme__items"))


def check_schedule(
    spec: ScheduleSpec, *, owner: Unit, now: dt.datetime | None = None, exclude_pk: int | None = None
) -> list[gr.Violation]:
    """Validate a schedule (raises :class:`BroadcastError` for what cannot be used at all) and return the
    guardrails it breaks in each commune it reaches (empty: it may be saved without an override)."""
    now = now or timezone.now()
    rec = spec.recurrence()
    if not spec.title.strip():
        raise BroadcastError("schedule_title_required", "Cần tên lịch phát.")
    if spec.programme is not None:
        if spec.programme.unit_id != owner.pk and not owner.path.startswith(spec.programme.unit.path):
            raise BroadcastError("programme_not_found", "Không tìm thấy chương trình của đơn vị.")
        approval.check_programme_schedulable(spec.programme)
    elif spec.durations is None:
        raise BroadcastError("programme_required", "Chọn nội dung phát: một bản tin hoặc một chương trình.")
    if not spec.target_units and not spec.target_devices:
        raise BroadcastError("targets_required", "Chọn nơi phát: tỉnh, xã, thôn hoặc từng cụm loa.")
    for unit in spec.target_units:
        if not unit.path.startswith(owner.path):
            raise BroadcastError("target_outside_unit", f"{unit.name} nằm ngoài địa bàn của {owner.name}.")
    for device in spec.target_devices:
        if not device.unit.path.startswith(owner.path):
            raise BroadcastError(
                "target_outside_unit", f"Cụm loa {device.label} nằm ngoài địa bàn của {owner.name}."
            )
    if spec.priority not in SCHEDULABLE:
        raise BroadcastError(
            "priority_invalid",
            "Lịch phát chỉ có mức thường (4) hoặc ưu tiên (3); khẩn cấp dùng phát khẩn cấp.",
        )
    if spec.volume is not None and not 0 <= spec.volume <= 100:
        raise BroadcastError("volume_invalid", "Âm lượng phải từ 0 đến 100.")
    durations = _durations(spec.programme) if spec.programme is not None else list(spec.durations or [])
    if not durations:
        raise BroadcastError("programme_empty", "Chương trình chưa có mục nào.")
    start, end = _check_range(rec, now)
    sessions = _sessions(rec, durations, start, end)
    if not sessions:
        raise BroadcastError("schedule_never_plays", "Lịch phát này không có buổi phát nào từ nay về sau.")
    communes = communes_reached(spec.target_units, spec.target_devices)
    limits = comp.LimitsIndex([c.path for c in communes])
    violations: list[gr.Violation] = []
    for commune in communes:
        existing: list[tuple[dt.datetime, dt.datetime]] = []
        for other in _reaching(commune, exclude_pk):
            other_durations = [float(i.duration_s) for i in other.programme.items.all()]
            if not other_durations:  # a board playlist's programme (loa.signage): nothing on loudspeakers
                continue
            existing += _sessions(comp.recurrence_of(other), other_durations, start, end)
        violations += gr.check_sessions(
            limits.effective(commune.path), commune.name, sessions, existing=existing, volume=spec.volume,
            unit_code=commune.code,
        )  # fmt: skip
    return violations


def do_create_schedule(
    spec: ScheduleSpec,
    *,
    owner: Unit,
    actor: Any,
    request: Any = None,
    override: Override | None = None,
    now: dt.datetime | None = None,
    check: Callable[..., list[gr.Violation]] | None = None,
) -> Schedule:
    """Save a schedule. One that breaks a guardrail is refused with the reasons, unless it comes with an
    approver's :class:`~loa.broadcast.access.Override` (authorised by the caller with
    :func:`~loa.broadcast.access.access_override`) whose reason is long enough.

    ``check`` replaces :func:`check_schedule` for schedules that do not play on loudspeakers (a board playlist,
    :func:`loa.signage.scheduling.check_board_schedule`: the board's screen-on windows instead of quiet hours);
    it is called as ``check(spec, owner=…, now=…)`` and everything else — row, audit, override — is this one."""
    if spec.programme is None:
        raise BroadcastError("programme_required", "Chọn nội dung phát: một bản tin hoặc một chương trình.")
    violations = (check or check_schedule)(spec, owner=owner, now=now)
    reason = override.reason if override is not None else ""
    if violations:
        details = [v.as_dict() for v in violations]
        if not reason:
            raise BroadcastError("guardrail_violation", violations[0].message, 409, details)
        if len(reason) < MIN_OVERRIDE_REASON:
            raise BroadcastError(
                "override_reason_required",
                f"Cần ghi rõ lý do cho phép vượt giới hạn (ít nhất {MIN_OVERRIDE_REASON} ký tự).",
                400,
                details,
            )
    rec = spec.recurrence()
    with transaction.atomic():
        schedule = Schedule.objects.create(
            unit=owner,
            programme=spec.programme,
            title=" ".join(spec.title.split())[:300],
            priority=spec.priority,
            kind=spec.kind,
            times=[f"{t.hour:02d}:{t.minute:02d}" for t in rec.times],
            start_date=spec.start_date,
            weekdays=list(rec.weekdays),
            dates=[d.isoformat() for d in rec.dates],
            rrule=rec.rrule,
            exdates=[d.isoformat() for d in rec.exdates],
            valid_from=spec.valid_from,
            valid_until=spec.valid_until,
            repeat_mode=rec.repeat_mode,
            repeat_count=rec.repeat_count,
            repeat_every_min=rec.repeat_every_min,
            repeat_span_min=rec.repeat_span_min,
            volume=spec.volume,
            override_reason=reason if violations else "",
            overridden_by=actor if violations and getattr(actor, "pk", None) else None,
            violations=[v.as_dict() for v in violations],
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        schedule.target_units.set(spec.target_units)
        schedule.target_devices.set(spec.target_devices)
        targets = [u.code for u in spec.target_units] + [d.device_id for d in spec.target_devices]
        record(
            "broadcast.schedule_created",
            actor=actor,
            request=request,
            unit=owner,
            obj=schedule,
            message=f"Đặt lịch phát “{schedule.title}”: {describe(rec)}",
            data={"programme": spec.programme.pk, "targets": targets, "rule": describe(rec)},
        )
        if violations:
            record(
                "broadcast.schedule_override",
                actor=actor,
                request=request,
                unit=owner,
                obj=schedule,
                message=f"Cho phép lịch “{schedule.title}” vượt giới hạn: {reason}",
                data={"reason": reason, "violations": [v.as_dict() for v in violations]},
            )
        recompile_later(unit_paths=_target_paths(spec.target_units, spec.target_devices))
    return schedule


def do_schedule_bulletin(
    spec: ScheduleSpec,
    bulletin_id: int,
    *,
    owner: Unit,
    actor: Any,
    request: Any = None,
    override: Override | None = None,
) -> Schedule:
    """Schedule a published bulletin: a one-item programme named after it (approved at once, docs/adr/0007) and
    the schedule, both or neither."""
    with transaction.atomic():
        item = ItemSpec(kind=ItemKind.BULLETIN, bulletin_id=bulletin_id)
        programme = do_create_programme(owner, spec.title, [item], actor=actor, request=request)
        spec.programme = programme
        return do_create_schedule(spec, owner=owner, actor=actor, request=request, override=override)


def _target_paths(units: Iterable[Unit], devices: Iterable[Any]) -> list[str]:
    return sorted({u.path for u in units} | {d.unit.path for d in devices})


def do_cancel_schedule(schedule: Schedule, *, actor: Any, request: Any = None) -> Schedule:
    if schedule.state == Schedule.State.CANCELLED:
        raise BroadcastError("schedule_cancelled", "Lịch phát này đã hủy.")
    with transaction.atomic():
        schedule.state = Schedule.State.CANCELLED
        schedule.save(update_fields=["state", "updated_at"])
        record(
            "broadcast.schedule_cancelled",
            actor=actor,
            request=request,
            unit=schedule.unit,
            obj=schedule,
            message=f"Hủy lịch phát “{schedule.title}”",
        )
        recompile_later(
            unit_paths=_target_paths(
                schedule.target_units.all(), schedule.target_devices.select_related("unit")
            )
        )
    return schedule


# ---- recompilation ---------------------------------------------------------------------------------------


def recompile_later(*, unit_paths: Iterable[str]) -> None:
    """Recompile the manifests of the devices under ``unit_paths`` after the current transaction commits."""
    paths = sorted(set(unit_paths))
    if paths:
        transaction.on_commit(lambda: comp.compile_manifests(unit_paths=paths))
