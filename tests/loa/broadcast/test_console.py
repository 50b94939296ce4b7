"""Console pages: the 24-hour preview per commune and per device with refusals and conflicts, the schedule form
showing guardrail reasons and accepting an approver's override, the emergency form's TOTP refusal, proof of play
with its CSV export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.broadcast.compile import compile_manifests
from loa.broadcast.models import Guardrail, Programme, Schedule
from loa.broadcast.recurrence import LOCAL_TZ
from loa.fleet.models import Device
from loa.units.models import Unit


@pytest.fixture
def page(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    make_devices: Callable[[Unit, int], list[Device]],
    make_programme: Callable[..., Programme],
) -> dict[str, Any]:
    Guardrail.objects.create(unit=tree["a"], windows=[["05:00", "21:00"]])
    devices = make_devices(tree["a"], 3)
    programme = make_programme(tree["a"], "Bản tin chiều", (600.0,))
    soon = (timezone.now() + dt.timedelta(hours=2)).astimezone(LOCAL_TZ)
    s1 = Schedule.objects.create(unit=tree["a"], programme=programme, title="Chiều", kind="daily",
                                 times=[f"{soon:%H}:00"])  # fmt: skip
    s1.target_units.set([tree["a"]])
    s2 = Schedule.objects.create(unit=tree["a"], programme=make_programme(tree["a"], "Riêng", (300.0,)),
                                 title="Trùng giờ", kind="daily", times=[f"{soon:%H}:05"])  # fmt: skip
    s2.target_devices.set([devices[0]])
    compile_manifests()
    operator = make_user("op-ha-tu", Role.COMMUNE_OPERATOR, tree["a"])
    approver = make_user("duyet-ha-tu", Role.APPROVER, tree["a"])
    return {"op": client_for(operator), "approver": client_for(approver), "devices": devices,
            "programme": programme, "hour": soon.hour}  # fmt: skip


def test_the_preview_shows_what_plays_here_and_the_conflicts(page: dict[str, Any]) -> None:
    html = page["op"].get("/broadcast/").content.decode()
    assert "Phát gì, khi nào: 24 giờ tới" in html
    assert "Chiều: Bản tin chiều – mục 1" in html
    assert "05:00–21:00" in html
    assert "trùng giờ với lịch" in html
    one = page["devices"][1].device_id
    html = page["op"].get(f"/broadcast/?device={one}").content.decode()
    assert f"24 giờ tới của cụm loa {one}" in html
    # the other device's own schedule is not in this device's 24 hours (the commune's "today" list above names
    # every play of the commune, so look at the device's section only)
    preview = html.split(f"24 giờ tới của cụm loa {one}")[1].split("Lịch đang áp dụng")[0]
    assert "Chiều" in preview
    assert "Riêng" not in preview
    assert page["op"].get("/broadcast/?device=loa-000000000000").status_code == 404


def test_a_schedule_named_after_what_it_plays_is_named_once_in_the_preview(
    tree: dict[str, Unit], make_programme: Callable[..., Programme], page: dict[str, Any]
) -> None:
    # "Lên lịch phát" on a bulletin names the schedule after the bulletin: "X: X" said nothing more
    programme = make_programme(tree["a"], "Tiêm phòng dại", (60.0,))
    item = programme.items.get().title
    at = (timezone.now() + dt.timedelta(hours=3)).astimezone(LOCAL_TZ)
    s = Schedule.objects.create(unit=tree["a"], programme=programme, title=item, kind="daily",
                                times=[f"{at:%H}:30"])  # fmt: skip
    s.target_units.set([tree["a"]])
    compile_manifests()
    html = page["op"].get("/broadcast/").content.decode()
    assert f"<td>{item}</td>" in html
    assert f"{item}: {item}" not in html
    assert "Chiều: Bản tin chiều – mục 1" in html  # a schedule with its own name keeps both


def test_the_schedule_form_explains_the_refusal_and_takes_an_override(page: dict[str, Any]) -> None:
    form = {"title": "Tiếp sóng sớm", "source": f"programme:{page['programme'].pk}", "when": "daily",
            "times": "03:15", "targets": "06652"}  # fmt: skip
    r = page["op"].post("/broadcast/schedules/new/", form)
    html = r.content.decode()
    assert "Lịch phát lúc 03:15 nằm ngoài khung giờ cho phép của Phường Hà Tu (05:00–21:00)." in html
    assert "Chỉ người duyệt mới được cho phép vượt giới hạn" in html
    r = page["approver"].post(
        "/broadcast/schedules/new/", {**form, "override_reason": "Theo chỉ đạo phòng chống bão"}
    )
    assert r.status_code == 302
    assert Schedule.objects.get(title="Tiếp sóng sớm").override_reason == "Theo chỉ đạo phòng chống bão"


def test_the_emergency_form_refuses_a_wrong_code_and_operators(page: dict[str, Any]) -> None:
    assert page["op"].get("/broadcast/emergency/").status_code == 403
    r = page["approver"].post(
        "/broadcast/emergency/",
        {"unit": "06652", "text": "Thử", "repeat": "3", "totp": "", "step": "confirm", "devices": "3"},
    )
    assert "cần mã xác thực một lần (TOTP)" in r.content.decode()


def test_proof_of_play_page_and_csv(page: dict[str, Any]) -> None:
    html = page["op"].get("/broadcast/proof/").content.decode()
    assert "Nhật ký phát" in html and "data-summary" in html
    today = timezone.now().astimezone(LOCAL_TZ).date().isoformat()
    r = page["op"].get(f"/broadcast/proof/?since={today}&until={today}&format=csv")
    assert r["Content-Type"].startswith("text/csv")
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0] == (
        "giờ dự kiến,kết thúc dự kiến,nội dung,người/nguồn phát,lịch,cụm loa,mã cụm loa,thôn/tổ dân phố,xã/phường,"
        "kết quả,lý do,số giây đã phát"
    )
