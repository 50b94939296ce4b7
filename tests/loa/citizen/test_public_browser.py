"""The public app on a phone (390×844) in Debian's Chromium: open it, choose a commune by typing its name without
diacritics, read a bulletin and play its audio (the element loads the loudspeakers' file), see the emergency banner
after an emergency is started through the API, then go offline and reload: the last feed is still readable. The
app is installable: a web manifest with its icons, and a service worker that controls the page."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from loa.accounts.roles import Role
from loa.citizen import public_cache
from loa.fleet.models import Device
from loa.units.models import Unit
from loa_protocol.topics import new_device_id
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.loa.broadcast.conftest import totp_now  # type: ignore[import-not-found]
from tests.loa.citizen.public_world import PUBLISHED, build  # type: ignore[import-not-found]
from tests.loa.content.helpers import PEOPLE, Api, People  # type: ignore[import-not-found]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FLOOD = "Lũ quét sắp về tổ dân phố 1, di chuyển lên chỗ cao"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    public_cache.clear()
    yield
    public_cache.clear()


@pytest.fixture
def people(
    tree: dict[str, Unit], make_user: Callable[..., Any], client_for: Callable[[Any], Client]
) -> People:
    out = People(tree=tree)
    for key, (role, unit_key) in PEOPLE.items():
        user = make_user(key, role, tree[unit_key])
        out.api[key] = Api(client_for(user), user)
    return out


def test_a_citizen_reads_listens_is_alerted_and_reads_offline(
    live_server: Any,
    people: People,
    make_user: Callable[..., Any],
    client_for: Callable[[Any], Client],
    settings: Any,
    tmp_path: Path,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    world = build(people, tmp_path)
    tree = people.tree
    Device.objects.create(device_id=new_device_id(), unit=tree["zone_a"], serial="CUM-1")
    base = live_server.url
    with browser_page(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, service_workers="allow"
    ) as page:
        page.goto(f"{base}/congdan/")
        # installable: the manifest with its icons, and a service worker that takes control
        manifest = page.evaluate(
            "() => fetch(document.querySelector('link[rel=manifest]').href).then(r => r.json())"
        )
        assert manifest["display"] == "standalone" and manifest["scope"] == "/congdan/"
        for icon in manifest["icons"]:
            assert page.request.get(base + icon["src"]).headers["content-type"] == "image/png"
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15000)
        assert page.evaluate("navigator.serviceWorker.controller.scriptURL").endswith("/congdan/sw.js")

        # choose the commune by typing without diacritics
        page.fill("input[name=q]", "ha tu")
        page.locator("#communes a[data-commune='06652']").click()
        page.wait_for_url(f"{base}/congdan/xa/06652/")
        assert "Phường Hà Tu" in page.inner_text("header")
        assert page.locator("#emergency-banner").count() == 1  # the province's emergency bulletin
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert page.get_attribute("[data-feedback-link]", "href") == "/congdan/phan-anh/?xa=06652"

        # read the bulletin, play its audio
        page.click(f"text={PUBLISHED}")
        page.wait_for_url(f"{base}/congdan/ban-tin/{world.ids['published']}/")
        assert "Tiêm phòng dại miễn phí" in page.inner_text("main")
        # the tabs of a bulletin's page open at the commune just chosen (remembered on the phone): its news, its
        # feedback form, its polls
        assert page.get_attribute("[data-feedback-link]", "href") == "/congdan/phan-anh/?xa=06652"
        assert page.get_attribute("[data-polls-link]", "href") == "/congdan/tham-do/?xa=06652"
        assert page.get_attribute("[data-feed-link]", "href") == "/congdan/xa/06652/"
        state = page.evaluate(
            """async () => {
                const a = document.querySelector('audio');
                a.muted = true;
                await a.play();
                await new Promise(r => a.readyState >= 2 ? r() : a.addEventListener('canplay', r, {once: true}));
                return {ready: a.readyState, duration: a.duration, error: a.error && a.error.code};
            }"""
        )
        assert state["error"] is None and state["ready"] >= 2 and 1.5 < state["duration"] < 3, state

        # an emergency started through the API shows as a banner on the feed
        leader = make_user("lanh-dao-xa", Role.APPROVER, tree["a"])
        api = client_for(leader)
        r = api.post(
            "/api/v1/broadcast/emergencies",
            json.dumps(
                {"unit": tree["a"].code, "text": FLOOD, "title": FLOOD, "repeat": 1, "totp": totp_now(leader)}
            ),
            content_type="application/json",
        )
        assert r.status_code == 201, r.content
        page.goto(f"{base}/congdan/xa/06652/")
        banner = page.locator("#emergency-banner")
        assert banner.is_visible() and FLOOD in banner.inner_text()
        box = banner.bounding_box()
        assert box is not None and box["y"] < 200 and box["width"] > 300  # at the top, across the screen

        # offline, the last feed is still there after a reload
        page.context.set_offline(True)
        page.reload()
        assert FLOOD in page.inner_text("#emergency-banner")
        assert PUBLISHED in page.inner_text("main")
        assert page.locator("#offline-note").is_visible()
        page.context.set_offline(False)


def test_a_shared_bulletin_points_the_tabs_at_its_commune_without_remembering_it(
    live_server: Any, people: People, settings: Any, tmp_path: Path
) -> None:
    """A commune's bulletin opened from a shared link on a phone that has chosen no commune yet: the tabs open at
    that commune (its news, feedback form, polls) and nothing is remembered; a province's bulletin keeps the tabs
    asking for the commune."""
    settings.MEDIA_ROOT = tmp_path / "media"
    world = build(people, tmp_path)
    base = live_server.url
    with browser_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True) as page:
        page.goto(f"{base}/congdan/ban-tin/{world.ids['published']}/")
        assert page.get_attribute("[data-feed-link]", "href") == "/congdan/xa/06652/"
        assert page.get_attribute("[data-feedback-link]", "href") == "/congdan/phan-anh/?xa=06652"
        assert page.get_attribute("[data-polls-link]", "href") == "/congdan/tham-do/?xa=06652"
        assert page.evaluate("localStorage.getItem('loa.commune')") is None
        page.goto(f"{base}/congdan/ban-tin/{world.ids['province']}/")
        assert page.get_attribute("[data-feed-link]", "href") == "/congdan/"
        assert page.get_attribute("[data-feedback-link]", "href") == "/congdan/phan-anh/"
