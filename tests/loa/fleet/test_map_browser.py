"""The fleet map in Debian's Chromium with no tile server and no network (issue 19, item 6): every cluster of the
commune is on it (alone or inside a cluster of markers), coloured by status with a legend, the commune's reference
point is shown, no script error; a technician places a cluster by clicking the map on its page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.fleet.models import Device
from loa.units.models import Unit
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.loa.content.test_bulletin_browser import _sign_in, _submit, _wait_until  # type: ignore[import-not-found]
from tests.loa.fleet.devices import provision  # type: ignore[import-not-found]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# markers shown one by one, plus the numbers on the clusters of markers
COUNT = """() => document.querySelectorAll('#fleet-map .leaflet-marker-icon .dev-dot').length +
    Array.from(document.querySelectorAll('#fleet-map .marker-cluster span'))
        .reduce((n, s) => n + parseInt(s.textContent, 10), 0)"""


def _place(unit: Unit, n: int, lat: float, lon: float, **fields: Any) -> list[str]:
    ids = [c.device_id for c in provision(unit, n, write_files=False)]
    for i, device_id in enumerate(ids):
        Device.objects.filter(device_id=device_id).update(
            latitude=lat + (i % 7) * 0.004, longitude=lon + (i // 7) * 0.004, **fields
        )
    return ids


def test_map_shows_every_cluster_offline_and_places_one_by_click(
    live_server: Any, tree: dict[str, Unit], make_user: Callable[..., User], settings: Any
) -> None:
    settings.LOA_MAP_TILE_URL = ""
    Unit.objects.filter(pk=tree["a"].pk).update(latitude=20.95, longitude=107.10)
    now = timezone.now()
    _place(tree["a"], 20, 20.95, 107.10, online=True, last_seen=now, last_status={"state": "idle"})
    _place(tree["zone_a"], 8, 20.97, 107.12, online=False, last_seen=now)
    _place(tree["a"], 3, 20.93, 107.08, online=True, last_seen=now, last_status={"state": "playing"})
    _place(tree["b"], 5, 20.90, 107.00, online=True, last_seen=now)  # another commune: not on this map
    unplaced = provision(tree["a"], 1, write_files=False)[0].device_id
    make_user("xem", Role.VIEWER, tree["a"])
    make_user("kythuat", Role.TECHNICIAN, tree["a"])
    base = live_server.url
    with browser_page(viewport={"width": 1366, "height": 900}) as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        _sign_in(page, base, "xem")
        page.goto(f"{base}/fleet/map/")
        _wait_until(page, "() => document.getElementById('fleet-map').dataset.loaded !== undefined", 15)
        # (while Leaflet animates a zoom, the old and the new clusters are both in the page: wait for it to settle)
        try:
            _wait_until(page, f"() => ({COUNT})() === 31", 10)
        except AssertionError as exc:
            shown = page.evaluate(COUNT)
            raise AssertionError(f"every placed cluster of the commune, none of another: {shown}") from exc
        assert not errors, errors
        assert page.locator(".leaflet-tooltip.commune-label", has_text="Phường Hà Tu").count() == 1
        legend = page.inner_text(".map-legend")
        for word in ("Đang phát", "Trực tuyến", "Mất kết nối"):
            assert word in legend
        assert "LOA_MAP_TILE_URL" not in page.content(), "no setting names for operators"
        # a cluster of markers takes the colour of its most urgent member: some are offline
        assert page.locator(".marker-cluster.offline").count() >= 1
        # zoomed in, the clusters open up and the colours tell the states apart
        page.locator(".marker-cluster").first.click()
        _wait_until(page, "() => document.querySelectorAll('#fleet-map .dev-dot').length > 0", 10)

        _sign_in(page, base, "kythuat")
        page.goto(f"{base}/fleet/d/{unplaced}/")
        _wait_until(page, "() => !!document.querySelector('#place-map.leaflet-container')", 10)
        page.locator("#place-map").click(position={"x": 200, "y": 120})
        assert page.input_value("#f-lat") and page.input_value("#f-lon")
        lat, lon = float(page.input_value("#f-lat")), float(page.input_value("#f-lon"))
        _submit(page, "form[action$='/edit/'] button[type=submit]")
        assert not errors, errors
    device = Device.objects.get(device_id=unplaced)
    assert device.latitude == pytest.approx(lat) and device.longitude == pytest.approx(lon)
    assert abs(device.latitude - 20.95) < 0.1 and abs(device.longitude - 107.10) < 0.1, (
        "opened at the commune"
    )
