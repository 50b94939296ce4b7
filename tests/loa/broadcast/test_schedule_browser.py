"""Scheduling a published bulletin in Debian's Chromium, on a desk screen (1366×900) and a phone (390×844): the
operator opens "Lên lịch phát" on the bulletin, keeps "Mỗi ngày" and types "06:00 và 17:30"; the htmx preview
shows the next plays and the verdict; saving creates a schedule whose compiled manifests hold the bulletin's
audio at 06:00 and 17:30. The page does not scroll sideways; "Nâng cao" stays closed.

Screenshots go to ``$LOA_SCREENSHOT_DIR/schedule`` when that variable is set (else the test's tmp folder)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.broadcast.compile import compile_manifests
from loa.broadcast.models import DeviceManifest, ManifestContent, Schedule
from loa.broadcast.recurrence import LOCAL_TZ
from loa.fleet.models import Device
from loa.units.models import Unit
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.loa.content.test_bulletin_browser import _sign_in, _submit, _wait_until  # type: ignore[import-not-found]
from tests.loa.fleet.helpers import publish_province_bulletin_with_tts  # type: ignore[import-not-found]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FITS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


def _shots(tmp_path: Path) -> Path:
    root = os.environ.get("LOA_SCREENSHOT_DIR")
    folder = Path(root) / "schedule" if root else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize(("width", "height"), [(1366, 900), (390, 844)])
def test_the_officer_schedules_a_published_bulletin(
    live_server: Any,
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    make_devices: Callable[[Unit, int], list[Device]],
    width: int,
    height: int,
    tmp_path: Path,
) -> None:
    bulletin = publish_province_bulletin_with_tts(tree, make_user, client_for)
    devices = make_devices(tree["a"], 2)
    make_user("op_a", Role.COMMUNE_OPERATOR, tree["a"])
    shots = _shots(tmp_path)
    base = live_server.url
    with browser_page(viewport={"width": width, "height": height}) as page:
        _sign_in(page, base, "op_a")
        page.goto(f"{base}/bulletins/{bulletin.pk}/")
        _submit(page, "#schedule-link")
        assert page.input_value("#source") == f"bulletin:{bulletin.pk}"
        # the preview comes with the page: the default times, the verdict
        _wait_until(page, "() => document.querySelectorAll('#next-plays li').length >= 4", 15)
        assert not page.locator("details.advanced").evaluate("(d) => d.open")
        assert page.evaluate(FITS)
        page.screenshot(path=str(shots / f"1-form-{width}.png"), full_page=True)
        page.fill("#times", "06:00 và 17:30")
        page.click("#btn-preview")
        _wait_until(page, "() => document.querySelectorAll('#next-plays li').length >= 4", 15)
        assert page.get_attribute("#preview-body", "data-verdict") == "ok"
        assert "Trong giới hạn phát của Phường Hà Tu" in page.inner_text("#schedule-preview")
        first = page.locator("#next-plays li").first.inner_text()
        assert "06:00" in first or "17:30" in first, first
        assert page.evaluate(FITS)
        page.screenshot(path=str(shots / f"2-preview-{width}.png"), full_page=True)
        _submit(page, "#btn-save")
        assert page.url.rstrip("/").endswith("/broadcast"), page.url
        page.screenshot(path=str(shots / f"3-saved-{width}.png"), full_page=True)
        # the console's icon exists (no /favicon.ico miss logged as a warning on every first visit)
        icon = page.evaluate(
            "async () => { const l = document.querySelector('link[rel=icon]'); if (!l) return null;"
            " const r = await fetch(l.href); return [r.status, r.headers.get('content-type')]; }"
        )
        assert icon is not None and icon[0] == 200 and icon[1].startswith("image/"), icon
        # cancelling a schedule: a destructive button on one line, and a question naming the schedule first
        cancel = page.locator("[data-action=cancel-schedule]")
        lines = cancel.evaluate(
            "(b) => { const r = document.createRange(); r.selectNodeContents(b);"
            " return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size; }"
        )
        assert lines == 1, "the cancel button's word is not broken over two lines"
        assert "danger" in (cancel.get_attribute("class") or "")
        asked: list[str] = []
        page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
        cancel.click()
        page.wait_for_timeout(300)
        assert asked and bulletin.title in asked[0] and "không phát nữa" in asked[0], asked
        assert Schedule.objects.get().state == Schedule.State.ACTIVE, (
            "dismissing the question cancels nothing"
        )
    schedule = Schedule.objects.get()
    assert schedule.times == ["06:00", "17:30"] and schedule.kind == "daily"
    compile_manifests()
    for device in devices:
        content = ManifestContent.objects.get(digest=DeviceManifest.objects.get(device=device).content_hash)
        at = {
            f"{dt.datetime.fromisoformat(e['start']).astimezone(LOCAL_TZ):%H:%M}"
            for e in content.entries
            if e.get("sha256") == bulletin.audio_asset.sha256
        }
        assert at == {"06:00", "17:30"}


def test_cancelling_a_schedule_asks_first(
    live_server: Any,
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    make_devices: Callable[[Unit, int], list[Device]],
) -> None:
    bulletin = publish_province_bulletin_with_tts(tree, make_user, client_for)
    make_devices(tree["a"], 1)
    operator = make_user("op_a", Role.COMMUNE_OPERATOR, tree["a"])
    form = {"source": f"bulletin:{bulletin.pk}", "title": "", "when": "daily", "times": "06:00",
            "plays": "1", "gap_min": "5", "targets": ["06652"]}  # fmt: skip
    assert client_for(operator).post("/broadcast/schedules/new/", form).status_code == 302
    base = live_server.url
    with browser_page(viewport={"width": 390, "height": 844}) as page:
        _sign_in(page, base, "op_a")
        page.goto(f"{base}/broadcast/")
        # on the phone's cards, a cell with nothing to say is not shown as an empty "Lưu ý:" line
        empty = page.evaluate(
            "() => [...document.querySelectorAll('main table.table td')]"
            ".filter((td) => td.offsetParent !== null && !td.textContent.trim()).length"
        )
        assert empty == 0
        page.once("dialog", lambda d: d.accept())
        _submit(page, "[data-action=cancel-schedule]")
        assert f"Đã hủy lịch “{bulletin.title}”" in page.inner_text("main")
        assert page.evaluate(FITS)
    assert Schedule.objects.get().state == Schedule.State.CANCELLED
