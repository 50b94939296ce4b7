"""The LED controllers' reference adapter (loa.signage.led): ``loa signage render-led <board>`` renders the slides of
a 192×96 board's compiled manifest with the reference player in headless Chromium and ffmpeg assembles them; the
MP4's real size, codec, streams and duration (ffprobe), the PNGs and the playlist's durations; the package reaches the
board's own credentials only; a board with nothing scheduled and a cluster are refused with a clear message."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from PIL import Image

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.fleet.models import BoardScreen, Device, DeviceKind
from loa.fleet.services import do_provision_device
from loa.signage import led
from loa.signage.compile import compile_board_manifests
from loa.units.models import Unit
from tests.conftest import verified_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db]
SLIDE_S = 3.0  # the shortest a slide may be (services.MIN_DURATION_S)


def _board(unit: Unit, serial: str, screen_class: str = "led_192x96") -> tuple[Device, str]:
    device, password = do_provision_device(unit, actor=None, serial=serial)
    Device.objects.filter(pk=device.pk).update(kind=DeviceKind.EBOARD)
    device.refresh_from_db()
    w, h = {"led_192x96": (192, 96), "landscape": (1920, 1080)}[screen_class]
    BoardScreen.objects.create(device=device, screen_class=screen_class, width=w, height=h)
    return device, password


def _client(device: Device, password: str) -> Client:
    token = base64.b64encode(f"{device.device_id}:{password}".encode()).decode()
    return Client(HTTP_AUTHORIZATION=f"Basic {token}")


def _schedule(unit: Unit, operator: User, approver: User, image: Path, video: Path) -> None:
    from loa.broadcast import approval
    from loa.broadcast.services import ScheduleSpec
    from loa.signage.scheduling import do_schedule_playlist
    from loa.signage.services import SlideInput, do_create_playlist, do_create_slide, do_set_screen_windows

    led_classes = ["led_192x96"]
    do_set_screen_windows(unit, [["00:00", "12:00"], ["12:00", "00:00"]], actor=operator)  # lit all day
    slides = [
        do_create_slide(
            unit, SlideInput("text", text="Họp dân 19 giờ", screen_classes=led_classes), actor=operator
        ),
        do_create_slide(unit, SlideInput("image", file=image, screen_classes=led_classes), actor=operator),
        do_create_slide(unit, SlideInput("video", file=video, screen_classes=led_classes), actor=operator),
    ]
    ticker = do_create_slide(
        unit, SlideInput("ticker", text="Phòng chống bão số 15", screen_classes=led_classes), actor=operator
    )
    playlist = do_create_playlist(
        unit, "Bảng LED chợ", [(s, SLIDE_S) for s in slides] + [(ticker, 600.0)], actor=operator
    )
    approval.do_decide_programme(playlist.programme, approve=True, actor=approver)
    local = timezone.localtime(timezone.now(), ZoneInfo("Asia/Ho_Chi_Minh"))
    spec = ScheduleSpec(
        title="Bảng LED", programme=None, kind="daily", times=[f"{local:%H:%M}"], target_units=[unit]
    )
    do_schedule_playlist(spec, playlist, minutes=60, owner=unit, actor=operator)


def _probe(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return dict(json.loads(out.stdout))


def _frame(video: Path, at: float, tmp: Path) -> Image.Image:
    out = tmp / f"frame-{at}.png"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-ss", str(at), "-i", str(video), "-frames:v", "1", str(out)],
        check=True, timeout=60,
    )  # fmt: skip
    return Image.open(out).convert("L")


def _diff(a: Image.Image, b: Image.Image, zone: dict[str, Any]) -> float:
    from PIL import ImageChops, ImageStat

    box = (zone["x"], zone["y"], zone["x"] + zone["width"], zone["y"] + zone["height"])
    return float(ImageStat.Stat(ImageChops.difference(a.crop(box), b.crop(box))).mean[0])


def _layout(device: Device) -> dict[str, Any]:
    from loa.signage.models import BoardManifestRow

    manifest = json.loads(bytes(BoardManifestRow.objects.get(device=device).payload))
    return dict(manifest["layouts"][0])


def test_render_led_makes_the_controllers_files_at_the_panels_resolution(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    settings: Any,
    tmp_path: Path,
    image_file: Path,
    video_file: Path,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path / "data"
    chairman = make_user("chu-tich-ha-tu", Role.APPROVER, tree["a"])
    operator = make_user("bien-tap-ha-tu", Role.COMMUNE_OPERATOR, tree["a"])
    device, password = _board(tree["a"], "LED-A-1")

    # nothing scheduled yet: a clear refusal, nothing written
    compile_board_manifests(device_ids=[device.device_id])
    with pytest.raises(CommandError, match="không có nội dung nào đang hoặc sắp trình chiếu"):
        call_command("signage", "render-led", device.device_id)
    assert not led.package_dir(device.device_id).exists()
    assert _client(device, password).get("/board/api/led/playlist.json").status_code == 404
    assert (
        "render-led"
        in verified_client(chairman).get(f"/signage/boards/{device.device_id}/led/").content.decode()
    )

    _schedule(tree["a"], operator, chairman, image_file, video_file)
    compile_board_manifests(device_ids=[device.device_id])
    out = io.StringIO()
    t0 = time.monotonic()
    call_command("signage", "render-led", device.device_id, stdout=out)
    print(f"render-led: 3 slides at 192×96 in {time.monotonic() - t0:.1f} s")
    said = json.loads(out.getvalue())
    assert said["slides"] == 3 and said["board"] == device.device_id

    folder = led.package_dir(device.device_id)
    playlist = json.loads((folder / "playlist.json").read_text())
    assert (playlist["width"], playlist["height"]) == (192, 96)
    assert [s["kind"] for s in playlist["slides"]] == ["text", "image", "video"]
    assert [s["duration_s"] for s in playlist["slides"]] == [SLIDE_S] * 3
    assert [s["start_s"] for s in playlist["slides"]] == [0.0, SLIDE_S, 2 * SLIDE_S]
    for s in playlist["slides"]:
        with Image.open(folder / s["file"]) as png:
            assert png.size == (192, 96) and png.format == "PNG"
            colours = png.convert("RGB").getcolors(192 * 96) or []
            assert len(colours) > 1, f"{s['file']} is one flat colour"  # something was drawn
    with Image.open(folder / playlist["slides"][1]["file"]) as png:  # the image slide shows the red picture
        r, g, b = png.convert("RGB").getpixel((96, 30))  # type: ignore[misc]
        assert r > 150 and g < 80 and b < 80, (r, g, b)

    probe = _probe(folder / "playlist.mp4")
    (stream,) = probe["streams"]  # one stream: video, no audio
    assert stream["codec_type"] == "video" and stream["codec_name"] == "h264"
    assert (stream["width"], stream["height"]) == (192, 96)
    assert stream["pix_fmt"] == "yuv420p"
    duration = float(probe["format"]["duration"])
    assert abs(duration - 3 * SLIDE_S) <= 0.2, duration
    assert playlist["video"]["duration_s"] == 3 * SLIDE_S
    # the ticker scrolls in the video (the player's speed, across slides) while the text slide stands still
    a, b = _frame(folder / "playlist.mp4", 0.5, tmp_path), _frame(folder / "playlist.mp4", 1.5, tmp_path)
    zones = {z["zone_id"]: z for z in _layout(device)["zones"]}
    main, ticker = zones["main"], zones["ticker"]
    assert _diff(a, b, main) < 2, "the main zone of a text slide moved"
    assert _diff(a, b, ticker) > 5, "the ticker did not move"
    assert AuditEntry.objects.filter(action="signage.led_rendered", object_id=str(device.pk)).count() == 1

    # in the console, for an operator who sees the board (not for another commune's)
    console = verified_client(operator)
    page = console.get(f"/signage/boards/{device.device_id}/led/").content.decode()
    assert 'href="?file=playlist.mp4"' in page and "slide-03.png" in page
    r = console.get(f"/signage/boards/{device.device_id}/led/?file=playlist.mp4")
    assert r.status_code == 200 and len(b"".join(r.streaming_content)) == playlist["video"]["bytes"]
    assert console.get(f"/signage/boards/{device.device_id}/led/?file=../x").status_code == 404
    stranger = verified_client(make_user("bien-tap-cao-xanh", Role.COMMUNE_OPERATOR, tree["b"]))
    assert stranger.get(f"/signage/boards/{device.device_id}/led/").status_code == 404
    assert stranger.get(f"/signage/boards/{device.device_id}/led/?file=playlist.mp4").status_code == 404

    # the same as a job (run inline here): a new package, audited again
    from loa.jobs.models import Job

    settings.LOA_JOBS_INLINE = True
    call_command("signage", "render-led", device.device_id, "--queue", stdout=io.StringIO())
    job = Job.objects.get(kind="signage.render_led")
    assert str(job.state) == "done" and job.result["slides"] == 3, (job.state, job.message)
    assert AuditEntry.objects.filter(action="signage.led_rendered", object_id=str(device.pk)).count() == 2
    playlist = json.loads((folder / "playlist.json").read_text())

    # served to the board's own credentials only
    board = _client(device, password)
    r = board.get("/board/api/led/playlist.json")
    assert r.status_code == 200 and json.loads(b"".join(r.streaming_content)) == playlist
    r = board.get("/board/api/led/playlist.mp4")
    assert r.status_code == 200 and r["Content-Type"] == "video/mp4"
    assert len(b"".join(r.streaming_content)) == playlist["video"]["bytes"]
    assert board.get("/board/api/led/slide-01.png").status_code == 200
    assert board.get("/board/api/led/..%2Fsecret").status_code == 404
    other, other_password = _board(tree["b"], "LED-B-1")
    assert _client(other, other_password).get("/board/api/led/playlist.json").status_code == 404
    assert Client().get("/board/api/led/playlist.json").status_code == 401
    wrong = base64.b64encode(f"{device.device_id}:nope".encode()).decode()
    assert Client(HTTP_AUTHORIZATION=f"Basic {wrong}").get("/board/api/led/playlist.json").status_code == 401


def test_render_led_refuses_what_is_not_a_board(tree: dict[str, Unit]) -> None:
    cluster, _password = do_provision_device(tree["a"], actor=None, serial="LOA-A-9")
    with pytest.raises(CommandError, match="không phải bảng tin"):
        call_command("signage", "render-led", cluster.device_id)
    with pytest.raises(CommandError, match="Không có bảng tin"):
        call_command("signage", "render-led", "loa-000000000000")


def test_the_entry_rendered_is_the_one_the_player_shows_else_the_next() -> None:
    import datetime as dt

    from loa_protocol.board import BoardManifest

    now = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)
    hour = dt.timedelta(hours=1)

    def entry(entry_id: str, start: dt.datetime, end: dt.datetime, priority: int = 4) -> dict[str, Any]:
        return {"entry_id": entry_id, "start": start, "end": end, "playlist_id": "p", "layout_id": "full",
                "priority": priority, "slides": [{"slide_id": "s", "kind": "clock", "duration_s": 5, "zone": "main"}]}  # fmt: skip

    def manifest(*entries: dict[str, Any]) -> BoardManifest:
        return BoardManifest.model_validate(
            {"device_id": "loa-3f9a0c12b7e4", "version": 1, "issued_at": now, "valid_until": now + 48 * hour,
             "screen": {"screen_class": "led_192x96", "width": 192, "height": 96, "orientation": "landscape"},
             "layouts": [{"layout_id": "full", "zones": [{"zone_id": "main", "role": "full", "width": 192, "height": 96}]}],
             "timeline": list(entries)}
        )  # fmt: skip

    normal, later_normal = entry("n", now - hour, now + hour), entry("n2", now - hour / 2, now + hour)
    priority = entry("p", now - 2 * hour, now + hour, priority=3)
    assert led.entry_to_render(manifest(normal, later_normal), now).entry_id == "n2"  # type: ignore[union-attr]
    assert led.entry_to_render(manifest(normal, priority, later_normal), now).entry_id == "p"  # type: ignore[union-attr]
    soon, sooner = entry("s", now + 2 * hour, now + 3 * hour), entry("s0", now + hour, now + 2 * hour)
    assert led.entry_to_render(manifest(soon, sooner), now).entry_id == "s0"  # type: ignore[union-attr]
    assert led.entry_to_render(manifest(entry("past", now - 2 * hour, now)), now) is None
