"""A commune officer's day, walked in Debian's Chromium on a desk screen (1366×900) and on a phone (390×844), with
the live server, the gateway, a real Mosquitto and five simulated loudspeaker clusters of the commune (issue 19,
"Done means"):

1. the operator types a notice, listens to the speech preview, saves it (the audio is attached) and submits it;
2. the commune's approver, who has no authenticator yet, enrols one at sign-in, approves and publishes it;
3. the operator opens "Lên lịch phát" on it and schedules it with the simple form, "Mỗi ngày" at the next minute;
4. while that minute comes, the operator sends it with "Phát ngay"; putting typed text on air is refused (typed
   text never plays directly, docs/adr/0007-only-approved-content-reaches-a-loudspeaker.md) and nothing is sent;
   the province publishes a priority bulletin to the commune, which plays there by itself;
5. the clusters play it at the scheduled minute, and the proof of play shows planned = played for that slot; the
   "Phát ngay" and the province's bulletin show in the commune's plan and play log with their starters.

A screenshot per step goes to ``$LOA_SCREENSHOT_DIR/officer-day/<width>/`` when that variable is set (else to the
test's tmp folder); docs/broadcast.md says so."""

from __future__ import annotations

import base64
import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django_otp.oath import totp

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.broadcast import handoffs
from loa.broadcast.models import Schedule
from loa.broadcast.recurrence import LOCAL_TZ
from loa.broadcast.services import do_set_guardrails
from loa.content.models import BroadcastHandoff, Bulletin, Priority, State
from loa.fleet import broker
from loa.fleet.models import Command, PlayLog
from loa.fleet.services import credentials_for, do_provision_device
from loa.units.models import Unit
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.loa.broadcast.conftest import running_fleet  # type: ignore[import-not-found]
from tests.loa.content.test_bulletin_browser import (  # type: ignore[import-not-found]
    _api_status,
    _sign_in,
    _submit,
    _wait_until,
)

pytestmark = [pytest.mark.browser, pytest.mark.mqtt, pytest.mark.django_db(transaction=True)]

TITLE = "Thông báo tiêm phòng cho đàn gia súc"
BODY = "Ủy ban nhân dân phường thông báo: sáng thứ bảy tiêm phòng lở mồm long móng tại nhà văn hóa tổ một."
CLUSTERS = 5  # three in the commune, two in its Tổ dân phố 1
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"
LEAD_S = 25  # the scheduled minute is at least this far ahead: saving, compiling and the manifests reach the clusters


@pytest.fixture
def clusters(
    tree: dict[str, Unit], transactional_db: None, mosquitto: broker.EmbeddedBroker
) -> Iterator[dict[str, Any]]:
    creds, ids = [], []
    for key, n in (("a", 3), ("zone_a", 2)):
        for i in range(n):
            device, password = do_provision_device(tree[key], actor=None, serial=f"DAY-{key}-{i}")
            device.name = f"Cụm loa {i + 1} {tree[key].name}"
            device.save(update_fields=["name"])
            creds.append(credentials_for(device, password))
            ids.append(device.device_id)
    broker.write_broker_files()
    with running_fleet(mosquitto.url, creds) as sim:
        yield {"sim": sim, "ids": ids}


def _wait(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.25)


@pytest.mark.parametrize(("width", "height"), [(1366, 900), (390, 844)])
def test_a_commune_officers_day(
    live_server: Any,
    clusters: dict[str, Any],
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    settings: Any,
    tmp_path: Path,
    width: int,
    height: int,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    # the province broadcasts around the clock (the default 05:00–22:00 would refuse a late run of this test)
    do_set_guardrails(tree["province"], {"windows": [["22:00", "05:00"], ["05:00", "22:00"]]}, actor=None)
    make_user("can-bo-ha-tu", Role.COMMUNE_OPERATOR, tree["a"])
    make_user("chu-tich-ha-tu", Role.APPROVER, tree["a"])  # no authenticator yet: enrols at sign-in
    province_editor = make_user("bien-tap-tinh", Role.EDITOR, tree["province"])
    root = os.environ.get("LOA_SCREENSHOT_DIR")
    shots = (Path(root) / "officer-day" if root else tmp_path) / str(width)
    shots.mkdir(parents=True, exist_ok=True)
    step = iter(range(1, 100))
    base = live_server.url

    with browser_page(viewport={"width": width, "height": height}) as page:

        def shot(name: str) -> None:
            wide = page.evaluate(
                "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right >"
                " window.innerWidth + 1).slice(-3).map(e => e.tagName + '.' + e.className + ' ' + e.outerHTML.slice(0, 120))"
            )
            assert page.evaluate(FITS), f"{name}: the page scrolls sideways: {wide}"
            page.screenshot(path=str(shots / f"{next(step):02d}-{name}.png"), full_page=True)

        # 1. the operator types a notice, previews the speech, saves (audio attached), submits
        _sign_in(page, base, "can-bo-ha-tu")
        page.goto(f"{base}/bulletins/new/")
        page.fill("#f-title", TITLE)
        page.fill("#f-body", BODY)
        page.check(f"input[name=receivers][value='{tree['a'].code}']")
        page.click("#btn-preview")
        _wait_until(page, """() => { const a = document.getElementById('tts-audio');
                                     return Boolean(a.src) && a.readyState >= 1 && a.duration > 0; }""", 60)  # fmt: skip
        shot("operator-previews-the-speech")
        _submit(page, "#btn-save")
        bulletin = Bulletin.objects.get(title=TITLE)
        assert page.locator("#bulletin-audio").count() == 1 and bulletin.audio_asset_id, (
            "the preview was kept"
        )
        shot("operator-saved-with-audio")
        _submit(page, "[data-action=submit]")
        assert page.get_attribute("#bulletin-state", "data-state") == "submitted"
        shot("operator-submitted")

        # 2. the approver enrols an authenticator at sign-in, approves and publishes
        page.context.clear_cookies()
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=username]", "chu-tich-ha-tu")
        page.fill("input[name=password]", "Mat-khau-thu-nghiem-2026")
        _submit(page, "main button[type=submit]")
        assert "/accounts/2fa/setup/" in page.url, page.url
        shot("approver-enrols-2fa")
        secret = page.inner_text("#otp-secret").strip()
        key = base64.b32decode(secret + "=" * (-len(secret) % 8))
        page.fill("input[name=token]", f"{totp(key):06d}")
        _submit(page, "main button[type=submit]")
        if "/accounts/" in page.url:  # the recovery codes, shown once
            shot("approver-recovery-codes")
        page.goto(f"{base}/bulletins/{bulletin.pk}/")
        _submit(page, "[data-action=approve]")
        assert page.get_attribute("#bulletin-state", "data-state") == "approved"
        _submit(page, "[data-action=publish]")
        shot("approver-confirms-publishing")
        _submit(page, "#btn-confirm")
        assert page.get_attribute("#bulletin-state", "data-state") == "published"
        shot("approver-published")

        # 3. the operator schedules it with the simple form, every day at the next minute
        _sign_in(page, base, "can-bo-ha-tu")
        page.goto(f"{base}/bulletins/{bulletin.pk}/")
        _submit(page, "#schedule-link")
        at = (dt.datetime.now(LOCAL_TZ) + dt.timedelta(seconds=LEAD_S + 60)).replace(second=0, microsecond=0)
        page.fill("#times", f"{at:%H:%M}")
        page.click("#btn-preview")
        _wait_until(
            page,
            f"() => (document.querySelector('#next-plays') || {{}}).innerText?.includes('{at:%H:%M}')",
            15,
        )
        assert page.get_attribute("#preview-body", "data-verdict") == "ok", page.inner_text(
            "#schedule-preview"
        )
        shot("operator-previews-the-schedule")
        _submit(page, "#btn-save")
        assert Schedule.objects.count() == 1, page.inner_text("main")
        schedule = Schedule.objects.get()
        assert schedule.times == [f"{at:%H:%M}"]
        shot("operator-saved-the-schedule")

        # 4. meanwhile: "Phát ngay" of the published bulletin; typed text on air is refused, nothing is sent
        page.goto(f"{base}/fleet/commands/new/")
        page.select_option("#action", "play")
        page.select_option("#bulletin_id", str(bulletin.pk))
        shot("operator-play-now")
        _submit(page, "#command-form button[type=submit]")
        # the confirmation names what plays and how many clusters it reaches before anything is sent
        scope = page.inner_text("#scope")
        assert f"{len(clusters['ids'])} cụm loa" in scope and tree["a"].name in scope, scope
        assert bulletin.title in page.inner_text("#play-what")
        assert not Command.objects.filter(issued_by__username="can-bo-ha-tu").exists()
        shot("operator-confirms-play-now")
        _submit(page, "#command-confirm button[value=confirm]")
        play_now = Command.objects.get(params__item_id__isnull=False, issued_by__username="can-bo-ha-tu")
        commands = Command.objects.count()
        status = _api_status(page, "/api/v1/fleet/commands",
                             {"unit": tree["a"].code, "action": "play", "text": "Văn bản chưa duyệt"})  # fmt: skip
        assert status in (400, 403, 409), status
        assert Command.objects.count() == commands, "unapproved text was sent"

        def played(item_id: str) -> set[str]:
            return set(
                PlayLog.objects.filter(item_id=item_id, kind="end").values_list("device_id", flat=True)
            )

        _wait(
            lambda: played(play_now.params["item_id"]) == set(clusters["ids"]),
            60,
            "every cluster played it now",
        )

        # the province publishes a priority bulletin to the commune: it plays by itself on the commune's clusters
        now = dt.datetime.now(dt.UTC)
        priority = Bulletin.objects.create(
            title="Lịch cắt điện ngày mai", body="Ủy ban nhân dân tỉnh thông báo lịch cắt điện ngày mai.",
            priority=Priority.PRIORITY, state=State.PUBLISHED, origin_unit=tree["province"], produced_at=now,
            published_at=now, created_by=province_editor, updated_by=province_editor,
        )  # fmt: skip
        BroadcastHandoff.objects.create(
            bulletin=priority, unit=tree["a"], kind=BroadcastHandoff.Kind.PRIORITY
        )
        assert handoffs.consume()["priority"] == 1
        auto_item = handoffs.bulletin_item_id(priority)
        _wait(
            lambda: played(auto_item) == set(clusters["ids"]),
            60,
            "every cluster played the province's bulletin",
        )

        page.goto(f"{base}/broadcast/plan/")
        for origin, starter in (("play_now", "Phát ngay"), ("province_auto", "Tỉnh phát tự động")):
            row = page.locator(f"tr[data-slot][data-origin={origin}]")
            assert row.count() == 1 and starter in row.inner_text(), page.inner_text("main")
        shot("plan-shows-play-now-and-the-provinces-bulletin")

        # 5. the clusters play it at the scheduled minute; proof of play shows planned = played
        start = at.astimezone(dt.UTC)

        def played_on_schedule() -> set[str]:
            return set(
                PlayLog.objects.filter(kind="end", at__gte=start, schedule_id=str(schedule.pk)).values_list(
                    "device_id", flat=True
                )
            )

        remaining = (start - dt.datetime.now(dt.UTC)).total_seconds()
        _wait(
            lambda: played_on_schedule() == set(clusters["ids"]),
            remaining + 60,
            "every cluster played on time",
        )
        page.goto(f"{base}/broadcast/proof/")
        row = page.locator(f"tr[data-slot][data-origin=schedule]:has-text('{at:%H:%M}')")
        assert row.count() == 1, page.inner_text("main")
        counts = {k: row.locator(f"[data-count={k}]").inner_text() for k in ("planned", "played", "missed")}
        assert counts == {"planned": str(CLUSTERS), "played": str(CLUSTERS), "missed": "0"}, counts
        for origin in ("play_now", "province_auto"):  # the play log holds them too, every cluster played
            other = page.locator(f"tr[data-slot][data-origin={origin}]")
            assert other.count() == 1 and other.locator("[data-count=played]").inner_text() == str(CLUSTERS)
        shot("proof-planned-equals-played")
