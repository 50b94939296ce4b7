"""The speech previewed in the editor ("Nghe thử") is kept when the bulletin is saved, if "read as" is still
the text it was made from; speech clips are named after their bulletin in the media library."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from loa.content.models import Bulletin
from loa.media.models import MediaAsset
from tests.loa.content.helpers import People  # type: ignore[import-not-found]

pytestmark = pytest.mark.django_db

TITLE = "Thông báo lịch tiêm phòng dại đợt 2"
READ_AS = "Thông báo lịch tiêm phòng dại đợt hai. Từ bảy giờ ba mươi sáng thứ Bảy, tại nhà văn hóa tổ một."
FORM = {
    "title": TITLE,
    "body": "Từ 7h30 sáng thứ Bảy, tại nhà văn hóa tổ 1.",
    "read_as": READ_AS,
    "field": "4",
    "content_type": "1",
    "priority": "3",
    "language": "vie",
    "receivers": ["06652"],
}


@pytest.fixture
def op(settings: Any, tmp_path: Path, people: People) -> Client:
    settings.MEDIA_ROOT = tmp_path / "media"
    client: Client = people["op_a"].client
    client.post("/pick-unit/", {"unit": "06652"})
    return client


def _preview(client: Client, read_as: str = READ_AS) -> dict[str, Any]:
    r = client.post(
        "/api/v1/tts/preview",
        json.dumps({"unit": "06652", "text": FORM["body"], "read_as": read_as, "title": TITLE}),
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    data: dict[str, Any] = r.json()
    return data


def test_the_previewed_speech_is_kept_on_save_and_named_after_the_bulletin(op: Client) -> None:
    clip = _preview(op)
    r = op.post("/bulletins/new/", FORM | {"tts_clip": str(clip["id"])}, follow=True)
    html = r.content.decode()
    b = Bulletin.objects.get(title=TITLE)
    assert b.audio_asset_id == clip["media_asset_id"]
    assert b.duration_s == max(1, round(clip["duration_s"]))
    assert "Bản tin chưa có âm thanh." not in html and 'id="bulletin-audio"' in html
    assert "Đã lưu bản nháp, kèm âm thanh đã nghe thử." in html
    assert MediaAsset.objects.get(pk=b.audio_asset_id).original_name == f"Giọng đọc – {TITLE}.wav"


def test_a_preview_of_older_text_is_not_kept_and_the_page_says_so(op: Client) -> None:
    clip = _preview(op, read_as="Thông báo cũ, đọc trước khi sửa.")
    r = op.post("/bulletins/new/", FORM | {"tts_clip": str(clip["id"])}, follow=True)
    b = Bulletin.objects.get(title=TITLE)
    assert b.audio_asset_id is None
    assert "đã đổi sau khi nghe thử" in r.content.decode()


def test_make_audio_names_the_clip_after_the_bulletin(op: Client) -> None:
    op.post("/bulletins/new/", FORM)
    b = Bulletin.objects.get(title=TITLE)
    assert op.post(f"/bulletins/{b.pk}/audio/").status_code == 302
    b.refresh_from_db()
    assert b.audio_asset_id is not None
    assert MediaAsset.objects.get(pk=b.audio_asset_id).original_name == f"Giọng đọc – {TITLE}.wav"
    assert not MediaAsset.objects.filter(original_name__startswith="tts-").exists()
