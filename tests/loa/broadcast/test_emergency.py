"""Emergency broadcast end to end on real Mosquitto, the gateway and the agent simulator: one API call with TTS
and a TOTP code reaches every device of the province, the progress the console shows matches the play logs, and a
cancel broadcast ends it everywhere. Also: compiled manifests travel retained to the agents."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.broadcast.compile import compile_manifests
from loa.broadcast.models import DeviceManifest, Emergency, Programme, Schedule
from loa.fleet import broker
from loa.fleet.models import CommandDelivery, PlayLog
from loa.fleet.services import credentials_for, do_provision_device
from loa.gateway.service import Gateway, GatewayOptions
from loa.units.models import Unit
from tests.loa.broadcast.conftest import totp_next, totp_now

pytestmark = pytest.mark.mqtt
API = "/api/v1/broadcast"
# 200 in the province by default; LOA_BROADCAST_TEST_DEVICES=3000 runs the full size (slow).
TOTAL = max(5, int(os.environ.get("LOA_BROADCAST_TEST_DEVICES", "200")))
DEVICES = {"a": TOTAL * 2 // 5, "zone_a": TOTAL // 5, "b": TOTAL - TOTAL * 2 // 5 - TOTAL // 5}


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


@pytest.fixture
def fleet(
    tree: dict[str, Unit], transactional_db: None, mosquitto: broker.EmbeddedBroker
) -> Iterator[dict[str, Any]]:
    from loa_agent.runtime import RuntimeOptions
    from loa_agent.simulator import Simulator

    creds = []
    for key, n in DEVICES.items():
        for i in range(n):
            device, password = do_provision_device(tree[key], actor=None, serial=f"EM-{key}-{i}")
            creds.append(credentials_for(device, password))
    # another province's device must hear nothing
    outsider, password = do_provision_device(tree["other_commune"], actor=None, serial="EM-HUE")
    creds.append(credentials_for(outsider, password))
    broker.write_broker_files()
    gateway = Gateway(GatewayOptions(url=mosquitto.url, flush_interval=0.2, outbox_interval=0.05))
    thread = threading.Thread(target=gateway.run, daemon=True)
    thread.start()
    sim = Simulator(creds, options=RuntimeOptions(heartbeat_s=30)).start(wait_connected=60)
    try:
        yield {"sim": sim, "gateway": gateway, "outsider": outsider.device_id, "creds": creds}
    finally:
        sim.stop()
        gateway.stop()
        thread.join(15)


def test_an_emergency_reaches_the_whole_province_and_progress_matches_the_play_logs(
    fleet: dict[str, Any],
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    leader = make_user("lanh-dao-tinh", Role.APPROVER, tree["province"])
    client = client_for(leader)
    data = {"unit": "22", "text": "Cảnh báo lũ quét.", "repeat": 2}
    refused = client.post(
        f"{API}/emergencies", json.dumps({**data, "totp": "000000"}), content_type="application/json"
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "totp_invalid"
    assert not Emergency.objects.exists()

    TOTPDevice.objects.get(user=leader).throttle_reset()  # retyped after django_otp's 1 s failure throttle
    r = client.post(
        f"{API}/emergencies", json.dumps({**data, "totp": totp_now(leader)}), content_type="application/json"
    )
    assert r.status_code == 201, r.content
    e = Emergency.objects.get()
    assert 0.5 < e.duration_s < 10
    total = sum(DEVICES.values())

    def progress() -> dict[str, Any]:
        return client.get(f"{API}/emergencies/{e.pk}").json()

    assert wait_until(lambda: progress()["finished"] == total, 60), progress()
    p = progress()
    logs = PlayLog.objects.filter(item_id=e.item_id)
    assert p["devices"] == total
    assert p["playing"] == logs.filter(kind="start").values("device_id").distinct().count() == total
    assert logs.filter(kind="start").count() == total * 2  # repeated twice, everywhere
    assert logs.filter(kind="end").count() == total * 2
    assert p["failed"] == 0
    assert wait_until(lambda: progress()["reached"] == total, 20), progress()
    assert wait_until(
        lambda: (
            set(CommandDelivery.objects.filter(command_id=e.command_id).values_list("state", flat=True))
            == {"done"}
        ),
        30,
    )
    # at the emergency volume, overriding caps
    assert all(ev.priority == 1 for ev in fleet["sim"].events(kind="start"))
    assert not fleet["sim"].events(fleet["outsider"])
    assert AuditEntry.objects.filter(action="broadcast.emergency_started").count() == 1


def test_a_cancel_broadcast_ends_it_everywhere(
    fleet: dict[str, Any],
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    chairman = make_user("chu-tich-ha-tu", Role.APPROVER, tree["a"])
    client = client_for(chairman)
    text = (
        "Thông báo khẩn: nước sông đang lên nhanh, bà con vùng trũng thấp di chuyển ngay đến nơi an toàn. "
        * 3
    )
    r = client.post(f"{API}/emergencies", json.dumps({"unit": "06652", "text": text, "totp": totp_now(chairman)}),
                    content_type="application/json")  # fmt: skip
    assert r.status_code == 201, r.content
    e = Emergency.objects.get()
    a_count = DEVICES["a"] + DEVICES["zone_a"]
    assert wait_until(lambda: client.get(f"{API}/emergencies/{e.pk}").json()["playing"] == a_count, 30)
    # stopping an emergency needs a TOTP code as starting it does; the start's code cannot be used twice
    refused = client.post(f"{API}/emergencies/{e.pk}/cancel", json.dumps({}), content_type="application/json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "totp_required"
    c = client.post(f"{API}/emergencies/{e.pk}/cancel", json.dumps({"totp": totp_next(chairman)}),
                    content_type="application/json")  # fmt: skip
    assert c.status_code == 200, c.content
    assert c.json()["state"] == "cancelled"

    def cancelled() -> int:
        return PlayLog.objects.filter(item_id=e.item_id, kind="interrupted", reason="cancelled").count()

    assert wait_until(lambda: cancelled() == a_count, 30), cancelled()
    assert not PlayLog.objects.filter(item_id=e.item_id, kind="end").exists()
    assert not PlayLog.objects.filter(item_id=e.item_id, unit=tree["b"]).exists()


def test_manifests_travel_retained_to_the_agents(
    fleet: dict[str, Any], tree: dict[str, Unit], make_programme: Callable[..., Programme]
) -> None:
    s = Schedule.objects.create(
        unit=tree["b"], programme=make_programme(tree["b"]), title="Sáng", kind="daily", times=["06:00"]
    )
    s.target_units.set([tree["b"]])
    compile_manifests()
    b_ids = set(DeviceManifest.objects.filter(device__unit=tree["b"]).values_list("device_id", flat=True))
    assert len(b_ids) == DEVICES["b"]
    devices = fleet["sim"].devices

    def received() -> int:
        return sum(
            1
            for device_id in b_ids
            if devices[device_id].core.manifest is not None
            and any(e.schedule_id == str(s.pk) for e in devices[device_id].core.manifest.entries)
        )

    assert wait_until(lambda: received() == len(b_ids), 30), received()
    assert wait_until(
        lambda: not DeviceManifest.objects.filter(published_version__lt=models_f("version")).exists(), 10
    )


def models_f(name: str) -> Any:
    from django.db.models import F

    return F(name)
