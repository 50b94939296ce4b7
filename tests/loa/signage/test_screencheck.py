"""The screenshot check without a browser: the hashes on real pictures, a killed board's black screen, an emergency
(not judged), no manifest (not judged), and a late verdict on an older screenshot (recorded, not acted on). The
comparison with the player's renders is tests/loa/signage/test_screencheck_browser.py."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.utils import timezone
from PIL import Image, ImageDraw

from loa.audit.models import AuditEntry
from loa.fleet import boards, keys
from loa.fleet.models import Alarm, BoardScreenshot, Device, DeviceKind
from loa.fleet.services import do_provision_device
from loa.jobs.models import Job
from loa.signage.models import BoardManifestRow
from loa.signage.screencheck import BLACK_MAX, MAX_BITS, MAX_COLOUR, bits_apart, colour_apart, colours, dhash
from loa.units.models import Unit
from loa_protocol.board import BoardManifest
from loa_protocol.signing import sign

pytestmark = pytest.mark.django_db
WHOLE = [0.0, 0.0, 1.0, 1.0]


def _jpeg(image: Image.Image, quality: int = 70) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _page(words: str, background: tuple[int, int, int] = (11, 37, 69)) -> Image.Image:
    image = Image.new("RGB", (320, 180), background)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(words.split("\n")):
        draw.rectangle((16, 20 + i * 40, 16 + 9 * len(line), 44 + i * 40), fill=(255, 255, 255))
    return image


def test_the_hashes_on_real_pictures() -> None:
    slide = _page("Lịch tiêm chủng mở rộng\ntại trạm y tế")
    again = Image.open(io.BytesIO(_jpeg(slide, 60)))  # the board's JPEG of the same picture
    assert bits_apart(dhash(slide, WHOLE), dhash(again, WHOLE)) <= 3
    assert colour_apart(colours(slide, WHOLE), colours(again, WHOLE)) <= 3
    other = _page("Nhắn tin nhận thưởng ngay\nhôm nay!!!")
    assert bits_apart(dhash(slide, WHOLE), dhash(other, WHOLE)) > MAX_BITS
    # a difference hash is blind to a flat colour: the colour grid is what tells green from blue
    green, blue = Image.new("RGB", (320, 180), (0, 255, 0)), Image.new("RGB", (320, 180), (20, 90, 180))
    assert bits_apart(dhash(green, WHOLE), dhash(blue, WHOLE)) == 0
    assert colour_apart(colours(green, WHOLE), colours(blue, WHOLE)) > MAX_COLOUR
    # a blanked area (a video's frame) is the same in any two pictures
    box, mask = [0.0, 0.0, 1.0, 1.0], [[0.25, 0.25, 0.75, 0.75]]
    a, b = _page("x"), _page("x")
    ImageDraw.Draw(b).rectangle((80, 45, 239, 134), fill=(255, 0, 0))
    assert bits_apart(dhash(a, box, mask), dhash(b, box, mask)) == 0


@pytest.fixture
def board(tree: dict[str, Unit], settings: Any, django_capture_on_commit_callbacks: Any) -> Device:
    settings.LOA_BOARD_SCREEN_CHECK = True
    device, _password = do_provision_device(tree["a"], actor=None, serial="B-CHECK-1")
    Device.objects.filter(pk=device.pk).update(kind=DeviceKind.EBOARD)
    device.refresh_from_db()
    boards.ensure_screen(device)
    return device


def _publish(device: Device, **fields: Any) -> None:
    now = timezone.now()
    manifest = BoardManifest.model_validate(
        {
            "device_id": device.device_id, "version": 2, "issued_at": now, "valid_until": now + dt.timedelta(hours=48),
            "screen": {"screen_class": "landscape", "width": 1920, "height": 1080, "orientation": "landscape"},
            **fields,
        }
    )  # fmt: skip
    payload = sign(manifest, keys.private_key()).model_dump_json().encode()
    BoardManifestRow.objects.update_or_create(
        device=device,
        defaults={"version": 2, "payload": payload, "valid_until": now + dt.timedelta(hours=48)},
    )


def _ingest(device: Device, image: Image.Image, capture: Any) -> BoardScreenshot:
    with capture(execute=True):
        shot = boards.ingest_screenshot(device, _jpeg(image))
    shot.refresh_from_db()
    return shot


def _open(device: Device) -> int:
    return Alarm.objects.filter(
        device=device, kind=Alarm.Kind.SCREEN_MISMATCH, cleared_at__isnull=True
    ).count()


def test_a_killed_board_must_be_black(board: Device, django_capture_on_commit_callbacks: Any) -> None:
    _publish(board, killed=True)
    black = Image.new("RGB", (320, 180), (BLACK_MAX // 2,) * 3)
    assert _ingest(board, black, django_capture_on_commit_callbacks).verdict == "match"
    assert _open(board) == 0
    shot = _ingest(board, _page("Nội dung lạ"), django_capture_on_commit_callbacks)
    assert shot.verdict == "mismatch"
    assert _open(board) == 1
    assert _ingest(board, black, django_capture_on_commit_callbacks).verdict == "match"
    assert _open(board) == 0
    assert not Job.objects.filter(
        kind="signage.screen_check"
    ).exists()  # nothing to draw: compared in the upload
    actions = list(AuditEntry.objects.filter(object_id=str(board.pk)).values_list("action", flat=True))
    assert actions.count("fleet.screen_mismatch_raised") == 1
    assert actions.count("fleet.screen_mismatch_cleared") == 1


def test_an_emergency_or_no_manifest_is_not_judged_and_leaves_the_alarm(
    board: Device, django_capture_on_commit_callbacks: Any
) -> None:
    stranger = _page("Nội dung lạ")
    assert _ingest(board, stranger, django_capture_on_commit_callbacks).verdict == "unchecked"  # no manifest
    assert _open(board) == 0
    _publish(board, killed=True)
    assert _ingest(board, stranger, django_capture_on_commit_callbacks).verdict == "mismatch"
    emergency = {
        "emergency_id": "em1", "unit_code": "06652", "title": "Lũ quét", "issued_at": timezone.now(),
    }  # fmt: skip
    _publish(board, emergency=emergency)
    assert _ingest(board, stranger, django_capture_on_commit_callbacks).verdict == "unchecked"
    assert _open(board) == 1  # still open: nothing said the screen is right again


def test_a_late_verdict_on_an_older_screenshot_does_not_move_the_alarm(
    board: Device, django_capture_on_commit_callbacks: Any
) -> None:
    _publish(board, killed=True)
    older = _ingest(board, _page("Nội dung lạ"), django_capture_on_commit_callbacks)
    newer = _ingest(board, Image.new("RGB", (320, 180)), django_capture_on_commit_callbacks)
    assert (older.verdict, newer.verdict, _open(board)) == ("mismatch", "match", 0)
    boards.do_screen_verdict(older, "mismatch", 40, actor=None)  # a slow job finishing late
    assert _open(board) == 0
    older.refresh_from_db()
    assert older.verdict == "mismatch"
