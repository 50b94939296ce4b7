"""Board playlists on the broadcast scheduler: the same :class:`~loa.broadcast.models.Schedule` rows (recurrence,
validity, exceptions, targets: the province, communes, zones or single boards), saved by the same
:func:`loa.broadcast.services.do_create_schedule` (audit, approver's override), with the board's own check:
instead of loudspeaker quiet hours, a session must lie inside the screen-on windows of every unit it reaches
(a board is dark outside them, so what is scheduled there would never be seen).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from loa.broadcast import approval
from loa.broadcast import guardrails as gr
from loa.broadcast.access import Override
from loa.broadcast.models import Programme, Schedule
from loa.broadcast.recurrence import LOCAL_TZ, session_starts
from loa.broadcast.services import BroadcastError, ScheduleSpec, _check_range, do_create_schedule
from loa.fleet.models import DeviceKind
from loa.signage.models import BoardSchedule, Playlist
from loa.signage.windows import ScreenWindowsIndex
from loa.units.models import Level, Unit
from loa_protocol import windows as wnd

MAX_MINUTES = 24 * 60


def session_length(playlist: Playlist, minutes: int) -> float:
    one_pass = sum(float(i.duration_s) for i in playlist.items.all())
    return max(one_pass, minutes * 60.0)


def _units_reached(spec: ScheduleSpec) -> list[Unit]:
    out: dict[str, Unit] = {}
    for unit in spec.target_units:
        if unit.level == Level.PROVINCE:
            for c in Unit.objects.filter(path__startswith=unit.path, level=Level.COMMUNE, is_active=True):
                out[c.path] = c
        else:
            out[unit.path] = unit
    for device in spec.target_devices:
        out[device.unit.path] = device.unit
    return list(out.values())


def check_board_schedule(
    spec: ScheduleSpec, *, owner: Unit, now: dt.datetime | None = None, minutes: int = 0, **_: Any
) -> list[gr.Violation]:
    now = now or timezone.now()
    rec = spec.recurrence()
    if not spec.title.strip():
        raise BroadcastError("schedule_title_required", "Cần tên lịch trình chiếu.")
    programme = spec.programme
    playlist = Playlist.objects.filter(programme=programme).first() if programme is not None else None
    if playlist is None:
        raise BroadcastError("playlist_required", "Chọn danh sách trình chiếu.")
    if not owner.path.startswith(playlist.unit.path):
        raise BroadcastError("playlist_not_found", "Không tìm thấy danh sách trình chiếu của đơn vị.", 404)
    approval.check_programme_schedulable(programme)  # type: ignore[arg-type]
    if not spec.target_units and not spec.target_devices:
        raise BroadcastError("targets_required", "Chọn nơi trình chiếu: tỉnh, xã, thôn hoặc từng bảng tin.")
    for unit in spec.target_units:
        if not unit.path.startswith(owner.path):
            raise BroadcastError("target_outside_unit", f"{unit.name} nằm ngoài địa bàn của {owner.name}.")
    for device in spec.target_devices:
        if device.kind != DeviceKind.EBOARD:
            raise BroadcastError("target_not_board", f"{device.label} không phải là bảng tin điện tử.")
        if not device.unit.path.startswith(owner.path):
            raise BroadcastError(
                "target_outside_unit", f"Bảng tin {device.label} nằm ngoài địa bàn của {owner.name}."
            )
    if spec.priority not in (3, 4):
        raise BroadcastError(
            "priority_invalid",
            "Lịch trình chiếu chỉ có mức thường (4) hoặc ưu tiên (3); khẩn cấp dùng phát khẩn cấp.",
        )
    if not 0 <= minutes <= MAX_MINUTES:
        raise BroadcastError("minutes_invalid", "Mỗi buổi trình chiếu dài tối đa 24 giờ.")
    length = session_length(playlist, minutes)
    start, end = _check_range(rec, now)
    sessions = [s for s in session_starts(rec, start, end, length) if s >= start]
    if not sessions:
        raise BroadcastError("schedule_never_plays", "Lịch trình chiếu này không có buổi nào từ nay về sau.")
    units = _units_reached(spec)
    index = ScreenWindowsIndex([u.path for u in units])
    violations: list[gr.Violation] = []
    for unit in units:
        windows = index.effective(unit.path)
        for s in sessions:
            local = s.astimezone(LOCAL_TZ)
            minute = local.hour * 60 + local.minute
            if not wnd.contains(windows, minute):
                text = index.describe(unit.path)
                violations.append(
                    gr.Violation(
                        "outside_window",
                        f"Lịch trình chiếu lúc {local:%H:%M} ngày {local:%d/%m/%Y} nằm ngoài giờ bật màn hình "
                        f"bảng tin của {unit.name} ({text}): màn hình tắt, không ai thấy.",
                        unit.code,
                        s,
                    )
                )
                break
    return violations


def do_schedule_playlist(
    spec: ScheduleSpec,
    playlist: Playlist,
    *,
    minutes: int = 0,
    owner: Unit,
    actor: Any,
    request: Any = None,
    override: Override | None = None,
    now: dt.datetime | None = None,
) -> Schedule:
    """Schedule a playlist on boards: the broadcast schedule row (audited as ``broadcast.schedule_created``) and
    its board side, both or neither; the boards reached are recompiled after commit."""
    from loa.signage.compile import compile_later

    spec.programme = Programme.objects.get(pk=playlist.programme_id)  # its approval as stored now

    def check(s: ScheduleSpec, **kwargs: Any) -> list[gr.Violation]:
        return check_board_schedule(s, minutes=minutes, **kwargs)

    with transaction.atomic():
        schedule = do_create_schedule(
            spec, owner=owner, actor=actor, request=request, override=override, now=now, check=check
        )
        BoardSchedule.objects.create(schedule=schedule, playlist=playlist, minutes=minutes)
        compile_later(
            unit_paths=sorted(
                {u.path for u in spec.target_units} | {d.unit.path for d in spec.target_devices}
            )
        )
    return schedule
