"""Fleet console pages: scoping, enrolment code with QR, device page, commands with delivery state."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from loa.fleet.models import Command, Device, EnrolmentCode
from tests.loa.fleet.devices import provision  # type: ignore[import-not-found]


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
    resp = client.post("/fleet/commands/new/", {"unit": "06652", "action": "volume", "volume": "30"})
    command = Command.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/fleet/commands/{command.pk}/"
    page = client.get(resp["Location"]).content.decode()
    assert "Chờ gửi" in page and 'hx-trigger="every 2s"' in page
    partial = client.get(resp["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<section id="deliveries"')
    bad = client.post("/fleet/commands/new/", {"unit": "06652", "action": "volume", "volume": "500"})
    assert bad.status_code == 400 and "không hợp lệ" in bad.content.decode()
    reboot = client.post("/fleet/commands/new/", {"unit": "06652", "action": "reboot"})
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
