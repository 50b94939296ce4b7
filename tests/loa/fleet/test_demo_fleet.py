"""The demo's simulated clusters (issue 19, item 11): their stored credentials carry the links of the server as it
runs now, stale ones (devices no longer in the database) are replaced, and each has a manifest before its first
HTTPS poll — so no poll of the demo is refused (401) or finds nothing (404)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from django.test import Client

from loa.fleet.demo import demo_credentials
from loa.fleet.models import Device
from loa.units.models import Kind, Level, Unit


def _get(url: str, creds: dict[str, Any]) -> Any:
    auth = base64.b64encode(f"{creds['mqtt_username']}:{creds['mqtt_password']}".encode()).decode()
    return Client().get(url, HTTP_AUTHORIZATION=f"Basic {auth}")


def test_stale_demo_devices_are_replaced_and_every_poll_succeeds(
    tree: dict[str, Unit], mqtt_dir: Path, settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path
    settings.LOA_PUBLIC_URL = "http://127.0.0.1:8765"
    Unit.objects.create(code="06655", name="Phường Hồng Hà", kind=Kind.PHUONG, level=Level.COMMUNE,
                        parent=tree["province"])  # fmt: skip
    # credentials left from another database (or an older run): none of these devices exists here
    stale = [{"device_id": "loa-000000000001", "mqtt_username": "loa-000000000001", "mqtt_password": "x",
              "manifest_url": "http://127.0.0.1:8000/api/v1/broadcast/manifests/loa-000000000001",
              "media_base_url": "http://127.0.0.1:8000/media/"}]  # fmt: skip
    (tmp_path / "demo-devices.json").write_text(json.dumps(stale))

    creds = json.loads(demo_credentials(tree["province"], devices=6, communes=3).read_text())
    assert len(creds) == 6 and Device.objects.count() == 6
    named = Device.objects.select_related("unit")
    assert {d.unit.code for d in named} == {"06652.001", "06655", "06658.001"}, (
        "in the zones, else the commune"
    )
    assert all(d.name.startswith("Cụm loa ") for d in named)
    for c in creds:
        assert c["manifest_url"].startswith("http://127.0.0.1:8765/") and c["media_base_url"].startswith(
            "http://127.0.0.1:8765/"
        )
        path = c["manifest_url"].removeprefix("http://127.0.0.1:8765")
        assert _get(path, c).status_code == 200, "a manifest is there before the first poll"

    # the next start, on another port: the same devices, their links follow
    settings.LOA_PUBLIC_URL = "http://127.0.0.1:9001"
    again = json.loads(demo_credentials(tree["province"], devices=6, communes=3).read_text())
    assert [c["device_id"] for c in again] == [c["device_id"] for c in creds]
    assert all(c["manifest_url"].startswith("http://127.0.0.1:9001/") for c in again)


def test_the_demo_map_shows_its_clusters_and_communes(
    tree: dict[str, Unit], mqtt_dir: Path, settings: Any, tmp_path: Path, make_user: Any, client_for: Any
) -> None:
    """Review 2026-12-05 item 6: /fleet/map.json of the demo had no markers and no communes (no coordinates)."""
    settings.DATA_DIR = tmp_path
    settings.LOA_PUBLIC_URL = "http://127.0.0.1:8765"
    demo_credentials(tree["province"], devices=6, communes=3)
    client = client_for(make_user("tinh", "province_admin", tree["province"]))
    data = client.get("/fleet/map.json").json()
    assert sorted(m["id"] for m in data["markers"]) == sorted(
        Device.objects.values_list("device_id", flat=True)
    )
    assert {c["name"] for c in data["communes"]} == {"Phường Hà Tu", "Phường Cao Xanh"}
    for m in data["markers"]:  # around Hạ Long, not at 0,0
        assert 20.7 < m["lat"] < 21.2 and 106.8 < m["lon"] < 107.3, m
    a = Unit.objects.get(code="06652")
    assert a.latitude is not None and a.longitude is not None
    first = {m["id"]: (m["lat"], m["lon"]) for m in data["markers"]}
    demo_credentials(tree["province"], devices=6, communes=3)  # the next run: the same places
    assert {m["id"]: (m["lat"], m["lon"]) for m in client.get("/fleet/map.json").json()["markers"]} == first
