"""Emergency from the console, safely: the area starts empty, a confirmation names the communes and loudspeakers
it reaches (computed by the server), the alert tone is made by the real ffmpeg and played before the message, a
tone that cannot be made does not stop the emergency (and the page and audit say so), cancel asks first, and the
state ends as finished with the time of the last repetition."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.broadcast import emergency as em
from loa.broadcast.models import Emergency
from loa.broadcast.preview import PreviewRow
from loa.fleet.models import Device
from loa.media import audio
from loa.media.services import store_root
from loa.tts.services import do_synthesize
from loa.units.models import Unit
from tests.loa.broadcast.conftest import totp_next, totp_now

TEXT = "Cảnh báo lũ quét, bà con di chuyển lên vùng cao."


@pytest.fixture
def desk(
    settings: Any,
    tmp_path: Path,
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    make_devices: Callable[[Unit, int], list[Device]],
) -> dict[str, Any]:
    settings.MEDIA_ROOT = tmp_path / "media"
    make_devices(tree["a"], 3)
    make_devices(tree["zone_a"], 2)
    make_devices(tree["b"], 4)
    leader = make_user("lanh-dao-tinh", Role.APPROVER, tree["province"])
    return {"leader": leader, "client": client_for(leader)}


def _confirm(client: Client, user: User, **extra: str) -> Any:
    form = {"unit": "06652", "text": TEXT, "repeat": "2", "step": "confirm", "devices": "5",
            "totp": totp_now(user), **extra}  # fmt: skip
    return client.post("/broadcast/emergency/", form)


def test_the_area_starts_empty_and_the_confirmation_names_what_it_reaches(desk: dict[str, Any]) -> None:
    client = desk["client"]
    html = client.get("/broadcast/emergency/").content.decode()
    select = html.split('<select id="em-unit" name="unit" required>')[1].split("</select>")[0]
    assert '<option value="">' in select and "selected" not in select  # no default area
    r = client.post("/broadcast/emergency/", {"unit": "", "text": TEXT, "repeat": "3"})
    assert r.status_code == 400 and "Chọn vùng phát." in r.content.decode()

    r = client.post("/broadcast/emergency/", {"unit": "22", "text": TEXT, "repeat": "3", "tone": "1"})
    html = r.content.decode()
    assert r.status_code == 200
    assert "Sẽ phát ngay tới Quảng Ninh: 2 xã/phường, 9 cụm loa." in html
    assert "Phát khẩn cấp tới 9 cụm loa" in html and 'name="devices" value="9"' in html
    r = client.post("/broadcast/emergency/", {"unit": "06652", "text": TEXT, "repeat": "3"})
    assert "Sẽ phát ngay tới Phường Hà Tu: 1 xã/phường, 5 cụm loa." in r.content.decode()
    assert not Emergency.objects.exists()  # nothing goes out before the confirmation

    # the area changed between the confirmation and the click: ask again with the new figures
    r = _confirm(client, desk["leader"], devices="4")
    assert "Số cụm loa của vùng phát vừa thay đổi" in r.content.decode()
    assert not Emergency.objects.exists()
    r = client.post("/broadcast/emergency/", {"unit": "06652", "text": TEXT, "repeat": "3", "step": "edit"})
    assert r.status_code == 200 and 'value="06652" selected' in r.content.decode()


def test_the_alert_tone_is_made_by_ffmpeg_and_plays_before_the_message(
    desk: dict[str, Any], tree: dict[str, Unit]
) -> None:
    r = _confirm(desk["client"], desk["leader"], tone="1")
    assert r.status_code == 302, r.content.decode()[:2000]
    e = Emergency.objects.get()
    assert e.alert_tone and not e.tone_failed
    alone = do_synthesize(TEXT, actor=desk["leader"], unit=tree["a"])
    assert e.sha256 != alone.sha256
    assert e.duration_s >= float(alone.duration_s) + 1.9  # two seconds of tone, then the message
    info = audio.probe(audio.processed_path(store_root(), e.sha256), decode=True)
    assert abs(info.duration_s - e.duration_s) < 0.2
    assert AuditEntry.objects.get(action="broadcast.emergency_started").data["tone"] is True


def test_a_tone_that_cannot_be_made_does_not_stop_the_emergency(
    desk: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(directory: Path) -> Path:
        raise subprocess.CalledProcessError(1, ["ffmpeg"])

    monkeypatch.setattr(em, "_tone_file", broken)
    r = _confirm(desk["client"], desk["leader"], tone="1")
    assert r.status_code == 302
    e = Emergency.objects.get()
    assert e.tone_failed and not e.alert_tone
    html = desk["client"].get(r["Location"]).content.decode()
    assert "Không tạo được chuông báo động: bản tin khẩn cấp đã phát không có chuông." in html
    entry = AuditEntry.objects.get(action="broadcast.emergency_started")
    assert entry.data["tone_failed"] is True and "không có chuông" in entry.message
    assert entry.data["devices"] == 5


def test_cancel_asks_first_naming_what_it_stops(desk: dict[str, Any]) -> None:
    client = desk["client"]
    r = _confirm(client, desk["leader"])
    e = Emergency.objects.get()
    html = client.get(r["Location"]).content.decode()
    assert f'action="/broadcast/emergency/{e.pk}/cancel/"' not in html  # no one-click cancel on the page
    assert f'href="/broadcast/emergency/{e.pk}/cancel/"' in html
    page = client.get(f"/broadcast/emergency/{e.pk}/cancel/").content.decode()
    assert "Lệnh hủy sẽ dừng bản tin này trên 5 cụm loa của Phường Hà Tu (1 xã/phường)." in page
    client.post(f"/broadcast/emergency/{e.pk}/cancel/", {})  # a POST without the confirmation asks again
    e.refresh_from_db()
    assert e.state == Emergency.State.ACTIVE
    # stopping an emergency item is confirmed with a TOTP code too (the next one the approver's phone shows)
    client.post(f"/broadcast/emergency/{e.pk}/cancel/", {"confirm": "1", "totp": totp_next(desk["leader"])})
    e.refresh_from_db()
    assert e.state == Emergency.State.CANCELLED


def test_the_state_ends_finished_once_no_device_can_still_play_it(desk: dict[str, Any]) -> None:
    client = desk["client"]
    _confirm(client, desk["leader"])
    e = Emergency.objects.get()
    assert "Đang phát" in client.get(f"/broadcast/emergency/{e.pk}/").content.decode()
    assert client.get(f"/api/v1/broadcast/emergencies/{e.pk}").json()["state"] == "active"
    # the command's lifetime and a full run of repetitions after it have passed: nothing can play it any more
    Emergency.objects.filter(pk=e.pk).update(requested_at=e.requested_at - dt.timedelta(hours=1))
    html = client.get(f"/broadcast/emergency/{e.pk}/").content.decode()
    assert re.search(r'data-state="finished"><strong>Đã kết thúc</strong>', html)
    assert "Hủy phát ở mọi nơi" not in html and "hx-trigger" not in html  # nothing left to watch
    polled = client.get(f"/broadcast/emergency/{e.pk}/", HTTP_HX_REQUEST="true")
    assert (
        polled.status_code == 286 and 'data-state="finished"' in polled.content.decode()
    )  # htmx stops polling
    assert client.get(f"/api/v1/broadcast/emergencies/{e.pk}").json()["state"] == "finished"


def test_the_confirmation_says_how_many_reached_clusters_are_online(
    desk: dict[str, Any], tree: dict[str, Unit]
) -> None:
    """Review 2026-12-05 item 2: 'Phát khẩn cấp tới 15 cụm loa' said nothing of all 15 being offline."""
    client = desk["client"]
    r = client.post("/broadcast/emergency/", {"unit": "06652", "text": TEXT, "repeat": "3"})
    html = r.content.decode()
    line = html.split("Đang trực tuyến: ")[1].split("</p>")[0]
    assert line.startswith(
        "0/5 cụm loa — các cụm ngoại tuyến sẽ phát khi kết nối lại nếu lệnh còn hiệu lực (15 phút"
    )
    assert '<p class="msg msg-warning">Đang trực tuyến: 0/5' in html, "none online: a warning"

    Device.objects.filter(unit__path__startswith=tree["a"].path).update(online=True)
    html = client.post(
        "/broadcast/emergency/", {"unit": "06652", "text": TEXT, "repeat": "3"}
    ).content.decode()
    assert "Đang trực tuyến: 5/5 cụm loa" in html and '<p class="msg msg-warning">Đang trực tuyến' not in html


def test_a_cancelled_emergency_shows_as_cancelled_in_the_plan_not_pending(desk: dict[str, Any]) -> None:
    """Review 2026-12-05 item 4: a cancelled emergency still read 'Chưa tới giờ: 15' in the 24-hour plan."""
    client = desk["client"]
    _confirm(client, desk["leader"])
    e = Emergency.objects.get()

    def row() -> str:
        html = client.get("/broadcast/plan/").content.decode()
        return html.split(f'data-slot="c-{e.command_id}"')[1].split("</tr>")[0]

    assert 'data-count="pending">5<' in row(), "nothing reported yet: pending"
    client.post(f"/broadcast/emergency/{e.pk}/cancel/", {"confirm": "1", "totp": totp_next(desk["leader"])})
    e.refresh_from_db()
    assert e.state == Emergency.State.CANCELLED
    cells = row()
    assert 'data-count="pending"><span data-cancelled>Đã hủy</span><' in cells, cells


def test_a_play_of_unknown_or_short_length_shows_its_start_alone() -> None:
    """Review 2026-12-05 item 4: '06/12 06:30–06:30' on /broadcast/ for a play under a minute."""
    start = dt.datetime(2026, 12, 5, 23, 30, tzinfo=dt.UTC)  # 06:30 on 06/12 in Hà Nội

    def local(seconds: float) -> str:
        row = PreviewRow(start, start + dt.timedelta(seconds=seconds), "Tin sáng", None, 4, 3, False, "")
        return str(row.as_dict()["local"])

    assert local(0) == "06/12 06:30" and local(40) == "06/12 06:30"
    assert local(600) == "06/12 06:30–06:40"


def test_a_code_retyped_after_a_refusal_records_the_speech_once(desk: dict[str, Any]) -> None:
    """Review 2026-12-05 item 7: one emergency left two identical 'Chuyển văn bản thành giọng nói … (north, 6.6
    giây)' entries: the speech was made before the fleet checked the code, so a refused code and its retry made it
    twice. The code is now checked before the speech (issue 9: the boards show the emergency while it is made); the
    audit names the voice in words."""
    client = desk["client"]
    refused = _confirm(client, desk["leader"], totp="99999999")
    assert refused.status_code == 400 and not Emergency.objects.exists()
    assert not AuditEntry.objects.filter(action="tts.synthesized").exists()  # the code is checked first now
    # a person retypes after django_otp's 1 s failure throttle has run out
    TOTPDevice.objects.get(user=desk["leader"]).throttle_reset()
    assert _confirm(client, desk["leader"]).status_code == 302
    spoken = list(AuditEntry.objects.filter(action="tts.synthesized").values_list("message", flat=True))
    assert len(spoken) == 1, spoken
    assert spoken[0].startswith("Tổng hợp giọng nói (giọng miền Bắc, "), spoken
    e = Emergency.objects.get()
    assert e.text == TEXT and e.duration_s > 1
