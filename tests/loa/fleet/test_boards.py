"""E-bulletin boards in the fleet (issue 9, item 1 and the kill switch): enrolment from the console, the screen,
the board's HTTPS side (heartbeat, signed commands, acks, screenshots), photos, the kill switch — through the API
and the console pages, with the board's own credentials as HTTP Basic."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from PIL import Image

from loa.audit.models import AuditEntry
from loa.fleet import boards, keys
from loa.fleet.models import (
    Alarm,
    BoardScreen,
    BoardScreenshot,
    Command,
    CommandDelivery,
    Device,
    DeviceKind,
    KillSwitch,
)
from loa_protocol.messages import Command as CommandMessage
from loa_protocol.messages import EnrolResponse
from loa_protocol.signing import ReplayGuard, verify_command
from tests.loa.broadcast.conftest import totp_next, totp_now  # type: ignore[import-not-found]

API = "/api/v1/fleet"


def _json(client: Client, method: str, url: str, body: Any = None, **extra: Any) -> Any:
    if body is None:
        return getattr(client, method)(url, **extra)
    return getattr(client, method)(url, json.dumps(body), content_type="application/json", **extra)


def _basic(device_id: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{device_id}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def _png(size: tuple[int, int] = (1920, 1080), colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


class Board:
    """An enrolled board as the reference player sees it: its id, its password and the server's key."""

    def __init__(self, enrolled: EnrolResponse) -> None:
        self.id = enrolled.device_id
        self.password = enrolled.mqtt_password
        self.public_key = enrolled.server_public_key
        self.manifest_url = enrolled.manifest_url
        self.auth = _basic(self.id, self.password)
        self.client = Client()

    @property
    def device(self) -> Device:
        return Device.objects.select_related("unit").get(device_id=self.id)

    def heartbeat(self, **over: Any) -> Any:
        body = {
            "v": 1, "device_id": self.id, "ts": timezone.now().isoformat(), "uptime_s": 60, "screen": "on",
            "brightness": 80, "current_slide": "slide-1", "manifest_version": 3, "firmware": "loa-player 0.1",
        } | over  # fmt: skip
        return _json(self.client, "post", f"{API}/boards/{self.id}/heartbeat", body, **self.auth)

    def commands(self) -> list[dict[str, Any]]:
        resp = self.client.get(f"{API}/boards/{self.id}/commands", **self.auth)
        assert resp.status_code == 200, resp.content
        return list(resp.json()["commands"])

    def ack(self, command_id: str, status: str, reason: str | None = None) -> Any:
        body = {"v": 1, "command_id": command_id, "device_id": self.id, "status": status, "reason": reason,
                "at": timezone.now().isoformat()}  # fmt: skip
        return _json(self.client, "post", f"{API}/boards/{self.id}/acks", body, **self.auth)

    def screenshot(self, data: bytes, content_type: str = "image/png", **extra: Any) -> Any:
        return self.client.post(
            f"{API}/boards/{self.id}/screenshots", data, content_type=content_type, **self.auth, **extra
        )


@pytest.fixture
def people(make_user: Any, tree: dict, client_for: Any) -> dict[str, Any]:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    tech = make_user("ky-thuat-a", "technician", tree["a"])
    operator = make_user("van-hanh-a", "commune_operator", tree["a"])
    TOTPDevice.objects.create(
        user=operator, name="điện thoại", confirmed=True
    )  # the kill switch asks its code
    return {
        "tech": tech,
        "operator": operator,
        "tech_client": client_for(tech),
        "operator_client": client_for(operator),
        "b_operator_client": client_for(make_user("van-hanh-b", "commune_operator", tree["b"])),
        "province_admin_client": client_for(make_user("quan-tri-tinh", "province_admin", tree["province"])),
    }


def enrol_board(
    tech_client: Client, unit: str = "06652.001", screen_class: str = "landscape", n: int = 1
) -> Board:
    """Through the console (kind "bảng tin điện tử"), then the device's enrol call with the code it shows."""
    resp = tech_client.post(
        "/fleet/enrol/",
        {"unit": unit, "label": f"Bảng tin chợ {n}", "kind": "eboard", "screen_class": screen_class},
    )
    assert resp.status_code == 200, resp.content.decode()[:500]
    page = resp.content.decode()
    code = re.search(r'id="enrol-code">([A-Z0-9-]+)<', page)
    assert code is not None and "<svg" in page and "bảng tin điện tử" in page
    enrol = {"code": code.group(1), "serial": f"BT-{n}", "vendor": "Loa", "model": "kiosk", "firmware": "0.1"}
    resp = _json(Client(), "post", f"{API}/enrol", enrol)
    assert resp.status_code == 200, resp.content
    return Board(EnrolResponse.model_validate(resp.json()))


# ---- enrolment and the screen -------------------------------------------------------------------------------


def test_board_enrolled_from_the_console_gets_its_screen_and_browser_credentials(people: dict) -> None:
    board = enrol_board(people["tech_client"], screen_class="portrait")
    device = board.device
    assert device.kind == DeviceKind.EBOARD and device.name == "Bảng tin chợ 1"
    assert board.manifest_url.endswith("/board/api/manifest")  # the board manifest, not a cluster's
    screen = BoardScreen.objects.get(device=device)
    assert (screen.screen_class, screen.width, screen.height, screen.orientation) == (
        "portrait",
        1080,
        1920,
        "portrait",
    )
    # the credentials work as HTTP Basic for the board's endpoints; a wrong password does not
    assert board.heartbeat().status_code == 200
    wrong = _json(
        Client(), "post", f"{API}/boards/{board.id}/heartbeat", {}, **_basic(board.id, "sai-mat-khau")
    )
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "not_authenticated"
    assert "bảng tin" in AuditEntry.objects.filter(action="fleet.device_enrolled").latest("pk").message


def test_screen_class_resolution_and_brightness_schedule_are_validated(people: dict) -> None:
    board = enrol_board(people["tech_client"])
    client, url = people["tech_client"], f"{API}/devices/{board.id}/screen"
    ok = _json(client, "patch", url, {"screen_class": "custom", "width": 640, "height": 320,
                                      "brightness_schedule": [{"at": "18:30", "percent": 40}, {"at": "06:00", "percent": 90}]})  # fmt: skip
    assert ok.status_code == 200, ok.content
    assert ok.json()["brightness_schedule"] == [
        {"at": "06:00", "percent": 90},
        {"at": "18:30", "percent": 40},
    ]
    assert ok.json()["orientation"] == "landscape"
    before = AuditEntry.objects.count()
    for body, code in [
        ({"screen_class": "custom", "width": 5, "height": 320}, "resolution_invalid"),
        ({"screen_class": "led_192x96", "width": 1920, "height": 1080}, "resolution_invalid"),
        ({"screen_class": "tivi"}, "screen_class_invalid"),
        ({"brightness_schedule": [{"at": "25:00", "percent": 50}]}, "brightness_schedule_invalid"),
        ({"brightness_schedule": [{"at": "06:00", "percent": 150}]}, "brightness_invalid"),
    ]:
        resp = _json(client, "patch", url, body)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == code, (body, resp.content)
        assert re.search(r"[àáảãạăâđèéêìíòóôơùúưỳý]", resp.json()["error"]["message"])  # Vietnamese
    assert AuditEntry.objects.count() == before
    screen = BoardScreen.objects.get(device_id=board.id)
    assert (screen.width, screen.height) == (640, 320)
    # the console form: one line per step
    resp = client.post(f"/fleet/d/{board.id}/screen/", {"screen_class": "led_384x192", "orientation": "",
                                                        "brightness_schedule": "06:00 80\n22:00 10%"})  # fmt: skip
    assert resp.status_code == 302
    screen.refresh_from_db()
    assert (screen.width, screen.height, screen.brightness_schedule[1]) == (
        384,
        192,
        {"at": "22:00", "percent": 10},
    )
    assert boards.brightness_at(screen.brightness_schedule, dt.time(23, 0)) == 10
    assert boards.brightness_at(screen.brightness_schedule, dt.time(5, 0)) == 10


# ---- heartbeat, presence, offline alarms -------------------------------------------------------------------------


def test_heartbeat_gives_presence_status_and_clears_the_offline_alarm(people: dict) -> None:
    from loa.gateway.ingest import Ingestor

    board = enrol_board(people["tech_client"])
    resp = board.heartbeat(screen="off", brightness=35, current_slide="bt-1234")
    assert resp.status_code == 200, resp.content
    assert resp.json()["killed"] is False and resp.json()["pending_commands"] == 0
    device = board.device
    assert device.online and device.last_seen is not None
    assert (device.last_status["screen"], device.last_status["brightness"]) == ("off", 35)
    # silent for longer than the grace periods: the gateway's offline check marks it offline and raises an alarm
    later = timezone.now() + dt.timedelta(hours=2)
    Ingestor().check_offline(now=later)
    Ingestor().check_offline(now=later + dt.timedelta(hours=1))
    assert not board.device.online
    alarm = Alarm.objects.get(device_id=board.id, kind=Alarm.Kind.OFFLINE)
    assert alarm.cleared_at is None
    assert board.heartbeat().status_code == 200
    alarm.refresh_from_db()
    assert alarm.cleared_at is not None and board.device.online
    bad = board.heartbeat(brightness=150)
    assert bad.status_code == 422


# ---- commands ---------------------------------------------------------------------------------------------------


def test_board_commands_are_signed_fetched_over_https_and_acknowledged(people: dict) -> None:
    board = enrol_board(people["tech_client"])
    op = people["operator_client"]
    resp = _json(
        op,
        "post",
        f"{API}/commands",
        {"action": "brightness", "device": board.id, "params": {"brightness": 60}},
    )
    assert resp.status_code == 201, resp.content
    command = Command.objects.get(pk=resp.json()["id"])
    assert command.state == Command.State.PUBLISHED  # never put on MQTT: the board fetches it
    assert board.heartbeat().json()["pending_commands"] == 1
    fetched = board.commands()
    assert [c["id"] for c in fetched] == [str(command.pk)]
    message = CommandMessage.model_validate(fetched[0])
    verify_command(message, board.public_key, f"loa/v1/dev/{board.id}/cmd", timezone.now(), ReplayGuard())
    assert message.params == {"brightness": 60}
    delivery = CommandDelivery.objects.get(command=command)
    assert delivery.state == "sent"
    assert board.ack(str(command.pk), "received").json()["state"] == "received"
    assert board.commands() == []  # received: not handed out again
    assert board.ack(str(command.pk), "done").json()["state"] == "done"
    assert AuditEntry.objects.filter(action="fleet.command_sent", object_id=str(command.pk)).exists()
    for action in ("reload", "screen_on", "screen_off", "screenshot"):
        assert _json(op, "post", f"{API}/commands", {"action": action, "device": board.id}).status_code == 201


def test_bad_board_commands_are_refused_in_vietnamese_and_leave_nothing(people: dict, tree: dict) -> None:
    board = enrol_board(people["tech_client"])
    speaker = Device.objects.create(device_id="loa-00000000a0a1", unit=tree["a"], serial="L-1")
    op = people["operator_client"]
    commands, audit = Command.objects.count(), AuditEntry.objects.count()
    cases = [
        ({"action": "brightness", "device": board.id, "params": {"brightness": 150}}, 400, "params_invalid"),
        ({"action": "volume", "device": board.id, "params": {"volume": 50}}, 400, "action_not_for_board"),
        ({"action": "screen_off", "device": speaker.device_id}, 400, "action_for_boards_only"),
        ({"action": "reboot", "device": board.id}, 403, "totp_required"),
    ]
    province_admin = people["province_admin_client"]
    resp = _json(province_admin, "post", f"{API}/commands", {"action": "screen_off", "unit": "22"})
    assert (
        resp.status_code == 403 and resp.json()["error"]["code"] == "totp_required"
    )  # more than one commune
    for body, status, code in cases:
        resp = _json(op, "post", f"{API}/commands", body)
        assert resp.status_code == status and resp.json()["error"]["code"] == code, (body, resp.content)
    # the console form says it on the page
    page = op.post(
        "/fleet/commands/new/", {"device": board.id, "action": "brightness", "brightness": "150"}, follow=True
    )
    assert "Độ sáng phải từ 0 đến 100" in page.content.decode()
    assert (Command.objects.count(), AuditEntry.objects.count()) == (commands, audit)


def test_a_unit_command_reaches_boards_or_clusters_never_both(people: dict, tree: dict) -> None:
    b1 = enrol_board(people["tech_client"], n=1)
    b2 = enrol_board(people["tech_client"], unit="06652", n=2)
    Device.objects.create(
        device_id="loa-00000000a0a2", unit=tree["zone_a"], serial="L-2", credentials_hash="x"
    )
    op = people["operator_client"]
    resp = _json(op, "post", f"{API}/commands", {"action": "screen_on", "unit": "06652"})
    assert resp.status_code == 201
    assert {d["device_id"] for d in resp.json()["deliveries"]} == {b1.id, b2.id}
    resp = _json(op, "post", f"{API}/commands", {"action": "stop", "unit": "06652"})
    assert {d["device_id"] for d in resp.json()["deliveries"]} == {"loa-00000000a0a2"}
    # the group command verifies on the board against its group topic
    fetched = b1.commands()
    assert len(fetched) == 1 and fetched[0]["topic"] == "loa/v1/g/22/06652/cmd"


# ---- screenshots --------------------------------------------------------------------------------------------------


def test_screenshot_upload_is_downscaled_kept_per_board_and_shown_in_vietnam_time(
    people: dict, settings: Any
) -> None:
    settings.LOA_BOARD_SCREENSHOTS_KEPT = 2
    board = enrol_board(people["tech_client"])
    taken = dt.datetime(2030, 1, 1, 1, 2, 3, tzinfo=dt.UTC)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(timezone, "now", lambda: taken + dt.timedelta(seconds=5))
        shots = [
            board.screenshot(_png(), QUERY_STRING=f"taken_at={(taken - dt.timedelta(minutes=m)).isoformat().replace('+', '%2B')}")
            for m in (10, 5, 0)
        ]  # fmt: skip
    assert [s.status_code for s in shots] == [201, 201, 201], shots[0].content
    kept = list(BoardScreenshot.objects.filter(device_id=board.id).order_by("taken_at"))
    assert len(kept) == 2 and kept[-1].taken_at == taken
    files = list((Path(settings.DATA_DIR) / "fleet" / "screenshots" / board.id).iterdir())
    assert len(files) == 2
    with Image.open(boards.screenshot_file(kept[-1])) as low:
        assert max(low.size) <= boards.SCREENSHOT_MAX_SIDE and low.format == "JPEG"
    page = people["operator_client"].get(f"/fleet/d/{board.id}/").content.decode()
    assert f"/fleet/screenshots/{kept[-1].pk}.jpg" in page
    assert "08:02:03 01/01/2030" in page  # 01:02:03 UTC is 08:02:03 in Asia/Ho_Chi_Minh
    image = people["operator_client"].get(f"/fleet/screenshots/{kept[-1].pk}.jpg")
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"


def test_bad_screenshots_are_refused_and_leave_nothing_behind(people: dict) -> None:
    board = enrol_board(people["tech_client"])
    folder = Path(settings.DATA_DIR) / "fleet" / "screenshots" / board.id
    huge = board.screenshot(b"\x89PNG" + b"\0" * (20 * 1024 * 1024))
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "screenshot_too_large"
    assert "Ảnh chụp màn hình lớn quá" in huge.json()["error"]["message"]
    text = board.screenshot(b"<html>not an image</html>", content_type="image/png")
    assert text.status_code == 400 and text.json()["error"]["code"] == "screenshot_invalid"
    assert "không phải là ảnh" in text.json()["error"]["message"]
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, format="GIF")
    assert (
        board.screenshot(gif.getvalue(), content_type="image/gif").json()["error"]["code"]
        == "screenshot_invalid"
    )
    assert not BoardScreenshot.objects.exists()
    assert not folder.exists() or not any(folder.iterdir())


# ---- photos -------------------------------------------------------------------------------------------------------


def test_photos_are_validated_by_content_and_stored_without_exif(people: dict) -> None:
    board = enrol_board(people["tech_client"])
    client = people["tech_client"]
    before = AuditEntry.objects.count()
    fake = io.BytesIO(b"MZ\x90\x00 this is an executable")
    fake.name = "anh.jpg"
    page = client.post(f"/fleet/d/{board.id}/photos/", {"photo": fake}, follow=True).content.decode()
    assert "không phải là ảnh hợp lệ" in page
    assert board.device.photos == [] and AuditEntry.objects.count() == before
    assert not (Path(settings.DATA_DIR) / "fleet" / "photos" / board.id).exists()
    exif = Image.Exif()
    exif[0x010F] = "Hang may anh"  # Make
    exif[0x010E] = "Vi tri: 21.0 N, 107.1 E"  # ImageDescription
    exif[0x0112] = 6  # Orientation: taken rotated; stored upright
    jpeg = io.BytesIO()
    Image.new("RGB", (3000, 2000), (10, 120, 10)).save(jpeg, format="JPEG", exif=exif)
    jpeg.seek(0)
    jpeg.name = "cot-bang-tin.jpg"
    assert client.post(f"/fleet/d/{board.id}/photos/", {"photo": jpeg}).status_code == 302
    photos = board.device.photos
    assert len(photos) == 1 and photos[0]["name"] == "cot-bang-tin.jpg"
    served = client.get(f"/fleet/d/{board.id}/photos/{photos[0]['id']}.jpg")
    assert served.status_code == 200
    data = b"".join(served.streaming_content)
    with Image.open(io.BytesIO(data)) as stored:
        assert not stored.getexif() and stored.size == (1067, 1600)
    assert AuditEntry.objects.filter(action="fleet.device_photo_added").count() == 1


# ---- kill switch --------------------------------------------------------------------------------------------------


def test_kill_switch_per_board_is_totp_confirmed_audited_shown_and_reversible(people: dict) -> None:
    board = enrol_board(people["tech_client"])
    op, user = people["operator_client"], people["operator"]
    url = f"{API}/kill-switches"
    before = AuditEntry.objects.count()
    no_code = _json(op, "post", url, {"device": board.id, "reason": "Nội dung lạ"})
    assert no_code.status_code == 403 and no_code.json()["error"]["code"] == "totp_required"
    no_reason = _json(op, "post", url, {"device": board.id, "reason": " ", "totp": totp_now(user)})
    assert no_reason.status_code == 400 and no_reason.json()["error"]["code"] == "reason_required"
    assert (KillSwitch.objects.count(), AuditEntry.objects.count()) == (0, before)
    assert not boards.killed(board.device)

    resp = _json(
        op,
        "post",
        url,
        {"device": board.id, "reason": "Bảng tin hiển thị nội dung lạ", "totp": totp_now(user)},
    )
    assert resp.status_code == 201, resp.content
    assert boards.killed(board.device)
    assert board.heartbeat().json()["killed"] is True
    [command] = board.commands()
    assert (command["action"], command["params"]) == ("kill_switch", {"engaged": True})
    assert AuditEntry.objects.filter(action="fleet.kill_switch_engaged").count() == 1
    page = op.get(f"/fleet/d/{board.id}/").content.decode()
    assert 'class="card killed-panel"' in page and "Bảng tin hiển thị nội dung lạ" in page
    listing = op.get("/fleet/").content.decode()
    assert "killed-badge" in listing and 'id="killed-count"' in listing
    assert _json(op, "get", f"{API}/devices/{board.id}").json()["killed"] is True
    again = _json(op, "post", url, {"device": board.id, "reason": "lần hai", "totp": totp_next(user)})
    assert again.status_code == 409

    switch_id = resp.json()["id"]
    refused = _json(op, "post", f"{url}/{switch_id}/release", {"totp": "000000"})
    assert refused.status_code == 403 and boards.killed(board.device)
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user=user).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    released = _json(op, "post", f"{url}/{switch_id}/release", {"totp": totp_next(user)})
    assert released.status_code == 200, released.content
    assert not boards.killed(board.device)
    assert [c["params"] for c in board.commands()][-1] == {"engaged": False}
    assert AuditEntry.objects.filter(action="fleet.kill_switch_released").count() == 1


def test_kill_switch_per_area_covers_its_subtree_and_boards_enrolled_later(people: dict, tree: dict) -> None:
    inside = enrol_board(people["tech_client"], unit="06652.001", n=1)
    admin_user = people["operator"]
    op = people["operator_client"]
    page = op.post(
        "/fleet/kill/", {"unit": "06652", "reason": "Nghi bị chiếm quyền", "totp": totp_now(admin_user)}
    )
    assert page.status_code == 302, page.content.decode()[:300]
    switch = KillSwitch.objects.get()
    assert switch.unit == tree["a"] and switch.device is None
    assert boards.killed(inside.device)
    later = enrol_board(people["tech_client"], unit="06652", n=2)
    assert boards.killed(later.device) and later.heartbeat().json()["killed"] is True
    assert "Nghi bị chiếm quyền" in op.get("/fleet/kill/").content.decode()
    resp = op.post(f"/fleet/kill/{switch.pk}/release/", {"totp": totp_next(admin_user)})
    assert resp.status_code == 302
    assert not boards.killed(inside.device) and not boards.killed(later.device)


# ---- isolation ----------------------------------------------------------------------------------------------------


def test_a_commune_cannot_see_command_or_kill_another_communes_board(people: dict, tree: dict) -> None:
    board = enrol_board(people["tech_client"])  # a board of commune A
    board.screenshot(_png())
    shot = BoardScreenshot.objects.get()
    other = people["b_operator_client"]
    before = (AuditEntry.objects.count(), Command.objects.count(), KillSwitch.objects.count())
    assert other.get(f"/fleet/d/{board.id}/").status_code == 404
    assert other.get(f"/fleet/screenshots/{shot.pk}.jpg").status_code == 404
    assert _json(other, "get", f"{API}/devices/{board.id}/screenshots").status_code == 404
    assert (
        _json(other, "post", f"{API}/commands", {"action": "screen_off", "device": board.id}).status_code
        == 404
    )
    assert (
        _json(
            other, "post", f"{API}/kill-switches", {"device": board.id, "reason": "x", "totp": "123456"}
        ).status_code
        == 404
    )
    assert _json(
        other, "post", f"{API}/kill-switches", {"unit": "06652", "reason": "x", "totp": "123456"}
    ).status_code in (403, 404)
    assert other.post(f"/fleet/d/{board.id}/kill/", {"reason": "x", "totp": "123456"}).status_code == 404
    assert (AuditEntry.objects.count(), Command.objects.count(), KillSwitch.objects.count()) == before


def test_a_device_cannot_post_for_another_device(people: dict) -> None:
    mine = enrol_board(people["tech_client"], n=1)
    theirs = enrol_board(people["tech_client"], n=2)
    resp = _json(
        people["operator_client"], "post", f"{API}/commands", {"action": "reload", "device": theirs.id}
    )
    their_command = resp.json()["id"]
    as_them = f"{API}/boards/{theirs.id}"
    beat = {"v": 1, "device_id": theirs.id, "ts": timezone.now().isoformat(), "screen": "on", "firmware": "x"}
    assert _json(mine.client, "post", f"{as_them}/heartbeat", beat, **mine.auth).status_code == 403
    assert mine.client.get(f"{as_them}/commands", **mine.auth).status_code == 403
    shot = mine.client.post(f"{as_them}/screenshots", _png(), content_type="image/png", **mine.auth)
    assert shot.status_code == 403
    # on its own path but naming the other device, or acking the other's command
    assert mine.heartbeat(device_id=theirs.id).status_code == 403
    assert mine.ack(their_command, "done").status_code == 404
    assert CommandDelivery.objects.get(command_id=their_command).state == "pending"
    assert not Device.objects.get(device_id=theirs.id).online and not BoardScreenshot.objects.exists()
    # a revoked board is nobody
    Device.objects.filter(device_id=mine.id).update(revoked_at=timezone.now())
    assert mine.heartbeat().status_code == 401
    assert keys.public_key() == mine.public_key


def test_the_manifest_compiler_hears_of_every_change_a_board_manifest_carries(
    people: dict, tree: dict
) -> None:
    """``boards.board_changed``: enrolment, a screen edit, a kill switch engaged on an area and released."""
    heard: list[tuple[list[str], list[str]]] = []

    def listener(sender: Any, unit_paths: list[str], device_ids: list[str], **kwargs: Any) -> None:
        heard.append((unit_paths, device_ids))

    boards.board_changed.connect(listener)
    try:
        board = enrol_board(people["tech_client"])
        assert heard == [([], [board.id])]
        _json(
            people["tech_client"], "patch", f"{API}/devices/{board.id}/screen", {"screen_class": "portrait"}
        )
        assert heard[-1] == ([], [board.id])
        user, op = people["operator"], people["operator_client"]
        resp = _json(
            op, "post", f"{API}/kill-switches", {"unit": "06652", "reason": "Thử", "totp": totp_now(user)}
        )
        assert resp.status_code == 201 and heard[-1] == ([tree["a"].path], [])
        _json(op, "post", f"{API}/kill-switches/{resp.json()['id']}/release", {"totp": totp_next(user)})
        assert heard[-1] == ([], [board.id]) and len(heard) == 4
    finally:
        boards.board_changed.disconnect(listener)


def test_list_and_map_tell_boards_from_clusters(people: dict, tree: dict) -> None:
    board = enrol_board(people["tech_client"])
    Device.objects.filter(device_id=board.id).update(latitude=20.95, longitude=107.1)
    Device.objects.create(
        device_id="loa-00000000a0a3", unit=tree["a"], serial="L-3", latitude=20.96, longitude=107.1
    )
    op = people["operator_client"]
    markers = {m["id"]: m["kind"] for m in op.get("/fleet/map.json").json()["markers"]}
    assert markers == {board.id: "eboard", "loa-00000000a0a3": "loudspeaker"}
    only_boards = op.get("/fleet/?kind=eboard").content.decode()
    assert board.id in only_boards and "loa-00000000a0a3" not in only_boards and "kind-eboard" in only_boards
    assert [d["device_id"] for d in _json(op, "get", f"{API}/devices?kind=eboard").json()["items"]] == [
        board.id
    ]
    assert "Bảng tin điện tử (chữ nhật)" in op.get("/fleet/map/").content.decode()
