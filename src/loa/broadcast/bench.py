"""Benchmarks of broadcasting (figures, not pass/fail): manifest compilation and emergency fan-out.

They run against the configured database (and, for the emergency, a real Mosquitto, the gateway and the device
simulator) and create their own province ``bench`` data: run them with a throw-away ``LOA_DATA_DIR``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import platform
from typing import Any

from django.db import transaction
from django.utils import timezone

BENCH_PROVINCE = "98"  # not a real province code (real ones end at 96)


def _bench_tree(communes: int) -> tuple[Any, list[Any]]:
    from loa.units.models import Kind, Level, Unit

    province, _ = Unit.objects.get_or_create(
        code=BENCH_PROVINCE, defaults={"name": "Tỉnh thử nghiệm", "kind": Kind.TINH, "level": Level.PROVINCE}
    )
    out = []
    for i in range(communes):
        unit, _ = Unit.objects.get_or_create(
            code=f"{BENCH_PROVINCE}{i:03d}",
            defaults={
                "name": f"Xã thử nghiệm {i + 1}",
                "kind": Kind.XA,
                "level": Level.COMMUNE,
                "parent": province,
            },
        )
        out.append(unit)
    return province, out


def _programme(unit: Any, title: str, durations: list[float]) -> Any:
    from loa.broadcast.models import ItemKind, Programme, ProgrammeItem

    programme = Programme.objects.create(unit=unit, title=title)
    ProgrammeItem.objects.bulk_create(
        [
            ProgrammeItem(
                programme=programme,
                position=i,
                kind=ItemKind.AUDIO,
                title=f"{title} {i + 1}",
                sha256=(sha := hashlib.sha256(f"{unit.code}{title}{i}".encode()).hexdigest()),
                media_url=f"https://loa.example.vn/files/audio/{sha[:2]}/{sha[2:4]}/{sha}.mp3",
                duration_s=d,
            )
            for i, d in enumerate(durations)
        ]
    )
    return programme


def setup_compile(devices: int, per_commune: int = 100) -> dict[str, Any]:
    """A province with ``devices`` clusters, ``per_commune`` per commune; every commune has a daily programme
    (3 items, twice a day), a weekly one and a 15-minute relay every 30 minutes for two hours; the province
    adds its evening news, and every tenth device has a schedule of its own."""
    from loa.broadcast.models import Guardrail, Programme, Schedule
    from loa.fleet.models import Device
    from loa_protocol.topics import new_device_id

    communes = max(1, (devices + per_commune - 1) // per_commune)
    with transaction.atomic():
        province, units = _bench_tree(communes)
        Device.objects.filter(unit__path__startswith=province.path).delete()
        Schedule.objects.filter(unit__path__startswith=province.path).delete()
        Programme.objects.filter(unit__path__startswith=province.path).delete()
        Guardrail.objects.update_or_create(unit=province, defaults={"windows": [["05:00", "22:00"]]})
        rows = [
            Device(device_id=new_device_id(), unit=units[i // per_commune], serial=f"BENCH-{i:06d}")
            for i in range(devices)
        ]
        Device.objects.bulk_create(rows, batch_size=1000)
        news = _programme(province, "Thời sự tỉnh", [1200.0])
        s = Schedule.objects.create(
            unit=province, programme=news, title="Thời sự", kind="daily", times=["19:00"]
        )
        s.target_units.set([province])
        for unit in units:
            Guardrail.objects.update_or_create(unit=unit, defaults={"windows": [["05:30", "21:00"]]})
            daily = _programme(unit, "Chương trình xã", [300.0, 420.0, 180.0])
            s = Schedule.objects.create(
                unit=unit, programme=daily, title="Hằng ngày", kind="daily", times=["06:00", "17:00"]
            )
            s.target_units.set([unit])
            weekly = _programme(unit, "Chuyên mục tuần", [900.0])
            s = Schedule.objects.create(
                unit=unit,
                programme=weekly,
                title="Hằng tuần",
                kind="weekly",
                weekdays=[1, 4],
                times=["18:00"],
            )
            s.target_units.set([unit])
            relay = _programme(unit, "Tiếp sóng VOV", [900.0])
            s = Schedule.objects.create(
                unit=unit, programme=relay, title="Tiếp sóng", kind="daily", times=["11:00"],
                repeat_mode="every", repeat_every_min=30, repeat_span_min=120,
            )  # fmt: skip
            s.target_units.set([unit])
        for device in rows[::10]:
            own = _programme(device.unit, f"Riêng {device.device_id}", [120.0])
            s = Schedule.objects.create(
                unit=device.unit, programme=own, title="Riêng", kind="daily", times=["07:30"]
            )
            s.target_devices.set([device])
    return {"province": province, "communes": len(units)}


def compile_bench(devices: int = 3000, hours: int = 48) -> dict[str, Any]:
    from loa.broadcast import compile as comp

    setup = setup_compile(devices)
    paths = [setup["province"].path]
    now = timezone.now()
    previous = comp.HORIZON
    comp.HORIZON = dt.timedelta(hours=hours)
    try:
        cold = comp.compile_manifests(now, unit_paths=paths)
        warm = comp.compile_manifests(now + dt.timedelta(seconds=1), unit_paths=paths)
    finally:
        comp.HORIZON = previous
    return {
        "benchmark": "compile",
        "devices": cold.devices,
        "communes": setup["communes"],
        "hours": hours,
        "schedules": cold.schedules,
        "entries": cold.entries,
        "seconds": round(cold.seconds, 3),
        "changed": cold.changed,
        "warm_seconds": round(warm.seconds, 3),
        "warm_changed": warm.changed,
        "budget_s": 2.0,
        "machine": f"{platform.machine()} {platform.processor() or ''} {platform.python_version()}".strip(),
        "at": timezone.now().isoformat(timespec="seconds"),
    }
