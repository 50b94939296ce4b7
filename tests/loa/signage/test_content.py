"""Board content: slides made for real (Pillow, ffmpeg, pdftoppm), bad input refused with nothing left behind,
playlists under the programme approval rule, schedules on boards, and the signed manifests."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path
from typing import Any

import pytest

from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.broadcast import approval
from loa.broadcast.models import Emergency, Programme
from loa.broadcast.services import ScheduleSpec
from loa.errors import Refusal
from loa.fleet import keys
from loa.signage import store
from loa.signage.compile import compile_board_manifests, manifest_payload
from loa.signage.models import BoardManifestRevision, Slide
from loa.signage.scheduling import do_schedule_playlist
from loa.signage.services import SlideInput, do_create_playlist, do_create_slide, do_set_screen_windows
from loa_protocol.board import BoardManifest, verify_board_manifest
from loa_protocol.messages import decode

NOW = dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC)  # 08:00 in Vietnam


@pytest.fixture(autouse=True)
def _own_store(settings: Any, tmp_path: Path) -> None:
    """A board store of each test's own: the tests compare the whole store before and after a refusal, and the other
    test worker writes board files into the shared one (a CI run failed on three of its images)."""
    settings.MEDIA_ROOT = tmp_path / "media"


def _stored() -> list[Path]:
    root = store.root()
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def operator(make_user: Any, tree: Any) -> Any:
    return make_user("op", Role.COMMUNE_OPERATOR, tree["a"])


@pytest.fixture
def approver(make_user: Any, tree: Any) -> Any:
    return make_user("ap", Role.APPROVER, tree["a"])


def test_text_fits_and_a_text_that_cannot_fit_is_refused_leaving_nothing(operator: Any, tree: Any) -> None:
    slide = do_create_slide(
        tree["a"],
        SlideInput("text", text="Lịch tiêm phòng dại cho chó, mèo: sáng Chủ nhật 13/12"),
        actor=operator,
    )
    assert set(slide.fits) == {"landscape", "portrait"}
    assert all(f["font_px"] > 20 and len(f["lines"]) >= 1 for f in slide.fits.values())
    before = (Slide.objects.count(), AuditEntry.objects.count(), _stored())
    with pytest.raises(Refusal) as exc:
        do_create_slide(
            tree["a"],
            SlideInput("text", text="Thông báo khẩn " * 100, screen_classes=["led_192x96"]),
            actor=operator,
        )
    assert exc.value.code == "text_does_not_fit"
    assert "không vừa vùng hiển thị của bảng led 192×96" in exc.value.message
    assert (Slide.objects.count(), AuditEntry.objects.count(), _stored()) == before


def test_image_resized_per_screen_class_and_a_non_image_refused(
    operator: Any, tree: Any, image_file: Path, tmp_path: Path
) -> None:
    slide = do_create_slide(
        tree["a"],
        SlideInput("image", file=image_file, screen_classes=["landscape", "led_192x96"]),
        actor=operator,
    )
    led = slide.renditions["led_192x96"]
    assert (led["width"], led["height"]) == (154, 96)  # 320×200 fitted into 192×96, never enlarged
    assert slide.renditions["landscape"]["width"] == 320
    for r in slide.renditions.values():
        assert store.path_of(r["sha256"], r["ext"]).exists()
    fake = tmp_path / "anh.jpg"
    fake.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" * 10)
    before = (Slide.objects.count(), _stored())
    with pytest.raises(Refusal) as exc:
        do_create_slide(tree["a"], SlideInput("image", file=fake), actor=operator)
    assert exc.value.code == "not_image"
    assert "không phải là ảnh" in exc.value.message
    assert (Slide.objects.count(), _stored()) == before


def test_video_transcoded_and_limits(operator: Any, tree: Any, video_file: Path, settings: Any) -> None:
    slide = do_create_slide(
        tree["a"], SlideInput("video", file=video_file, screen_classes=["landscape"]), actor=operator
    )
    r = slide.renditions["landscape"]
    assert r["mime"] == "video/mp4" and (r["width"], r["height"]) == (160, 120)
    assert slide.media_duration_s == pytest.approx(1.0, abs=0.1)
    settings.LOA_SIGNAGE_VIDEO_MAX_S = 0.5
    before = (Slide.objects.count(), _stored())
    with pytest.raises(Refusal) as exc:
        do_create_slide(tree["a"], SlideInput("video", file=video_file), actor=operator)
    assert exc.value.code == "video_too_long"
    settings.LOA_SIGNAGE_VIDEO_MAX_S = 600
    settings.LOA_SIGNAGE_MAX_BYTES = 100
    with pytest.raises(Refusal) as exc:
        do_create_slide(tree["a"], SlideInput("video", file=video_file), actor=operator)
    assert exc.value.code == "too_large" and exc.value.status == 413
    assert (Slide.objects.count(), _stored()) == before


def test_a_video_that_makes_ffmpeg_hang_is_stopped_by_the_time_limit(
    operator: Any, tree: Any, video_file: Path, settings: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    hanging = tmp_path / "ffmpeg"
    hanging.write_text("#!/bin/sh\nexec sleep 60\n")
    hanging.chmod(hanging.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("FFMPEG", str(hanging))
    settings.LOA_SIGNAGE_TRANSCODE_TIMEOUT_S = 1.0
    before = (Slide.objects.count(), _stored())
    with pytest.raises(Refusal) as exc:
        do_create_slide(tree["a"], SlideInput("video", file=video_file), actor=operator)
    assert exc.value.code == "timeout"
    assert "quá thời gian cho phép" in exc.value.message
    assert (Slide.objects.count(), _stored()) == before
    assert not [p for p in store.root().iterdir() if p.name.startswith(".work-")]


def test_pdf_page_rendered(operator: Any, tree: Any, pdf_file: Path) -> None:
    slide = do_create_slide(tree["a"], SlideInput("pdf_page", file=pdf_file, page=2), actor=operator)
    assert slide.renditions["portrait"]["mime"] == "image/jpeg"
    with pytest.raises(Refusal) as exc:
        do_create_slide(tree["a"], SlideInput("pdf_page", file=pdf_file, page=9), actor=operator)
    assert exc.value.code == "page_invalid"


def _spec(tree: Any, **kw: Any) -> ScheduleSpec:
    return ScheduleSpec(
        title="Bảng tin sáng", programme=None, kind="daily", times=["08:00"], target_units=[tree["a"]], **kw
    )


def test_playlist_waits_for_approval_then_compiles_into_signed_manifests(
    operator: Any, approver: Any, tree: Any, make_boards: Any, image_file: Path
) -> None:
    boards = make_boards(tree["a"], 2) + make_boards(tree["zone_a"], 1, "led_192x96", (192, 96))
    others = make_boards(tree["b"], 1)
    text = do_create_slide(
        tree["a"], SlideInput("text", text="Họp dân lúc 19:00 tại nhà văn hóa"), actor=operator
    )
    image = do_create_slide(tree["a"], SlideInput("image", file=image_file), actor=operator)
    ticker = do_create_slide(tree["a"], SlideInput("ticker", text="Phòng chống bão số 9"), actor=operator)
    playlist = do_create_playlist(tree["a"], "Sáng", [(text, 8), (image, 6), (ticker, 14)], actor=operator)
    assert playlist.programme.state == Programme.State.PENDING
    with pytest.raises(Refusal) as exc:
        do_schedule_playlist(_spec(tree), playlist, owner=tree["a"], actor=operator, now=NOW)
    assert exc.value.code == "programme_not_approved"
    with pytest.raises(Refusal):
        approval.do_decide_programme(playlist.programme, approve=True, actor=operator)  # its author
    approval.do_decide_programme(playlist.programme, approve=True, actor=approver)
    do_schedule_playlist(_spec(tree), playlist, minutes=60, owner=tree["a"], actor=operator, now=NOW)
    result = compile_board_manifests(NOW)
    assert result.boards == 4 and result.changed == 4
    public = keys.public_key()
    for board in boards[:2]:
        m = decode(BoardManifest, manifest_payload(board.device_id) or b"")
        verify_board_manifest(m, public, board.device_id, NOW)
        assert [e.start for e in m.timeline][:2] == [
            dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 12, 8, 1, 0, tzinfo=dt.UTC),
        ]
        entry = m.timeline[0]
        assert entry.end - entry.start == dt.timedelta(minutes=60)
        assert [(s.kind, s.zone) for s in entry.slides] == [
            ("text", "main"),
            ("image", "main"),
            ("ticker", "ticker"),
        ]
        assert [w.model_dump() for w in m.windows] == [{"start": "05:00", "end": "22:00"}]
        assert not m.killed and m.emergency is None
    led = decode(BoardManifest, manifest_payload(boards[2].device_id) or b"")
    assert led.timeline == []  # the text and the image were made for landscape and portrait only
    other = decode(BoardManifest, manifest_payload(others[0].device_id) or b"")
    assert other.timeline == []
    # recompiling without change keeps the versions; an emergency of the commune changes them
    assert compile_board_manifests(NOW).changed == 0
    em = Emergency.objects.create(
        unit=tree["a"], title="Lũ quét", text="Sơ tán ngay", item_id="em-1", sha256="0" * 64,
        media_url="/x", duration_s=10, requested_at=NOW,
    )  # fmt: skip
    Emergency.objects.filter(pk=em.pk).update(created_at=NOW - dt.timedelta(minutes=1))
    compile_board_manifests(NOW)
    m = decode(BoardManifest, manifest_payload(boards[0].device_id) or b"")
    assert m.version == 2 and m.emergency is not None and m.emergency.title == "Lũ quét"
    verify_board_manifest(m, public, boards[0].device_id, NOW)
    assert decode(BoardManifest, manifest_payload(others[0].device_id) or b"").emergency is None
    assert BoardManifestRevision.objects.filter(device_id=boards[0].device_id).count() == 2


def test_a_schedule_outside_the_screen_on_windows_needs_an_override(
    operator: Any, approver: Any, tree: Any
) -> None:
    clock = do_create_slide(tree["a"], SlideInput("clock"), actor=operator)
    playlist = do_create_playlist(tree["a"], "Đồng hồ", [(clock, 10)], actor=operator)
    assert playlist.programme.state == Programme.State.APPROVED  # nothing to review
    do_set_screen_windows(tree["a"], [["06:00", "21:00"]], actor=approver)
    spec = _spec(tree)
    spec.times = ["23:30"]
    with pytest.raises(Refusal) as exc:
        do_schedule_playlist(spec, playlist, owner=tree["a"], actor=operator, now=NOW)
    assert exc.value.code == "guardrail_violation"
    assert "ngoài giờ bật màn hình bảng tin của Phường Hà Tu (06:00–21:00)" in exc.value.message


def test_an_emergency_reaches_the_manifests_when_it_starts_and_leaves_them_when_cancelled(
    operator: Any, tree: Any, make_boards: Any, django_capture_on_commit_callbacks: Any
) -> None:
    board = make_boards(tree["zone_a"], 1)[0]
    other = make_boards(tree["b"], 1)[0]
    compile_board_manifests()
    with django_capture_on_commit_callbacks(execute=True):
        em = Emergency.objects.create(
            unit=tree["a"], title="Cháy rừng", item_id="em-2", sha256="0" * 64, media_url="/x", duration_s=5,
            requested_at=NOW,
        )  # fmt: skip
    m = decode(BoardManifest, manifest_payload(board.device_id) or b"")
    assert m.emergency is not None and m.emergency.title == "Cháy rừng"
    assert decode(BoardManifest, manifest_payload(other.device_id) or b"").emergency is None
    with django_capture_on_commit_callbacks(execute=True):
        em.state = Emergency.State.CANCELLED
        em.save(update_fields=["state"])
    assert decode(BoardManifest, manifest_payload(board.device_id) or b"").emergency is None


def test_a_published_bulletin_becomes_a_slide_with_its_image_and_a_qr_code_to_its_public_page(
    operator: Any, tree: Any, make_boards: Any, tmp_path: Path
) -> None:
    from PIL import Image

    from loa.content.attachments import stored_path
    from loa.content.models import Attachment, Bulletin
    from loa.content.models import State as BulletinState
    from loa.media.audio import sha256_file
    from loa.media.models import MediaAsset

    b = Bulletin.objects.create(
        title="Lịch tiêm chủng mở rộng tháng 12", summary="Trạm y tế phường tiêm vắc-xin sởi cho trẻ dưới 5 tuổi.",
        origin_unit=tree["a"], state=BulletinState.PUBLISHED, produced_at=NOW, created_by=operator,
        updated_by=operator,
    )  # fmt: skip
    png = tmp_path / "anh.png"
    Image.new("RGB", (640, 480), (0, 128, 0)).save(png)
    asset = MediaAsset.objects.create(
        kind="image", sha256=sha256_file(png), mime_type="image/png", original_sha256=sha256_file(png),
        original_ext="png", unit=tree["a"],
    )  # fmt: skip
    stored_path(asset).parent.mkdir(parents=True, exist_ok=True)
    stored_path(asset).write_bytes(png.read_bytes())
    Attachment.objects.create(bulletin=b, kind="image", asset=asset, added_by=operator)
    slide = do_create_slide(tree["a"], SlideInput("bulletin", bulletin=b), actor=operator)
    assert slide.qr["mime"] == "image/png" and set(slide.renditions) == {"landscape", "portrait"}
    from loa.signage.compile import slide_json

    j = slide_json(slide, 0, 10, "landscape", {"main", "ticker", "clock"}, 1.0)
    assert j is not None and j["url"] == f"/congdan/ban-tin/{b.pk}/" and j["bulletin_id"] == str(b.pk)
    assert j["text"]["body"].startswith("Lịch tiêm chủng") and j["media"]["mime"] == "image/jpeg"

    qr = store.path_of(slide.qr["sha256"], "png")
    assert qr.exists()
    b.state = BulletinState.CANCELLED
    b.save(update_fields=["state"])
    slide.refresh_from_db()
    assert slide_json(Slide.objects.get(pk=slide.pk), 0, 10, "landscape", {"main"}, 1.0) is None


def test_the_kill_switch_of_an_area_blacks_out_its_boards_in_their_manifests(
    operator: Any, tree: Any, make_boards: Any
) -> None:
    from loa.fleet.models import KillSwitch

    board = make_boards(tree["zone_a"], 1)[0]
    other = make_boards(tree["b"], 1)[0]
    compile_board_manifests(NOW)
    assert not decode(BoardManifest, manifest_payload(board.device_id) or b"").killed
    KillSwitch.objects.create(unit=tree["a"], scope=tree["a"], engaged_at=NOW, reason="bị chiếm quyền")
    assert compile_board_manifests(NOW).changed == 1  # only the board of that area
    m = decode(BoardManifest, manifest_payload(board.device_id) or b"")
    assert m.killed and m.version == 2
    verify_board_manifest(m, keys.public_key(), board.device_id, NOW)
    assert not decode(BoardManifest, manifest_payload(other.device_id) or b"").killed


def test_the_fleets_board_changed_signal_recompiles_those_boards_after_commit(
    tree: Any, make_boards: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from loa.fleet.models import KillSwitch
    from loa.fleet.signals import send_board_changed

    board = make_boards(tree["a"], 1)[0]
    compile_board_manifests()
    with django_capture_on_commit_callbacks(execute=True):
        KillSwitch.objects.create(device=board, scope=tree["a"], engaged_at=dt.datetime.now(dt.UTC))
        send_board_changed(device_ids=[board.device_id])
    assert decode(BoardManifest, manifest_payload(board.device_id) or b"").killed
