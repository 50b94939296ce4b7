"""Revoking a loudspeaker cluster asks first, saying what it cuts off; the button stands apart, in danger style."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loa.fleet.models import Device
from tests.loa.fleet.devices import provision  # type: ignore[import-not-found]


def test_revoking_a_cluster_asks_first(make_user: Any, tree: dict, client_for: Any, mqtt_dir: Path) -> None:
    device = provision(tree["a"], 1, write_files=False)[0]
    Device.objects.filter(device_id=device.device_id).update(name="Cụm loa chợ Hà Tu")
    client = client_for(make_user("ky-thuat", "technician", tree["a"]))
    page = client.get(f"/fleet/d/{device.device_id}/").content.decode()
    zone = page.split('id="danger-zone"')[1].split("</div>")[0]
    assert f'href="/fleet/d/{device.device_id}/revoke/"' in zone and "button danger" in zone
    confirm = client.get(f"/fleet/d/{device.device_id}/revoke/").content.decode()
    assert "Cụm loa chợ Hà Tu (Phường Hà Tu) mất quyền kết nối ngay" in confirm
    # a POST without the confirmation (an old form, a stray click) only asks again
    client.post(f"/fleet/d/{device.device_id}/revoke/", {"reason": "Hỏng"})
    assert Device.objects.get(device_id=device.device_id).revoked_at is None
    r = client.post(f"/fleet/d/{device.device_id}/revoke/", {"reason": "Hỏng", "confirm": "1"})
    assert r.status_code == 302
    assert Device.objects.get(device_id=device.device_id).revoked_at is not None


def test_revoking_a_board_speaks_of_a_board(
    make_user: Any, tree: dict, client_for: Any, mqtt_dir: Path
) -> None:
    from loa.fleet.models import BoardScreen, DeviceKind

    device = provision(tree["a"], 1, write_files=False)[0]
    Device.objects.filter(device_id=device.device_id).update(
        name="Bảng tin chợ Hà Tu", kind=DeviceKind.EBOARD
    )
    BoardScreen.objects.create(device_id=device.device_id, screen_class="landscape", width=1920, height=1080)
    client = client_for(make_user("ky-thuat", "technician", tree["a"]))
    page = client.get(f"/fleet/d/{device.device_id}/").content.decode()
    zone = page.split('id="danger-zone"')[1].split("</div>")[0]
    assert "Thu hồi bảng tin" in zone and "cụm loa" not in zone.lower()
    confirm = client.get(f"/fleet/d/{device.device_id}/revoke/").content.decode()
    body = confirm.split("<h1>")[1].split("</form>")[0]
    assert "Bảng tin chợ Hà Tu (Phường Hà Tu) mất quyền kết nối ngay" in body
    assert "công tắc ngắt khẩn cấp" in body  # how to make the screen dark, which revoking alone does not
    assert "cụm loa" not in body.lower() and "Cụm loa" not in confirm.split("<title>")[1].split("</title>")[0]
    r = client.post(f"/fleet/d/{device.device_id}/revoke/", {"reason": "Hỏng", "confirm": "1"}, follow=True)
    assert "Đã thu hồi bảng tin" in r.content.decode()
    assert Device.objects.get(device_id=device.device_id).revoked_at is not None
