"""On a 375-px phone in Debian's Chromium: a province editor finds communes and zones among 120+ with the
filter, saves the receivers, uploads audio for the bulletin and listens to it; every bulletin page fits the
screen (no sideways scrolling of the page)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.content.models import Bulletin
from loa.media.audio import ffmpeg_path
from loa.units.models import Kind, Level, Unit
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.loa.content.test_bulletin_browser import _sign_in, _submit, _wait_until  # type: ignore[import-not-found]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FITS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"
WIDE = """() => Array.from(document.querySelectorAll('body *'))
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 8).map((e) => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className + ' ' +
        Math.round(e.getBoundingClientRect().right))"""


def _many_communes(province: Unit) -> None:
    for i in range(120):
        c = Unit.objects.create(
            code=f"{70000 + i:05d}", name=f"Xã Thử Nghiệm {i:03d}", kind=Kind.XA, level=Level.COMMUNE,
            parent=province,
        )  # fmt: skip
        if i % 10 == 0:
            Unit.objects.create(
                code=f"{c.code}.001", name=f"Thôn Đông {i:03d}", kind=Kind.THON, level=Level.ZONE, parent=c
            )


def test_phone_receivers_picker_audio_upload_and_pages_fit(
    live_server: Any, tree: dict[str, Unit], make_user: Callable[..., User], tmp_path: Path, settings: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    _many_communes(tree["province"])
    make_user("bientap", Role.EDITOR, tree["province"])
    wav = tmp_path / "thong-bao.wav"
    subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i",
         "aevalsrc=0.2*sin(2*PI*330*t)*(0.6+0.4*sin(2*PI*3*t)):s=44100:d=4", "-c:a", "pcm_s16le", str(wav)],
        check=True, timeout=60,
    )  # fmt: skip
    base = live_server.url
    with browser_page(viewport={"width": 375, "height": 740}) as page:
        _sign_in(page, base, "bientap")
        page.goto(f"{base}/bulletins/new/")
        assert page.evaluate(FITS), page.evaluate(WIDE)
        items = page.locator("#receivers-list [data-picker-item]")
        assert items.count() > 130  # the province, 122 communes, their zones
        # diacritics-free typing finds "Phường Hà Tu" and its zone "Tổ dân phố 1"
        page.fill("#receiver-filter", "ha tu")
        visible = [
            t.strip() for t in page.locator("#receivers-list [data-picker-item]:visible").all_inner_texts()
        ]
        assert visible == ["Phường Hà Tu", "Tổ dân phố 1"], visible
        page.check(f"input[name=receivers][value='{tree['zone_a'].code}']")
        page.fill("#receiver-filter", "thu nghiem 11")
        # communes 110–119 and 011, and the zone of 110 (a zone is found by its commune's name too)
        assert page.locator("#receivers-list [data-picker-item]:visible").count() == 12
        page.click("[data-picker-all]")
        assert "Đã chọn 13" in page.inner_text("[data-picker-count]")
        page.fill("#receiver-filter", "")
        page.fill("#f-title", "Thông báo lịch tiêm phòng")
        page.fill("#f-body", "Từ 7h30 ngày 22/5 tiêm phòng dại cho chó, mèo tại nhà văn hóa.")
        _submit(page, "#btn-save")
        bulletin = Bulletin.objects.get(title="Thông báo lịch tiêm phòng")
        codes = set(bulletin.receivers.values_list("code", flat=True))
        communes = {f"{70000 + i:05d}" for i in (11, *range(110, 120))}
        assert codes == {tree["zone_a"].code, "70110.001"} | communes, codes

        # the bulletin page: upload audio, listen, use it
        assert page.evaluate(FITS), page.evaluate(WIDE)
        page.set_input_files("#upload-file", str(wav))
        page.click("#btn-upload-audio")
        # the processed upload is the bulletin's audio at once, no second click: the job's fragment says so and
        # links back (a worker), or the page reloads with it (a job that finished within the request)
        page.wait_for_selector("[data-attached], #bulletin-audio, [data-job-error]", timeout=60_000)
        assert page.locator("[data-job-error]").count() == 0, page.inner_text("[data-job-error]")
        assert page.locator("#btn-use-audio").count() == 0
        if page.locator("[data-attached]").count():
            _submit(page, "[data-attached] a")
        _wait_until(
            page,
            """() => { const a = document.getElementById('bulletin-audio');
                       return Boolean(a) && a.readyState >= 1 && a.duration > 0; }""",
            30,
        )
        duration = page.evaluate("document.getElementById('bulletin-audio').duration")
        assert 3.5 < duration < 4.5, duration
        assert "4 giây" in page.inner_text("#audio-duration")
        bulletin.refresh_from_db()
        assert bulletin.audio_asset_id is not None and bulletin.duration_s == 4

        for path in (
            "/bulletins/",
            "/bulletins/inbox/",
            "/bulletins/approvals/",
            f"/bulletins/{bulletin.pk}/edit/",
        ):
            page.goto(f"{base}{path}")
            assert page.evaluate(FITS), (path, page.evaluate(WIDE))
