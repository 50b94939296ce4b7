"""Console pages for bulletins, and the one-click audio with the real TTS engine and media pipeline."""

from __future__ import annotations

import re

from loa.content.models import Bulletin
from loa.media.models import MediaAsset
from tests.loa.content.helpers import People, notice  # type: ignore[import-not-found]


def test_text_bulletin_becomes_audio_in_one_step(people: People) -> None:
    status, b = people["op_a"].post("", notice("06652", ["06652"]))
    assert status == 201
    people["op_a"].transition(b["id"], "submit")
    people["appr_a"].transition(b["id"], "approve")
    status, got = people["op_a"].post(f"/{b['id']}/audio")
    assert status == 200, got
    asset = MediaAsset.objects.get(pk=got["audio_asset_id"])
    assert asset.unit_id == people.tree["a"].pk and asset.kind == "audio"
    assert asset.duration_s and asset.duration_s > 3
    assert abs(asset.loudness_lufs - (-16)) <= 1.5  # through the media pipeline's loudness normalization
    assert got["duration_s"] == round(asset.duration_s)
    assert got["state"] == "submitted"  # new audio is a substantive change: approved → review again
    page = people["op_a"].client.get(f"/bulletins/{b['id']}/")
    assert f'src="/api/v1/media/{asset.pk}/audio"' in page.content.decode()
    audio = people["op_a"].client.get(f"/api/v1/media/{asset.pk}/audio")
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/mpeg"


def test_console_editor_library_detail_and_diff(people: People) -> None:
    client = people["op_a"].client
    client.post("/pick-unit/", {"unit": "06652"})
    assert client.get("/bulletins/new/").status_code == 200
    form = {
        "title": "Thông báo họp tổ dân phố",
        "body": "Mời các hộ dự họp lúc 19h30 tối thứ Bảy tại nhà văn hóa.",
        "field": "4",
        "content_type": "1",
        "priority": "3",
        "language": "vie",
        "receivers": ["06652.001"],
        "extra_name": ["Địa điểm"],
        "extra_value": ["Nhà văn hóa tổ 1"],
    }
    response = client.post("/bulletins/new/", form)
    assert response.status_code == 302
    b = Bulletin.objects.get(title="Thông báo họp tổ dân phố")
    assert b.extras == [{"name": "Địa điểm", "value": "Nhà văn hóa tổ 1"}]
    # a bad form comes back with a Vietnamese message and the values kept
    bad = client.post(
        f"/bulletins/{b.pk}/edit/",
        form | {"valid_from": "2030-05-02T08:00", "valid_until": "2030-05-01T08:00"},
    )
    assert bad.status_code == 400
    assert "Thời điểm hết hiệu lực phải sau thời điểm bắt đầu hiệu lực." in bad.content.decode()
    assert (
        client.post(
            f"/bulletins/{b.pk}/edit/", form | {"title": "Thông báo họp tổ dân phố (đổi giờ)"}
        ).status_code
        == 302
    )
    page = client.get(f"/bulletins/{b.pk}/?diff=2").content.decode()
    assert 'class="diff"' in page and "đổi giờ" in page and "Nguồn gốc" in page
    assert re.search(r'data-action="submit"', page)
    library = client.get("/bulletins/?q=họp&field=4&state=draft").content.decode()
    assert "Thông báo họp tổ dân phố (đổi giờ)" in library
    assert "Thông báo họp" not in client.get("/bulletins/?field=5").content.decode()
    # submit from the console; the approver sees it in the queue
    client.post(f"/bulletins/{b.pk}/transition/", {"name": "submit"})
    assert Bulletin.objects.get(pk=b.pk).state == "submitted"
    queue = people["appr_a"].client.get("/bulletins/approvals/").content.decode()
    assert "Thông báo họp tổ dân phố (đổi giờ)" in queue
    assert "Thông báo họp" not in people["appr_b"].client.get("/bulletins/approvals/").content.decode()
    # another commune gets 404 on the page and the actions
    assert people["op_b"].client.get(f"/bulletins/{b.pk}/").status_code == 404
    assert people["op_b"].client.post(f"/bulletins/{b.pk}/transition/", {"name": "cancel"}).status_code == 404
    assert Bulletin.objects.get(pk=b.pk).state == "submitted"


def test_a_validity_time_that_is_not_one_is_said_in_plain_words(people: People) -> None:
    """Review 2026-12-05 item 3: 31/02/2026 25:00 answered 'phải là thời điểm dạng ISO 8601' under a field whose
    hint says dd/mm/yyyy hh:mm."""
    client = people["op_a"].client
    client.post("/pick-unit/", {"unit": "06652"})
    form = {"title": "Thông báo lịch tiêm chủng", "body": "Mời bà con đưa trẻ đi tiêm.", "field": "4",
            "content_type": "1", "priority": "3", "language": "vie", "receivers": ["06652.001"]}  # fmt: skip
    for typed, said in (
        ("31/02/2026 25:00", "Hiệu lực từ: Ngày 31/02/2026 không có trong lịch."),
        ("31/02/2026", "Hiệu lực từ: Ngày 31/02/2026 không có trong lịch."),
        ("01/03/2026 25:00", "Hiệu lực từ: Giờ 25:00 không hợp lệ."),
        ("mai 8 giờ", "Hiệu lực từ: cần dạng dd/mm/yyyy hh:mm."),
    ):
        r = client.post("/bulletins/new/", form | {"valid_from": typed})
        page = r.content.decode()
        assert r.status_code == 400 and said in page and "ISO" not in page, (typed, page[:300])
    assert not Bulletin.objects.filter(title="Thông báo lịch tiêm chủng").exists()


def test_the_approvals_tab_is_only_for_those_who_approve(people: People) -> None:
    # an operator who approves nothing was offered "Chờ tôi duyệt", an always-empty list
    operator = people["op_a"].client.get("/bulletins/").content.decode()
    approver = people["appr_a"].client.get("/bulletins/").content.decode()
    tabs = re.compile(r'<nav class="content-tabs".*?</nav>', re.S)
    assert "/bulletins/approvals/" not in tabs.search(operator).group(0)  # type: ignore[union-attr]
    assert "/bulletins/approvals/" in tabs.search(approver).group(0)  # type: ignore[union-attr]
