"""Fleet console pages: scoping, enrolment code with QR, device page, commands with delivery state."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from loa.fleet.models import Command, Device, EnrolmentCode
from tests.loa.fleet.devices import provision  # type: ignore[import-not-found]
from tests.loa.fleet.helpers import send_from_console  # type: ignore[import-not-found]


def test_list_map_and_device_page_are_scoped(
    make_user: Any, tree: dict, client_for: Any, mqtt_dir: Path
) -> None:
    mine = provision(tree["a"], 2, write_files=False)
    theirs = provision(tree["b"], 1, write_files=False)
    Device.objects.filter(device_id=mine[0].device_id).update(
        name="Cụm loa chợ Hà Tu",
        latitude=20.96,
        longitude=107.12,
        online=True,
        last_status={"volume": 70, "state": "idle"},
    )
    Device.objects.filter(device_id=theirs[0].device_id).update(latitude=20.9, longitude=107.0)
    client = client_for(make_user("v", "viewer", tree["a"]))
    page = client.get("/fleet/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Cụm loa chợ Hà Tu" in html and theirs[0].device_id not in html
    assert client.get("/fleet/?state=offline").content.decode().count("/fleet/d/") == 1
    data = client.get("/fleet/map.json").json()
    assert [m["id"] for m in data["markers"]] == [mine[0].device_id]
    assert data["communes"][0]["name"] == "Phường Hà Tu"
    map_page = client.get("/fleet/map/")
    assert map_page.status_code == 200 and b"vendor/leaflet/leaflet.js" in map_page.content
    assert client.get(f"/fleet/d/{mine[0].device_id}/").status_code == 200
    assert client.get(f"/fleet/d/{theirs[0].device_id}/").status_code == 404
    assert client.get("/fleet/enrol/").status_code == 403  # a viewer does not enrol


def test_map_allows_configured_tiles_in_csp(
    make_user: Any, tree: dict, client_for: Any, settings: Any
) -> None:
    settings.LOA_MAP_TILE_URL = "https://tiles.example.vn/{z}/{x}/{y}.png"
    client = client_for(make_user("v", "viewer", tree["a"]))
    resp = client.get("/fleet/map/")
    assert "img-src 'self' https://tiles.example.vn" in resp.headers["Content-Security-Policy"]


def test_enrolment_page_shows_code_and_qr_once(make_user: Any, tree: dict, client_for: Any) -> None:
    client = client_for(make_user("t", "technician", tree["a"]))
    resp = client.post("/fleet/enrol/", {"unit": "06652.001", "label": "Cột 3", "ttl_hours": "24"})
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "<svg" in html and 'id="enrol-code"' in html
    obj = EnrolmentCode.objects.get()
    assert obj.unit.code == "06652.001" and obj.label == "Cột 3"
    listing = client.get("/fleet/enrol/").content.decode()
    assert f"…{obj.hint}" in listing and 'id="enrol-code"' not in listing
    assert client.post("/fleet/enrol/", {"unit": "06658"}).status_code == 404


def test_command_from_console_shows_delivery_state(
    make_user: Any, tree: dict, client_for: Any, mqtt_dir: Path
) -> None:
    provision(tree["a"], 3, write_files=False)
    client = client_for(make_user("op", "commune_operator", tree["a"]))
    resp = send_from_console(client, {"unit": "06652", "action": "volume", "volume": "30"})
    command = Command.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/fleet/commands/{command.pk}/"
    page = client.get(resp["Location"]).content.decode()
    assert "Chờ gửi" in page and 'hx-trigger="every 2s"' in page
    partial = client.get(resp["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<section id="deliveries"')
    bad = client.post("/fleet/commands/new/", {"unit": "06652", "action": "volume", "volume": "500"})
    assert bad.status_code == 400 and "Âm lượng phải là số nguyên từ 0 đến 100" in bad.content.decode()
    reboot = send_from_console(client, {"unit": "06652", "action": "reboot"})
    assert reboot.status_code == 400 and "TOTP" in reboot.content.decode()
    assert Command.objects.count() == 1


def test_a_cluster_has_a_name_and_a_zone_from_enrolment_on(
    make_user: Any, tree: dict, client_for: Any, mqtt_dir: Path
) -> None:
    """Issue 19, item 5: the enrolment form takes the cluster's name and thôn; the list and the device page show
    them, the hex id second."""
    import json

    from django.test import Client

    client = client_for(make_user("t", "technician", tree["a"]))
    form = client.get("/fleet/enrol/").content.decode()
    assert 'name="label"' in form and "Tên cụm loa" in form
    assert '<optgroup label="Phường Hà Tu">' in form and ">Tổ dân phố 1</option>" in form
    resp = client.post(
        "/fleet/enrol/", {"unit": "06652.001", "label": "Cụm loa nhà văn hóa tổ 1", "ttl_hours": "24"}
    )
    code = re.search(r'id="enrol-code">([^<]+)<', resp.content.decode())
    assert code is not None
    body = {"code": code.group(1), "serial": "SN-1", "vendor": "Loa", "model": "LX1", "firmware": "1.0"}
    enrolled = Client().post("/api/v1/fleet/enrol", json.dumps(body), content_type="application/json")
    assert enrolled.status_code == 200, enrolled.content
    device = Device.objects.get(device_id=enrolled.json()["device_id"])
    assert device.name == "Cụm loa nhà văn hóa tổ 1" and device.unit.code == "06652.001"

    listing = client.get("/fleet/").content.decode()
    row = re.search(
        rf'<a href="/fleet/d/{device.device_id}/">([^<]+)</a><br><small class="muted">{device.device_id}',
        listing,
    )
    assert row is not None and row.group(1) == "Cụm loa nhà văn hóa tổ 1", "the name first, the hex id second"
    assert "Tổ dân phố 1 · Phường Hà Tu" in listing
    assert device.device_id in client.get("/fleet/?q=Tổ dân phố 1").content.decode(), "found by its thôn"
    page = client.get(f"/fleet/d/{device.device_id}/").content.decode()
    assert "<h1>Cụm loa nhà văn hóa tổ 1 <small" in page and "Tổ dân phố 1 · Phường Hà Tu" in page
    assert f"…{EnrolmentCode.objects.get().hint}" in client.get("/fleet/enrol/").content.decode()


def test_a_command_to_an_area_is_confirmed_on_a_page_naming_what_it_reaches(
    make_user: Any, tree: dict, client_for: Any, mqtt_dir: Path
) -> None:
    """The console's "send a command" to a commune or a province names the communes and devices it reaches and
    sends nothing until confirmed; a changed area asks again; "Sửa lại" keeps what was typed; a wrong TOTP
    is retyped on the confirmation."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tests.loa.broadcast.conftest import totp_now  # type: ignore[import-not-found]

    provision(tree["a"], 3, write_files=False)
    provision(tree["zone_a"], 1, write_files=False)
    provision(tree["b"], 2, write_files=False)
    tech = make_user("qt-tinh", "province_admin", tree["province"])
    TOTPDevice.objects.create(user=tech, name="điện thoại", confirmed=True)
    client = client_for(tech)
    form = {"unit": "22", "action": "volume", "volume": "35"}

    first = client.post("/fleet/commands/new/", form)
    page = first.content.decode()
    assert first.status_code == 200 and 'id="command-confirm"' in page
    assert "Đặt âm lượng tới Quảng Ninh: 2 xã/phường, 6 cụm loa." in " ".join(page.split()), page
    assert 'name="volume" value="35"' in page and not Command.objects.exists()
    assert "lệnh này cần mã xác thực một lần" in page and re.search(r'name="totp"[^>]*required', page)

    edit = client.post("/fleet/commands/new/", {**form, "step": "edit", "devices": "6"})
    assert edit.status_code == 200 and 'id="command-form"' in edit.content.decode()
    assert 'value="35"' in edit.content.decode() and not Command.objects.exists()

    # the area grew between the confirmation and "Gửi": asked again, with the new count
    provision(tree["b"], 1, write_files=False)
    again = client.post(
        "/fleet/commands/new/", {**form, "step": "confirm", "devices": "6", "totp": totp_now(tech)}
    )
    assert again.status_code == 200 and "vừa thay đổi" in again.content.decode()
    assert 'name="devices" value="7"' in again.content.decode() and not Command.objects.exists()

    wrong = client.post("/fleet/commands/new/", {**form, "step": "confirm", "devices": "7", "totp": "000000"})
    assert wrong.status_code == 400 and 'id="command-confirm"' in wrong.content.decode()
    assert not Command.objects.exists()
    # (a wrong code makes django-otp wait before the next try; the test does not sleep through it)
    TOTPDevice.objects.filter(user=tech).update(throttling_failure_count=0, throttling_failure_timestamp=None)

    confirmation = re.search(r'name="confirmation" value="([0-9a-f]+)"', wrong.content.decode())
    assert confirmation is not None
    assert "Âm lượng mới: 35/100" in wrong.content.decode()  # what the command sets, before it is sent
    final = {**form, "step": "confirm", "devices": "7", "confirmation": confirmation.group(1)}
    sent = client.post("/fleet/commands/new/", {**final, "totp": totp_now(tech)})
    assert sent.status_code == 302, re.findall(r"msg-error[^>]*>([^<]*)", sent.content.decode())
    command = Command.objects.get()
    assert (command.action, command.params, command.deliveries.count()) == ("volume", {"volume": 35}, 7)
    # Back, then "Gửi" again on the same confirmation page: one command, and the page of the one already sent
    TOTPDevice.objects.filter(user=tech).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    again = client.post("/fleet/commands/new/", {**final, "totp": totp_now(tech)})
    assert again.status_code == 302 and again["Location"] == f"/fleet/commands/{command.pk}/"
    assert Command.objects.count() == 1


def test_the_confirmation_of_an_area_with_no_devices_cannot_send(
    make_user: Any, tree: dict, client_for: Any, mqtt_dir: Path
) -> None:
    client = client_for(make_user("op-b", "commune_operator", tree["b"]))
    r = client.post("/fleet/commands/new/", {"unit": "06658", "action": "volume", "volume": "30"})
    page = r.content.decode()
    assert r.status_code == 200 and "lệnh sẽ không tới đâu" in page
    assert re.search(r'<button type="submit" name="step" value="confirm"\s+disabled', page), page
    sent = client.post("/fleet/commands/new/", {"unit": "06658", "action": "volume", "volume": "30",
                                                "step": "confirm", "devices": "0"})  # fmt: skip
    assert sent.status_code == 400 and not Command.objects.exists()


def test_the_kill_switch_is_refused_on_the_command_form_before_any_confirmation(
    make_user: Any, tree: dict, client_for: Any, mqtt_dir: Path
) -> None:
    provision(tree["a"], 1, write_files=False)
    client = client_for(make_user("op-k", "commune_operator", tree["a"]))
    r = client.post("/fleet/commands/new/", {"unit": "06652", "action": "kill_switch"})
    assert r.status_code == 400 and "Ngắt khẩn cấp" in r.content.decode()
    assert 'id="command-confirm"' not in r.content.decode() and not Command.objects.exists()


def test_an_operator_without_an_authenticator_is_told_how_to_get_a_code(
    make_user: Any, tree: dict, client_for: Any, mqtt_dir: Path
) -> None:
    """A reboot needs a TOTP code; someone who never enrolled one is told where to, not asked for a code they
    cannot read off any phone."""
    provision(tree["a"], 1, write_files=False)
    client = client_for(make_user("op-no-otp", "commune_operator", tree["a"]))
    r = send_from_console(client, {"unit": "06652", "action": "reboot"})
    page = r.content.decode()
    assert (
        r.status_code == 400 and "chưa đăng ký ứng dụng xác thực" in page and "/accounts/2fa/setup/" in page
    )
    assert not Command.objects.exists()
