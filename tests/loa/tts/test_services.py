"""do_synthesize and the abbreviation table, against the real engine, ffmpeg and the database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.media.models import MediaAsset
from loa.media.services import asset_file_path
from loa.tts import services
from loa.tts.engines import EspeakNgEngine, TtsError
from loa.tts.models import Abbreviation, SpeechClip
from loa.units.models import Unit
from tests.loa.tts.helpers import measure_mp3  # type: ignore[import-not-found]

NOTICE = "UBND xã thông báo: ngày 22/5, từ 7h-11h tiêm phòng dại cho chó, mèo tại nhà văn hóa thôn 3."


@pytest.fixture
def editor(tree: dict[str, Unit], make_user: Callable[..., User]) -> User:
    return make_user("bien-tap", Role.EDITOR, tree["a"])


def speech_format(path: Path) -> tuple[int, int]:
    """(sample rate, bit rate) of an MP3, by ffprobe."""
    import subprocess

    out = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=sample_rate,bit_rate",
         "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout.strip()  # fmt: skip
    rate, bitrate = out.split(",")
    return int(rate), int(bitrate)


def test_admin_entries_extend_and_override_the_bundled_table(db: Any) -> None:
    assert (
        services.normalize("Họp BCĐ 389 và UBND")
        == "Họp ban chỉ đạo ba trăm tám mươi chín và ủy ban nhân dân"
    )
    Abbreviation.objects.create(text="BCĐ 389", reading="ban chỉ đạo ba tám chín")
    Abbreviation.objects.create(text="UBND", reading="Ủy ban nhân dân")
    Abbreviation.objects.create(text="HTX", reading="không dùng", active=False)
    table = services.abbreviations()
    assert table["UBND"] == "Ủy ban nhân dân" and table["HTX"] == "hợp tác xã"
    assert services.abbreviations(include_db=False)["UBND"] == "ủy ban nhân dân"
    assert services.normalize("Họp BCĐ 389 và UBND, HTX") == (
        "Họp ban chỉ đạo ba tám chín và Ủy ban nhân dân, hợp tác xã"
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [("", "text_empty"), ("   \n ", "text_empty"), (None, "text_empty"), ("a\x00b", "text_invalid"),
     ("x" * 5001, "text_too_long")],
)  # fmt: skip
def test_bad_text_is_refused_with_a_vietnamese_message(db: Any, text: Any, code: str) -> None:
    with pytest.raises(TtsError) as err:
        services.normalize(text)
    assert err.value.code == code
    assert err.value.message[0].isupper() and err.value.message.endswith(".")


def test_the_length_limit_is_a_setting(db: Any, settings: Any) -> None:
    settings.LOA_TTS_MAX_CHARS = 20
    assert services.normalize("x" * 20) == "x" * 20
    with pytest.raises(TtsError) as err:
        services.normalize("x" * 21)
    assert "vượt giới hạn 20 ký tự" in err.value.message


def test_do_synthesize_stores_a_processed_clip_and_audits_it(tree: dict[str, Unit], editor: User) -> None:
    before = AuditEntry.objects.count()
    clip = services.do_synthesize(NOTICE, "central", 150, actor=editor, unit=tree["a"])
    assert clip.read_as.startswith("ủy ban nhân dân xã thông báo: ngày hai mươi hai tháng năm, từ bảy giờ")
    assert clip.text == NOTICE and clip.voice == "central" and clip.speed == 150
    assert clip.engine == "espeak-ng" and clip.unit == tree["a"] and clip.created_by == editor
    path = services.clip_file(clip)
    assert path.is_file() and path.suffix == ".mp3" and clip.sha256 in path.name
    channels, duration, lufs = measure_mp3(path)
    assert channels == 1
    assert abs(duration - clip.duration_s) < 0.2 and duration > 3
    assert abs(lufs - (-16.0)) <= 1.0  # the media pipeline's target, measured independently
    # the speech format (ADR 0019): 22.05 kHz, 48 kbit/s, a third of the device format's bytes
    assert speech_format(path) == (22050, 48000)
    asset = MediaAsset.objects.get(pk=int(clip.media_asset_id))
    assert asset.unit == tree["a"] and asset.sha256 == clip.sha256 and asset_file_path(asset) == path
    entries = list(AuditEntry.objects.order_by("pk")[before:])
    assert [e.action for e in entries] == ["media.ingested", "tts.synthesized"]
    entry = entries[-1]
    assert entry.object_id == str(clip.pk) and entry.unit_code == tree["a"].code
    assert entry.data["sha256"] == clip.sha256 and entry.data["media_asset_id"] == asset.pk


def test_the_editor_corrected_read_as_is_spoken_instead(tree: dict[str, Unit], editor: User) -> None:
    clip = services.do_synthesize(
        "Xã Hà Tu", "north", 140, actor=editor, unit=tree["a"], read_as="Xã Hà Tu ơi"
    )
    assert clip.read_as == "Xã Hà Tu ơi" and clip.text == "Xã Hà Tu"
    only = services.do_synthesize("", None, None, actor=editor, read_as="Chỉ có phần đọc là")
    assert only.read_as == only.text == "Chỉ có phần đọc là" and only.unit is None


def test_same_text_same_voice_gives_the_same_content_address(tree: dict[str, Unit], editor: User) -> None:
    a = services.do_synthesize("Thông báo thử", "north", 140, actor=editor, unit=tree["a"])
    b = services.do_synthesize("Thông báo thử", "north", 140, actor=editor, unit=tree["a"])
    assert a.sha256 == b.sha256 and services.clip_file(a) == services.clip_file(b)
    assert a.media_asset_id == b.media_asset_id and MediaAsset.objects.count() == 1


class _BrokenEngine:
    name = "broken"

    def synthesize(self, text: str, voice: str, speed: int, *, out_dir: Path | None = None) -> Path:
        assert out_dir is not None
        bad = out_dir / "bad.wav"
        bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEgarbage")
        return bad


@pytest.mark.parametrize(
    ("engine", "kwargs", "code"),
    [(EspeakNgEngine(timeout_s=0.01), {"text": " ".join([NOTICE] * 40)}, "tts_timeout"),  # ~3 min of speech
     (_BrokenEngine(), {}, "not_audio"),
     (None, {"voice": "hue"}, "voice_unknown"), (None, {"speed": 500}, "speed_out_of_range"),
     (None, {"text": ""}, "text_empty")],
)  # fmt: skip
def test_a_failed_synthesis_leaves_no_row_no_audit_and_no_file(
    tree: dict[str, Unit],
    editor: User,
    settings: Any,
    engine: Any,
    kwargs: dict[str, Any],
    code: str,
    tmp_path: Path,
) -> None:
    settings.MEDIA_ROOT = (
        tmp_path / "media"
    )  # a store of this test's own: the other test worker writes to the shared one
    before = AuditEntry.objects.count()
    store = Path(settings.MEDIA_ROOT) / "audio"
    files_before = sorted(p for p in store.rglob("*") if p.is_file()) if store.exists() else []
    args: dict[str, Any] = {"text": NOTICE, "voice": "north", "speed": 140} | kwargs
    with pytest.raises(TtsError) as err:
        services.do_synthesize(args["text"], args["voice"], args["speed"], actor=editor, unit=tree["a"],
                               engine=engine)  # fmt: skip
    assert err.value.code == code and err.value.message
    assert SpeechClip.objects.count() == 0 and MediaAsset.objects.count() == 0
    assert AuditEntry.objects.count() == before
    files_after = sorted(p for p in store.rglob("*") if p.is_file()) if store.exists() else []
    assert files_after == files_before


def test_the_length_refusal_reads_as_one_sentence(db: Any) -> None:
    """Review 2026-12-05 item 3: 'dài 10.079 ký tự. vượt giới hạn' (the thousands' dots replaced the comma too)."""
    with pytest.raises(TtsError) as err:
        services.normalize("x" * 10079)
    assert err.value.message == (
        "Văn bản cần đọc dài 10.079 ký tự, vượt giới hạn 5.000 ký tự. Hãy chia thành nhiều bản tin ngắn hơn."
    )
