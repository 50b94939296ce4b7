"""Schedules compile into signed per-device manifests: the right entries per device, the unit's windows, the
version moving only when content changes, and a plan kept for proof of play."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from loa.broadcast.compile import compile_manifests, manifest_payload
from loa.broadcast.models import (
    DeviceManifest,
    Guardrail,
    ManifestContent,
    ManifestRevision,
    Programme,
    Schedule,
)
from loa.broadcast.recurrence import local_to_utc
from loa.fleet import keys
from loa.fleet.models import Device
from loa.units.models import Unit
from loa_protocol.messages import Manifest, decode
from loa_protocol.signing import verify_manifest

NOW = local_to_utc(dt.date(2026, 12, 1), dt.time(4, 10))  # 04:10 local, Tuesday


def schedule(
    programme: Programme, *, targets: list[Unit] = (), devices: list[Device] = (), **kw: Any
) -> Schedule:  # type: ignore[assignment]
    fields: dict[str, Any] = {"kind": "daily", "times": ["06:00"], "title": "Lịch thử"}
    fields.update(kw)
    s = Schedule.objects.create(unit=programme.unit, programme=programme, **fields)
    s.target_units.set(targets)
    s.target_devices.set(devices)
    return s


def manifest_of(device: Device) -> Manifest:
    payload = manifest_payload(device.device_id)
    assert payload is not None
    manifest = decode(Manifest, payload)
    verify_manifest(manifest, keys.public_key(), device.device_id)
    return manifest


@pytest.fixture
def world(
    tree: dict[str, Unit],
    make_devices: Callable[[Unit, int], list[Device]],
    make_programme: Callable[..., Programme],
) -> dict[str, Any]:
    Guardrail.objects.create(unit=tree["a"], windows=[["05:00", "21:00"]], max_volume=60)
    a_devices = make_devices(tree["a"], 2)
    zone_device = make_devices(tree["zone_a"], 1)[0]
    b_device = make_devices(tree["b"], 1)[0]
    morning = make_programme(tree["a"], "Bản tin sáng", (600.0, 300.0))
    daily = schedule(morning, targets=[tree["a"]], volume=80)
    weekly = schedule(
        make_programme(tree["b"], "Tiếng nói Cao Xanh", (900.0,)),
        devices=[b_device],
        kind="weekly",
        weekdays=[1],
        times=["17:00"],
    )
    province = schedule(
        make_programme(tree["province"], "Thời sự tỉnh", (1200.0,)),
        targets=[tree["province"]],
        times=["19:00"],
    )
    return {
        "a": a_devices,
        "zone": zone_device,
        "b": b_device,
        "daily": daily,
        "weekly": weekly,
        "province": province,
    }


def test_each_device_gets_what_reaches_it_signed(world: dict[str, Any], tree: dict[str, Unit]) -> None:
    result = compile_manifests(NOW)
    assert (result.devices, result.changed) == (4, 4)
    m = manifest_of(world["a"][0])
    local = [
        (e.start.astimezone(dt.timezone(dt.timedelta(hours=7))).strftime("%d %H:%M"), e.item_id)
        for e in m.entries
    ]
    morning_items = [f"pi-{i.pk}" for i in world["daily"].programme.items.all()]
    province_item = f"pi-{world['province'].programme.items.get().pk}"
    # the horizon starts at 04:00 on the 1st and lasts 48 hours: two mornings (two items each), two evenings
    assert local == [
        ("01 06:00", morning_items[0]),
        ("01 06:10", morning_items[1]),
        ("01 19:00", province_item),
        ("02 06:00", morning_items[0]),
        ("02 06:10", morning_items[1]),
        ("02 19:00", province_item),
    ]
    assert [(w.start, w.end) for w in m.windows] == [("05:00", "21:00")]
    assert {e.volume for e in m.entries if e.schedule_id == str(world["daily"].pk)} == {60}  # capped from 80
    assert m.valid_from == local_to_utc(dt.date(2026, 12, 1), dt.time(4))
    assert m.valid_until - m.valid_from == dt.timedelta(hours=48)
    # a zone inherits its commune's schedules and windows
    assert manifest_of(world["zone"]).entries == m.entries
    # commune B: the province programme plus its own weekly programme (Tuesday 17:00), default windows
    b = manifest_of(world["b"])
    assert [
        e.start.astimezone(dt.timezone(dt.timedelta(hours=7))).strftime("%a %H:%M") for e in b.entries
    ] == [
        "Tue 17:00",
        "Tue 19:00",
        "Wed 19:00",
    ]
    assert [(w.start, w.end) for w in b.windows] == [("05:00", "22:00")]


def test_version_moves_only_when_content_changes(world: dict[str, Any]) -> None:
    compile_manifests(NOW)
    versions = dict(DeviceManifest.objects.values_list("device_id", "version"))
    again = compile_manifests(NOW + dt.timedelta(minutes=40))
    assert (again.changed, again.unchanged) == (0, 4)
    assert dict(DeviceManifest.objects.values_list("device_id", "version")) == versions
    world["weekly"].state = Schedule.State.CANCELLED
    world["weekly"].save()
    after = compile_manifests(NOW + dt.timedelta(minutes=41))
    assert after.changed_ids == [world["b"].device_id]
    assert manifest_of(world["b"]).version == versions[world["b"].device_id] + 1
    assert all(e.schedule_id != str(world["weekly"].pk) for e in manifest_of(world["b"]).entries)


def test_each_revision_is_kept_and_each_content_stored_once(world: dict[str, Any]) -> None:
    compile_manifests(NOW)
    # devices of commune A (and its zone) share one content; B has its own
    assert ManifestContent.objects.count() == 2
    assert ManifestRevision.objects.count() == 4
    world["weekly"].state = Schedule.State.CANCELLED
    world["weekly"].save()
    compile_manifests(NOW + dt.timedelta(minutes=5))
    b = world["b"].device_id
    assert list(
        ManifestRevision.objects.filter(device_id=b).order_by("version").values_list("version", flat=True)
    ) == [
        1,
        2,
    ]
    latest = ManifestRevision.objects.filter(device_id=b).latest("version").content
    assert [e["schedule_id"] for e in latest.entries] == [str(world["province"].pk)] * 2


def test_a_manifest_is_resigned_before_it_runs_out(world: dict[str, Any]) -> None:
    compile_manifests(NOW)
    v1 = manifest_of(world["b"]).version
    later = compile_manifests(NOW + dt.timedelta(hours=25))
    assert later.changed == 4
    assert manifest_of(world["b"]).version == v1 + 1


def test_revoked_devices_get_nothing(world: dict[str, Any]) -> None:
    Device.objects.filter(pk=world["a"][0].pk).update(revoked_at=NOW)
    assert compile_manifests(NOW).devices == 3
    assert manifest_payload(world["a"][0].device_id) is None


def test_boards_get_no_loudspeaker_manifest(world: dict[str, Any]) -> None:
    # a board in the commune has its own manifest (signage); in this one it was counted as a cluster that
    # never played every commune broadcast (the demo's proof of play: "không có nhật ký phát (2)")
    from loa.fleet.models import DeviceKind

    Device.objects.filter(pk=world["a"][0].pk).update(kind=DeviceKind.EBOARD)
    assert compile_manifests(NOW).devices == 3
    assert manifest_payload(world["a"][0].device_id) is None
    assert manifest_payload(world["a"][1].device_id) is not None
