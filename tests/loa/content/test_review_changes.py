"""Any change of the text or audio of a bulletin waiting for approval (or approved) returns it to review; the
approver sees what changed since it was sent — the text diff and both audios with players — and a decision on
a version the approver has not seen is refused."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from loa.audit.models import AuditEntry
from loa.content.models import Bulletin, State
from loa.media.audio import ffmpeg_path
from loa.media.models import MediaAsset
from loa.media.services import do_ingest_file
from tests.loa.content.helpers import People, notice  # type: ignore[import-not-found]

pytestmark = pytest.mark.django_db


def _wav(folder: Path, name: str, hz: int) -> Path:
    out = folder / name
    subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i",
         f"aevalsrc=0.2*sin(2*PI*{hz}*t):s=44100:d=2", "-c:a", "pcm_s16le", str(out)],
        check=True, timeout=60,
    )  # fmt: skip
    return out


@pytest.fixture
def submitted(settings: Any, tmp_path: Path, people: People) -> dict[str, Any]:
    settings.MEDIA_ROOT = tmp_path / "media"
    a = people.tree["a"]
    first = do_ingest_file(_wav(tmp_path, "loi-moi-hop.wav", 330), unit=a, actor=people["op_a"].user)
    second = do_ingest_file(_wav(tmp_path, "loi-moi-hop-2.wav", 550), unit=a, actor=people["op_a"].user)
    status, data = people["op_a"].post("", notice(a.code, [a.code]))
    assert status == 201, data
    b = Bulletin.objects.get(pk=data["id"])
    op = people["op_a"].client
    assert op.post(f"/bulletins/{b.pk}/audio/set/", {"asset_id": str(first.pk)}).status_code == 302
    assert op.post(f"/bulletins/{b.pk}/transition/", {"name": "submit"}).status_code == 302
    b.refresh_from_db()
    assert b.state == State.SUBMITTED
    return {"b": b, "first": first, "second": second}


def test_replacing_the_audio_of_a_bulletin_waiting_for_approval_returns_it_to_review(
    submitted: dict[str, Any], people: People
) -> None:
    b: Bulletin = submitted["b"]
    approver = people["appr_a"].client
    page = approver.get(f"/bulletins/{b.pk}/").content.decode()
    assert 'id="review-changes"' not in page  # nothing changed since it was sent
    seen = b.version

    r = people["op_a"].client.post(f"/bulletins/{b.pk}/audio/set/", {"asset_id": str(submitted["second"].pk)})
    assert r.status_code == 302
    b.refresh_from_db()
    assert b.state == State.SUBMITTED and b.version == seen + 1
    assert AuditEntry.objects.filter(action="bulletin.return_to_review", object_id=str(b.pk)).exists()
    messages = people["op_a"].client.get(f"/bulletins/{b.pk}/").content.decode()
    assert "Nội dung thay đổi nên bản tin phải được duyệt lại." in messages

    page = approver.get(f"/bulletins/{b.pk}/").content.decode()
    section = page.split('id="review-changes"')[1].split("</section>")[0]
    assert f"phiên bản {seen} → {seen + 1}" in section
    players = re.findall(r'<audio controls preload="none" src="([^"]+)" data-version="(\d+)"', section)
    assert players == [
        (f"/api/v1/media/{submitted['first'].pk}/audio", str(seen)),
        (f"/api/v1/media/{submitted['second'].pk}/audio", str(seen + 1)),
    ]
    for url, _number in players:  # the approver can actually listen to both
        assert approver.get(url).status_code in (200, 206)
    # the text comparison names the audio and the communes, in Vietnam time: no ids, codes or ISO timestamps
    # (it read "Tệp âm thanh: 3 → 5", "Địa bàn nhận: 06652", "2026-12-05T21:53:08.478297+00:00")
    text = re.sub(r"<[^>]+>", "", section).replace("&nbsp;", " ")
    first_name, second_name = submitted["first"].original_name, submitted["second"].original_name
    assert f"Tệp âm thanh: {first_name} (2 giây)" in text and f"Tệp âm thanh: {second_name} (2 giây)" in text
    assert f"Tệp âm thanh: {submitted['second'].pk}" not in text
    assert f"Địa bàn nhận: {people.tree['a'].name}" in text and people.tree["a"].code not in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:", text)

    # an approval of the version the approver saw before the change is refused; of the current one it passes
    r = approver.post(
        f"/bulletins/{b.pk}/transition/", {"name": "approve", "version": str(seen)}, follow=True
    )
    assert "Bản tin vừa được sửa thành phiên bản" in r.content.decode()
    b.refresh_from_db()
    assert b.state == State.SUBMITTED
    approver.post(f"/bulletins/{b.pk}/transition/", {"name": "approve", "version": str(b.version)})
    b.refresh_from_db()
    assert b.state == State.APPROVED


def test_a_text_change_while_waiting_shows_the_approver_the_text_diff(
    submitted: dict[str, Any], people: People
) -> None:
    b: Bulletin = submitted["b"]
    status, data = people["op_a"].patch(f"/{b.pk}", {"body": "Lịch tiêm đổi sang 8h00 ngày 23/5."})
    assert status == 200, data
    page = people["appr_a"].get(f"/{b.pk}")[1]
    assert page["state"] == "submitted"
    html = people["appr_a"].client.get(f"/bulletins/{b.pk}/").content.decode()
    section = html.split('id="review-changes"')[1].split("</section>")[0].replace("&nbsp;", " ")
    assert "8h00 ngày 23/5" in section and "<audio" not in section  # the audio did not change
    assert AuditEntry.objects.filter(action="bulletin.return_to_review", object_id=str(b.pk)).exists()
    assert MediaAsset.objects.filter(pk=submitted["first"].pk).exists()


def test_the_api_refuses_a_decision_on_a_version_the_approver_has_not_seen(
    submitted: dict[str, Any], people: People
) -> None:
    b: Bulletin = submitted["b"]
    seen = b.version
    assert people["op_a"].patch(f"/{b.pk}", {"title": "Thông báo lịch tiêm phòng (đổi giờ)"})[0] == 200
    status, body = people["appr_a"].post(f"/{b.pk}/transitions", {"name": "approve", "version": seen})
    assert (status, body["error"]["code"]) == (409, "bulletin_changed")
    status, body = people["appr_a"].post(f"/{b.pk}/transitions", {"name": "approve", "version": seen + 1})
    assert status == 200 and body["state"] == "approved"


def test_version_lines_read_in_the_officers_words(people: People) -> None:
    from loa.content.versions import snapshot_lines

    a = people.tree["a"]
    lines = snapshot_lines({"produced_at": "2026-12-05T21:53:08.478297+00:00", "priority": 3, "is_relay": False,
                            "audio_asset_id": None, "receivers": [a.code], "language": "vie"})  # fmt: skip
    assert "Thời gian sản xuất: 06/12/2026 04:53" in lines  # Vietnam time, not the stored UTC ISO
    assert "Mức độ ưu tiên: Thông thường" in lines and "Ngôn ngữ: Tiếng Việt" in lines
    assert "Tệp âm thanh: không có" in lines and "Tiếp âm: không" in lines
    assert f"Địa bàn nhận: {a.name}" in lines
