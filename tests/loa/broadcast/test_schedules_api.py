"""Schedules through the API: the 03:15 refusal in Vietnamese, the approver's audited override, guardrails that
only tighten, the manifest over HTTPS with device credentials, and a device that refuses an entry outside its
window by itself."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.broadcast.compile import compile_manifests, manifest_payload
from loa.broadcast.models import Guardrail, Programme, Schedule
from loa.broadcast.recurrence import local_to_utc
from loa.fleet import keys
from loa.fleet.models import Device
from loa.fleet.services import do_provision_device
from loa.units.models import Unit
from loa_agent.core import AgentCore
from loa_agent.player import NullPlayer
from loa_agent.playlog import MemoryPlayLogStore
from loa_protocol.messages import Manifest, decode

API = "/api/v1/broadcast"
TOMORROW = dt.date.today() + dt.timedelta(days=1)


def body(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"title": "Tiếp sóng VOV", "kind": "daily", "times": ["03:15"]}
    data.update(over)
    return data


@pytest.fixture
def setup(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    make_programme: Callable[..., Programme],
) -> dict[str, Any]:
    Guardrail.objects.create(unit=tree["a"], windows=[["05:00", "21:00"]])
    operator = make_user("can-bo-ha-tu", Role.COMMUNE_OPERATOR, tree["a"])
    approver = make_user("chu-tich-ha-tu", Role.APPROVER, tree["a"])
    programme = make_programme(tree["a"], "Tiếp sóng VOV", (1800.0,))
    device, password = do_provision_device(tree["a"], actor=None, serial="HT-1")
    return {
        "operator": client_for(operator),
        "approver": client_for(approver),
        "programme": programme,
        "device": device,
        "password": password,
        "base": {"unit": tree["a"].code, "programme_id": programme.pk, "target_units": [tree["a"].code]},
    }


def post(client: Client, path: str, data: dict[str, Any]) -> Any:
    return client.post(API + path, json.dumps(data), content_type="application/json")


def test_a_0315_relay_is_refused_with_the_reason_in_vietnamese(setup: dict[str, Any]) -> None:
    r = post(setup["operator"], "/schedules", {**setup["base"], **body()})
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "guardrail_violation"
    assert (
        error["message"] == "Lịch phát lúc 03:15 nằm ngoài khung giờ cho phép của Phường Hà Tu (05:00–21:00)."
    )
    assert error["details"][0]["unit"] == "06652"
    assert not Schedule.objects.exists()
    # the dry run says the same without saving
    check = post(setup["operator"], "/schedules/check", {**setup["base"], **body()})
    assert [v["code"] for v in check.json()] == ["outside_window"]


def test_only_an_approver_may_override_and_must_say_why(setup: dict[str, Any]) -> None:
    r = post(
        setup["operator"], "/schedules", {**setup["base"], **body(override_reason="Cần phát sớm hôm nay")}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (403, "override_not_allowed")
    r = post(setup["approver"], "/schedules", {**setup["base"], **body(override_reason="vì")})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "override_reason_required")
    assert not Schedule.objects.exists()


def test_the_approvers_override_works_and_is_audited(
    setup: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    reason = "Bão số 3 đổ bộ, cần tiếp sóng bản tin dự báo lúc 03:15 theo chỉ đạo của tỉnh"
    with django_capture_on_commit_callbacks(execute=True):
        r = post(setup["approver"], "/schedules", {**setup["base"], **body(override_reason=reason, kind="once",
                                                                            start_date=TOMORROW.isoformat())})  # fmt: skip
    assert r.status_code == 201, r.content
    out = r.json()
    assert out["override_reason"] == reason
    assert [v["code"] for v in out["violations"]] == ["outside_window"]
    entry = AuditEntry.objects.get(action="broadcast.schedule_override")
    assert entry.data["reason"] == reason
    assert entry.actor.username == "chu-tich-ha-tu"
    assert "03:15" in entry.data["violations"][0]["message"]
    # the manifest carries the entry and opens the window for exactly its span, so the device plays it
    manifest = decode(Manifest, manifest_payload(setup["device"].device_id) or b"")
    assert [(w.start, w.end) for w in manifest.windows] == [("03:15", "03:45"), ("05:00", "21:00")]
    assert manifest.entries[0].start == local_to_utc(TOMORROW, dt.time(3, 15))


def test_a_schedule_inside_the_window_needs_no_override(
    setup: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        r = post(setup["operator"], "/schedules", {**setup["base"], **body(times=["06:00"])})
    assert r.status_code == 201, r.content
    assert r.json()["rule"] == "Hằng ngày lúc 06:00"
    assert AuditEntry.objects.filter(action="broadcast.schedule_created").count() == 1
    manifest = decode(Manifest, manifest_payload(setup["device"].device_id) or b"")
    assert manifest.entries and manifest.entries[0].schedule_id == str(r.json()["id"])
    # cancelling removes it from the next manifest
    with django_capture_on_commit_callbacks(execute=True):
        c = setup["operator"].post(f"{API}/schedules/{r.json()['id']}/cancel")
    assert c.json()["state"] == "cancelled"
    after = decode(Manifest, manifest_payload(setup["device"].device_id) or b"")
    assert after.version == manifest.version + 1 and after.entries == []


BAD_INPUT = [
    ({"times": ["25:00"]}, 400, "time_invalid"),
    ({"kind": "weekly"}, 400, "weekdays_required"),
    ({"kind": "rrule", "rrule": "FREQ=SECONDLY", "start_date": "2026-12-01"}, 400, "rrule_freq_invalid"),
    ({"kind": "yearly-ish"}, 422, "validation_error"),
    ({"target_units": []}, 400, "targets_required"),
    ({"target_units": ["06658"]}, 404, "unit_not_found"),
    ({"target_devices": ["loa-000000000000"], "target_units": []}, 404, "device_not_found"),
    ({"programme_id": 999999}, 404, "programme_not_found"),
    ({"volume": 150}, 422, "validation_error"),
    ({"kind": "once", "start_date": "2020-01-01", "times": ["06:00"]}, 400, "schedule_never_plays"),
]


@pytest.mark.parametrize(
    ("over", "status", "code"), BAD_INPUT, ids=[b[2] + str(i) for i, b in enumerate(BAD_INPUT)]
)
def test_bad_input_gets_a_code_and_a_vietnamese_message(
    setup: dict[str, Any], over: dict[str, Any], status: int, code: str
) -> None:
    r = post(setup["operator"], "/schedules", {**setup["base"], **body(times=["06:00"]), **over})
    assert r.status_code == status, r.content
    error = r.json()["error"]
    assert error["code"] == code
    assert any(ch in error["message"] for ch in "ảạấầẩẫậắằẳẵặẻẽẹếềểễệỉịỏọốồổỗộớờởỡợủụứừửữựỷỹỵđ")


def test_guardrails_only_tighten_below_the_province(
    setup: dict[str, Any],
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    admin = client_for(make_user("so-vhttdl", Role.PROVINCE_ADMIN, tree["province"]))
    r = admin.put(f"{API}/guardrails/22", json.dumps({"windows": [["05:00", "21:30"]], "max_minutes_per_session": 45}),
                  content_type="application/json")  # fmt: skip
    assert r.status_code == 200, r.content
    loose = setup["approver"].put(
        f"{API}/guardrails/06652", json.dumps({"windows": [["04:30", "21:00"]], "max_minutes_per_session": 60}),
        content_type="application/json",
    )  # fmt: skip
    assert loose.status_code == 400
    assert loose.json()["error"]["message"] == (
        "Phường Hà Tu chỉ được đặt giới hạn chặt hơn cấp trên: khung giờ phải nằm trong khung của cấp trên "
        "(05:00–21:30); số phút mỗi buổi không được vượt 45 của cấp trên."
    )
    tight = setup["approver"].put(
        f"{API}/guardrails/06652", json.dumps({"windows": [["06:00", "20:00"]], "max_sessions_per_day": 2}),
        content_type="application/json",
    )  # fmt: skip
    assert tight.status_code == 200
    eff = tight.json()["effective"]
    assert (eff["windows_text"], eff["max_minutes_per_session"], eff["max_sessions_per_day"]) == (
        "06:00–20:00",
        45,
        2,
    )
    assert AuditEntry.objects.filter(action="broadcast.guardrails_changed").count() == 2
    # an operator may not change them
    op = setup["operator"].put(f"{API}/guardrails/06652", json.dumps({}), content_type="application/json")
    assert op.status_code == 403


def test_the_manifest_is_fetchable_over_https_with_the_device_credentials(setup: dict[str, Any]) -> None:
    device = setup["device"]
    url = f"{API}/manifests/{device.device_id}"
    compile_manifests()

    def auth(user: str, password: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

    ok = Client().get(url, HTTP_AUTHORIZATION=auth(device.device_id, setup["password"]))
    assert ok.status_code == 200
    assert ok.content == manifest_payload(device.device_id)
    for header in (auth(device.device_id, "sai-mat-khau"), auth("loa-000000000000", setup["password"]), ""):
        bad = Client().get(url, HTTP_AUTHORIZATION=header)
        assert bad.status_code == 401
        assert bad.json()["error"]["code"] == "not_authenticated"


def test_a_device_refuses_an_entry_outside_its_window_by_itself(
    setup: dict[str, Any], tree: dict[str, Unit], tmp_path: Path
) -> None:
    """A schedule that reached the database without the guardrail check (a bug, an import, a direct edit) still
    cannot play at 03:15: the device's manifest carries the window and the agent refuses the entry itself."""
    s = Schedule.objects.create(
        unit=tree["a"], programme=setup["programme"], title="Cài sai giờ", kind="daily", times=["03:15"]
    )
    s.target_units.set([tree["a"]])
    at_0300 = local_to_utc(TOMORROW, dt.time(3, 0))
    compile_manifests(at_0300)
    device: Device = setup["device"]
    core = AgentCore(device.device_id, keys.public_key(), NullPlayer(), MemoryPlayLogStore(),
                     media_lookup=lambda sha: tmp_path)  # fmt: skip
    assert core.receive_manifest(manifest_payload(device.device_id) or b"", at_0300) is not None
    core.tick(local_to_utc(TOMORROW, dt.time(3, 15)))
    assert [(e.kind, e.reason) for e in core.history] == [("refused", "outside_window")]
    assert core.current is None
