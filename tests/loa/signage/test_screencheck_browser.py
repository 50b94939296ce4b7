"""The screenshot-mismatch alarm with real Chromium and real pictures: the reference player shows a board's signed
manifest and draws its screenshots with its own ``drawScreen()``; the screenshot of a scheduled slide raises
nothing, a slide injected into the page outside the manifest raises the board's ``screen_mismatch`` alarm (console,
audit), the next screenshot of a scheduled slide clears it; a corrupt or oversized upload is refused with a clear
4xx and leaves the board's screenshots and alarm as they were."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.fleet import boards, keys
from loa.fleet.models import Alarm, BoardScreenshot, Device, DeviceKind
from loa.fleet.services import do_provision_device
from loa.jobs.models import Job
from loa.signage import layouts, store
from loa.signage.models import BoardManifestRow, ExpectedRender
from loa.signage.screencheck import MAX_BITS, player_page
from loa.units.models import Unit
from loa_protocol.board import BoardManifest
from loa_protocol.signing import sign
from tests.conftest import verified_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# the player runs on Chromium's real clock, the server on LOA_TEST_CLOCK's (up to a day apart): the entry spans both
DAY = dt.timedelta(days=1)
SCREEN = {"screen_class": "landscape", "width": 1920, "height": 1080, "orientation": "landscape"}


def _board(unit: Unit) -> tuple[Device, Client]:
    device, password = do_provision_device(unit, actor=None, serial="B-SHOT-1")
    Device.objects.filter(pk=device.pk).update(kind=DeviceKind.EBOARD)
    device.refresh_from_db()
    boards.ensure_screen(device)
    token = base64.b64encode(f"{device.device_id}:{password}".encode()).decode()
    return device, Client(HTTP_AUTHORIZATION=f"Basic {token}")


def _media(settings: Any, tmp_path: Path) -> dict[str, Any]:
    settings.MEDIA_ROOT = tmp_path / "media"
    picture = Image.new("RGB", (1600, 900), (20, 90, 180))
    for i in range(8):  # stripes, so the picture has a shape and not only a colour
        picture.paste((250, 200, 40), (i * 200, 0, i * 200 + 60, 900))
    out = io.BytesIO()
    picture.save(out, "PNG")
    data = out.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    path = store.path_of(sha, "png")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"url": store.url_of(sha, "png"), "sha256": sha, "bytes": len(data), "mime": "image/png"}


def _video(tmp_path: Path) -> dict[str, Any]:
    """A VP8 clip (Debian's Chromium plays no H.264), made by ffmpeg and put in the board store."""
    webm = tmp_path / "clip.webm"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=10", "-t", "3",
         "-c:v", "libvpx", "-b:v", "300k", str(webm)],
        check=True, timeout=60,
    )  # fmt: skip
    data = webm.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    path = store.path_of(sha, "webm")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"url": store.url_of(sha, "webm"), "sha256": sha, "bytes": len(data), "mime": "video/webm"}


def _publish(device: Device, image: dict[str, Any], video: dict[str, Any]) -> bytes:
    now = timezone.now()
    layout = {
        "layout_id": "main_ticker_clock",
        "name": "main",
        "zones": [z.as_dict() for z in layouts.zones("main_ticker_clock", 1920, 1080)],
    }
    manifest = BoardManifest.model_validate(
        {
            "device_id": device.device_id, "version": 3, "issued_at": now - DAY, "valid_until": now + 2 * DAY,
            "screen": SCREEN, "windows": [], "layouts": [layout],
            "timeline": [{
                "entry_id": "b1", "start": now - DAY, "end": now + DAY,
                "playlist_id": "pl1", "layout_id": "main_ticker_clock", "slides": [
                    {"slide_id": "t1", "kind": "text", "duration_s": 4.0, "zone": "main",
                     "text": {"body": "Lịch tiêm chủng mở rộng\ntại trạm y tế phường\nsáng thứ Bảy", "font_px": 96}},
                    {"slide_id": "i1", "kind": "image", "duration_s": 4.0, "zone": "main", "media": image},
                    {"slide_id": "v1", "kind": "video", "duration_s": 4.0, "zone": "main", "media": video},
                    {"slide_id": "k1", "kind": "ticker", "duration_s": 8.0, "zone": "ticker",
                     "text": {"body": "Phường Hà Tu thông báo lịch cắt điện ngày mai"}},
                    {"slide_id": "c1", "kind": "clock", "duration_s": 8.0, "zone": "clock"},
                ],
            }],
        }
    )  # fmt: skip
    payload = sign(manifest, keys.private_key()).model_dump_json().encode()
    BoardManifestRow.objects.update_or_create(
        device=device,
        defaults={"version": 3, "payload": payload, "valid_until": now + 2 * DAY},
    )
    return payload


SHOWN = """(id) => { const el = document.querySelector(`#stage .zone-main [data-slide-id="${id}"]`);
  return !!el && [...el.querySelectorAll('img')].every((i) => i.complete && i.naturalWidth > 0); }"""
JPEG = "() => window.loaBoard.drawScreen().toDataURL('image/jpeg', 0.7)"
# other words in the text slide's own colours and size: only the shape of the text differs
LOOKALIKE = """() => { const p = document.querySelector('#stage .zone-main .slide-text p');
  p.textContent = ['Nhắn tin đến số 8xxx', 'để nhận thưởng', 'ngay hôm nay!!!'].join(String.fromCharCode(10)); }"""
INJECT = """() => { const d = document.createElement('div'); d.id = 'injected';
  d.style.cssText = 'position:absolute;inset:0;background:#fff;color:#c00;font-size:140px;font-weight:700;z-index:5';
  d.textContent = 'NỘI DUNG LẠ KHÔNG CÓ TRONG LỊCH';
  document.querySelector('#stage .zone-main').append(d); }"""


def _jpeg(page: Any) -> bytes:
    return base64.b64decode(page.evaluate(JPEG).split(",", 1)[1])


def _upload(client: Client, device: Device, data: bytes, content_type: str = "image/jpeg") -> Any:
    return client.generic(
        "POST", f"/api/v1/fleet/boards/{device.device_id}/screenshots", data, content_type=content_type
    )


def _open_alarms(device: Device) -> list[Alarm]:
    return list(Alarm.objects.filter(device=device, kind=Alarm.Kind.SCREEN_MISMATCH, cleared_at__isnull=True))


def test_a_slide_injected_outside_the_manifest_raises_the_alarm_and_a_scheduled_one_clears_it(
    tree: dict[str, Unit], settings: Any, tmp_path: Path, make_user: Any
) -> None:
    settings.LOA_BOARD_SCREEN_CHECK = True
    device, board = _board(tree["a"])
    payload = _publish(device, _media(settings, tmp_path), _video(tmp_path))

    # the board: the reference player showing its signed manifest; its screenshots drawn by its own drawScreen()
    # (its window smaller than its screen, so it draws at another scale than the expected renders)
    with player_page(device.device_id, SCREEN, [payload], viewport=(1366, 768)) as page:
        page.goto("/board/")
        page.wait_for_function(SHOWN, arg="t1")
        text_shot = _jpeg(page)
        page.evaluate(INJECT)
        hijacked = _jpeg(page)
        page.evaluate("() => document.getElementById('injected').remove()")
        page.evaluate(LOOKALIKE)
        lookalike = _jpeg(page)
        page.wait_for_function(SHOWN, arg="i1", timeout=15_000)
        image_shot = _jpeg(page)
        page.wait_for_function(SHOWN, arg="v1", timeout=15_000)
        page.wait_for_function("() => document.querySelector('#stage .slide-video video').currentTime > 0.5")
        video_shot = _jpeg(
            page
        )  # another frame than the render's: the video's box is left out of the comparison

    # 1. the scheduled text slide: matched, no alarm (the expected renders are drawn by the job, once)
    r = _upload(board, device, text_shot)
    assert r.status_code == 201, r.content
    shot = BoardScreenshot.objects.get(pk=r.json()["id"])
    assert shot.verdict == "match", Job.objects.filter(kind="signage.screen_check").values(
        "message", "result"
    )
    assert shot.distance is not None and shot.distance <= MAX_BITS
    assert not _open_alarms(device)
    # the text and image slides, the idle page, and the video at each half second of its 4 s on screen
    assert ExpectedRender.objects.count() == 11
    assert ExpectedRender.objects.filter(kind="video").count() == 8

    # 2. a slide injected into the page outside the manifest: the alarm, in the audit log and on the device page
    r = _upload(board, device, hijacked)
    assert r.status_code == 201, r.content
    shot = BoardScreenshot.objects.get(pk=r.json()["id"])
    assert shot.verdict == "mismatch", shot.distance
    [alarm] = _open_alarms(device)
    assert "không có trong lịch phát" in alarm.detail
    assert (
        AuditEntry.objects.filter(action="fleet.screen_mismatch_raised", object_id=str(device.pk)).count()
        == 1
    )
    officer = make_user("canbo-a", Role.COMMUNE_OPERATOR, tree["a"])
    page_html = verified_client(officer).get(f"/fleet/d/{device.device_id}/").content.decode()
    assert "Màn hình đang hiển thị nội dung không có trong lịch phát" in page_html
    officer_client = verified_client(officer)
    assert (
        "1 bảng tin hiển thị nội dung không có trong lịch phát"
        in officer_client.get("/fleet/").content.decode()
    )
    # the same picture again: still one alarm, not a second one
    r = _upload(board, device, hijacked)
    assert len(_open_alarms(device)) == 1

    # the scheduled slide's look with other words: caught by the shape of the text alone
    r = _upload(board, device, lookalike)
    shot = BoardScreenshot.objects.get(pk=r.json()["id"])
    assert shot.verdict == "mismatch" and shot.distance is not None and shot.distance > MAX_BITS, (
        shot.distance
    )

    # 3. a corrupt or oversized upload: a clear 4xx, and the screenshots and the alarm stay as they were
    before = list(BoardScreenshot.objects.filter(device=device).values_list("pk", flat=True))
    r = _upload(board, device, b"\xff\xd8\xff\xe0 not really a jpeg")
    assert r.status_code == 400, r.content
    assert "không phải là ảnh hợp lệ" in r.json()["error"]["message"]
    r = _upload(board, device, hijacked[: len(hijacked) // 2])  # cut in the middle
    assert r.status_code == 400, r.content
    settings.LOA_BOARD_SCREENSHOT_MAX_BYTES = 2048
    r = _upload(board, device, text_shot)
    assert r.status_code == 413, r.content
    assert "lớn quá" in r.json()["error"]["message"]
    del settings.LOA_BOARD_SCREENSHOT_MAX_BYTES
    assert list(BoardScreenshot.objects.filter(device=device).values_list("pk", flat=True)) == before
    assert all(boards.screenshot_file(s).is_file() for s in BoardScreenshot.objects.filter(device=device))
    assert len(_open_alarms(device)) == 1

    # 4. recovered: the scheduled image slide on screen again clears the alarm (audited)
    r = _upload(board, device, image_shot)
    assert r.status_code == 201, r.content
    assert BoardScreenshot.objects.get(pk=r.json()["id"]).verdict == "match"
    assert not _open_alarms(device)
    assert Alarm.objects.get(pk=alarm.pk).cleared_at is not None
    assert "hiển thị nội dung không có trong lịch phát" not in officer_client.get("/fleet/").content.decode()
    assert (
        AuditEntry.objects.filter(action="fleet.screen_mismatch_cleared", object_id=str(device.pk)).count()
        == 1
    )
    r = _upload(board, device, video_shot)
    assert BoardScreenshot.objects.get(pk=r.json()["id"]).verdict == "match"
    assert ExpectedRender.objects.count() == 11  # drawn once, reused
    # only the first screenshot needed renders, drawn in a job; every later one was compared in its upload
    [job] = Job.objects.filter(kind="signage.screen_check")
    assert (job.state, job.result["rendered"]) == ("done", 11)
