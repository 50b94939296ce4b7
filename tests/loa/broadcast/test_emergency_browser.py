"""An emergency with the alert tone, from the console in a real browser (Debian's Chromium), to simulated
loudspeaker clusters on a real Mosquitto through the gateway: the area starts empty, the confirmation names the
communes and loudspeakers, the clusters of that commune (and no other) play it, the cancel button asks first, and
the state ends as "Đã kết thúc" with the time the last repetition finished."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.broadcast.models import Emergency
from loa.fleet import broker
from loa.fleet.models import PlayLog
from loa.fleet.services import credentials_for, do_provision_device
from loa.units.models import Unit
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.conftest import verified_client
from tests.loa.broadcast.conftest import running_fleet, totp_now

pytestmark = [pytest.mark.browser, pytest.mark.mqtt, pytest.mark.django_db(transaction=True)]
IN_A = 5  # commune A: 3 clusters, and 2 in its zone
TEXT = "Cảnh báo lũ quét. Bà con vùng trũng thấp di chuyển ngay lên vùng cao."


@pytest.fixture
def clusters(
    tree: dict[str, Unit], transactional_db: None, mosquitto: broker.EmbeddedBroker
) -> Iterator[dict[str, Any]]:
    creds, ids = [], {}
    for key, n in (("a", 3), ("zone_a", 2), ("b", 3)):
        for i in range(n):
            device, password = do_provision_device(tree[key], actor=None, serial=f"EMB-{key}-{i}")
            creds.append(credentials_for(device, password))
            ids.setdefault(key, []).append(device.device_id)
    broker.write_broker_files()
    with running_fleet(mosquitto.url, creds) as sim:
        yield {"sim": sim, "ids": ids}


def _wait(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.2)


def _navigate(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_an_emergency_with_the_tone_from_the_console_plays_and_ends(
    live_server: Any,
    clusters: dict[str, Any],
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    settings: Any,
    tmp_path: Any,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    chairman = make_user("chu-tich-ha-tu", Role.APPROVER, tree["a"])
    session = (
        verified_client(chairman).cookies[django_settings.SESSION_COOKIE_NAME].value
    )  # signed in, 2FA done
    base = live_server.url
    with browser_page(viewport={"width": 1366, "height": 900}) as page:
        page.context.add_cookies(
            [{"name": django_settings.SESSION_COOKIE_NAME, "value": session, "url": base}]
        )
        page.goto(f"{base}/broadcast/emergency/")
        assert page.locator("select[name=unit][required]").input_value() == ""  # no area chosen for you
        page.select_option("select[name=unit][required]", "06652")
        page.fill("textarea[name=text]", TEXT)
        page.fill("input[name=repeat]", "2")
        page.check("input[name=tone]")
        _navigate(page, "main form button[type=submit]")

        scope = page.inner_text(".confirm-box")
        assert f"Sẽ phát ngay tới Phường Hà Tu: 1 xã/phường, {IN_A} cụm loa." in scope
        assert "có chuông báo động trước" in scope
        assert not Emergency.objects.exists()
        page.fill("input[name=totp]", totp_now(chairman))
        _navigate(page, "button[name=step][value=confirm]")

        e = Emergency.objects.get()
        assert e.alert_tone and not e.tone_failed and e.repeat == 2
        assert page.url.endswith(f"/broadcast/emergency/{e.pk}/")
        assert "Đang phát" in page.inner_text(".state")

        # on a phone the cancel is on the first screen, above the counters (it was ≈ 1,800 px down)
        page.set_viewport_size({"width": 390, "height": 844})
        box = page.locator("a.button.danger").bounding_box()
        assert box is not None and box["y"] + box["height"] <= 844, box
        page.set_viewport_size({"width": 1366, "height": 900})
        # cancel asks first, naming what it stops; going back leaves it playing
        _navigate(page, "a.button.danger")
        assert f"Lệnh hủy sẽ dừng bản tin này trên {IN_A} cụm loa của Phường Hà Tu" in page.inner_text("main")
        _navigate(page, "a.button.secondary")
        e.refresh_from_db()
        assert e.state == Emergency.State.ACTIVE

        # the commune's clusters play it twice, tone first; the other commune hears nothing
        in_a = set(clusters["ids"]["a"] + clusters["ids"]["zone_a"])

        def ended() -> set[str]:
            return set(
                PlayLog.objects.filter(item_id=e.item_id, kind="end").values_list("device_id", flat=True)
            )

        _wait(lambda: ended() == in_a and PlayLog.objects.filter(item_id=e.item_id, kind="end").count() == 2 * IN_A,
              90, "every cluster of the commune played both repetitions")  # fmt: skip
        assert all(ev.priority == 1 for ev in clusters["sim"].events(kind="start"))
        assert not any(clusters["sim"].events(d) for d in clusters["ids"]["b"])

        # the page (polling) ends as finished, with the time the last repetition ended
        def finished() -> bool:
            return bool(page.evaluate("document.querySelector('.state[data-state=finished]') !== null"))

        deadline = time.monotonic() + 30
        while not finished():
            assert time.monotonic() < deadline, page.inner_text("main")
            page.wait_for_timeout(250)
        text = page.inner_text(".state")
        assert "Đã kết thúc" in text and "lần phát cuối kết thúc lúc" in text
        assert page.locator("a.button.danger").count() == 0  # nothing left to cancel
