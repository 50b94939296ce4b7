"""A commune's public world for the public app's tests: bulletins in every state, made through the bulletins API by
the people who really do it (operator writes, approver approves, operator publishes), with audio and an image on
the published one; a schedule of an approved programme and one of a pending programme; an emergency bulletin.

Every bulletin carries the same secret author e-mail, and the unpublished ones carry a marker title that must never
show on a public page or endpoint."""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils import timezone

from loa.broadcast.models import ItemKind, Programme, ProgrammeItem, Schedule
from loa.content.attachments import do_ingest_attachment
from loa.content.models import Bulletin
from loa.content.workflow import expire_due
from loa.media.audio import ffmpeg_path
from loa.media.services import do_ingest_file
from tests.loa.content.helpers import People, notice  # type: ignore[import-not-found]

SECRET_EMAIL = "tac-gia-bi-mat@so-vhttdl.gov.vn"
SECRET_READ_AS = "DOC-LA-NOI-BO-7731"
SECRET_EXTRA = "GHI-CHU-NOI-BO-5512"
PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
# the titles of bulletins in each non-public state
HIDDEN = {
    "draft": "BẢN NHÁP KHÔNG CÔNG KHAI",
    "submitted": "CHỜ DUYỆT KHÔNG CÔNG KHAI",
    "approved": "ĐÃ DUYỆT CHƯA PHÁT HÀNH",
    "cancelled": "ĐÃ HỦY KHÔNG CÔNG KHAI",
    "expired": "HẾT HIỆU LỰC KHÔNG CÔNG KHAI",
    "lapsed": "QUÁ HẠN CHƯA CHẠY TÁC VỤ",
    "pending_programme": "CHƯƠNG TRÌNH CHƯA DUYỆT",
}
OTHER_COMMUNE = "Tỉnh gửi riêng phường Cao Xanh"  # published, public on its own page, not in commune A's feed
PUBLISHED = "Thông báo lịch tiêm phòng dại công khai"
PROVINCE_PUBLISHED = "Tỉnh thông báo mùa mưa bão"
EMERGENCY = "Cảnh báo lũ quét khẩn cấp"
APPROVED_PLAY = "Bản tin buổi sáng đã duyệt"


@dataclass
class PublicWorld:
    people: People
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def commune(self) -> str:
        return str(self.people.tree["a"].code)


def tone(directory: Path) -> Path:
    out = directory / "thong-bao.wav"
    subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i",
         "aevalsrc=0.2*sin(2*PI*330*t)*(0.6+0.4*sin(2*PI*3*t)):s=44100:d=2", "-c:a", "pcm_s16le", str(out)],
        check=True, timeout=60,
    )  # fmt: skip
    return out


def _create(people: People, who: str, origin: str, receivers: list[str], title: str, **extra: Any) -> int:
    body = notice(origin, receivers, title=title, author_email=SECRET_EMAIL, read_as=SECRET_READ_AS,
                  extras=[{"name": "ghi chú", "value": SECRET_EXTRA}], **extra)  # fmt: skip
    status, data = people[who].post("", body)
    assert status == 201, data
    return int(data["id"])


def _go(people: People, bid: int, *steps: tuple[str, str]) -> None:
    for who, name in steps:
        status, data = people[who].transition(
            bid, name, "ghi chú của người duyệt" if name == "reject" else ""
        )
        assert status == 200, (name, data)


SUBMIT, APPROVE, PUBLISH = ("op_a", "submit"), ("appr_a", "approve"), ("op_a", "publish")
P_SUBMIT, P_APPROVE, P_PUBLISH = ("editor_p", "submit"), ("appr_p", "approve"), ("editor_p", "publish")


def build(people: People, tmp: Path) -> PublicWorld:
    w = PublicWorld(people)
    a, b, province = people.tree["a"].code, people.tree["b"].code, people.tree["province"].code
    op_a = people["op_a"].user
    soon = (timezone.now() + dt.timedelta(days=2)).isoformat()

    # the published one, with its audio and an image
    pub = _create(people, "op_a", a, [a], PUBLISHED, valid_until=soon)
    asset = do_ingest_file(tone(tmp), unit=people.tree["a"], actor=op_a, original_name="thong-bao.wav")
    status, data = people["op_a"].patch(f"/{pub}", {"audio_asset_id": asset.pk})
    assert status == 200, data
    png = tmp / "anh.png"
    png.write_bytes(PNG_1x1)
    image = do_ingest_attachment(png, unit=people.tree["a"], actor=op_a, original_name="anh.png")
    status, data = people["op_a"].post(
        f"/{pub}/attachments", {"kind": "image", "asset_id": image.pk, "title": "Ảnh tiêm phòng"}
    )
    assert status in (200, 201), data
    _go(people, pub, SUBMIT, APPROVE, PUBLISH)
    w.ids["published"] = pub

    # the province's bulletin to the whole province, and its emergency bulletin
    w.ids["province"] = _create(people, "editor_p", province, [province], PROVINCE_PUBLISHED)
    _go(people, w.ids["province"], P_SUBMIT, P_APPROVE, P_PUBLISH)
    w.ids["emergency"] = _create(people, "editor_p", province, [province], EMERGENCY, priority=1)
    _go(people, w.ids["emergency"], P_SUBMIT, P_APPROVE, P_PUBLISH)
    # a province bulletin sent to commune B only: not in A's feed (but public on its own page)
    w.ids["other_commune"] = _create(people, "editor_p", province, [b], OTHER_COMMUNE)
    _go(people, w.ids["other_commune"], P_SUBMIT, P_APPROVE, P_PUBLISH)

    # every state that is not public
    w.ids["draft"] = _create(people, "op_a", a, [a], HIDDEN["draft"])
    w.ids["submitted"] = _create(people, "op_a", a, [a], HIDDEN["submitted"])
    _go(people, w.ids["submitted"], SUBMIT)
    w.ids["approved"] = _create(people, "op_a", a, [a], HIDDEN["approved"])
    _go(people, w.ids["approved"], SUBMIT, APPROVE)
    w.ids["cancelled"] = _create(people, "op_a", a, [a], HIDDEN["cancelled"], audio_asset_id=asset.pk)
    _go(people, w.ids["cancelled"], SUBMIT, APPROVE, PUBLISH, ("op_a", "cancel"))
    for key in ("expired", "lapsed"):
        w.ids[key] = _create(people, "op_a", a, [a], HIDDEN[key], valid_until=soon, audio_asset_id=asset.pk)
        _go(people, w.ids[key], SUBMIT, APPROVE, PUBLISH)
    # validity over: one expired by the periodic job, one not yet reached by it (still "published" in the table)
    past = timezone.now() - dt.timedelta(minutes=5)
    Bulletin.objects.filter(pk__in=[w.ids["expired"], w.ids["lapsed"]]).update(valid_until=past)
    assert expire_due(ids=[w.ids["expired"]]) == 1
    assert Bulletin.objects.get(pk=w.ids["lapsed"]).state == "published"

    # today on the loudspeakers: an approved programme at 00:00 and 23:59 local, and a pending one
    for title, state in (
        (APPROVED_PLAY, Programme.State.APPROVED),
        (HIDDEN["pending_programme"], Programme.State.PENDING),
    ):
        programme = Programme.objects.create(unit=people.tree["a"], title=title, state=state)
        ProgrammeItem.objects.create(programme=programme, position=0, kind=ItemKind.AUDIO, title=title,
                                     sha256="a" * 64, media_url="/media/files/x.mp3", duration_s=60.0)  # fmt: skip
        schedule = Schedule.objects.create(unit=people.tree["a"], programme=programme, title=f"Lịch {title}",
                                           kind="daily", times=["00:00", "23:58"])  # fmt: skip
        schedule.target_units.set([people.tree["zone_a"]])
    return w
