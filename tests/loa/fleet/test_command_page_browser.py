"""A command's page on a phone: its deliveries refresh every 2 s (htmx) and stay readable as cards — each cell keeps
its column's label after the refresh, not only on the first load (a new-user walk found them unlabelled)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loa.accounts.roles import Role
from loa.fleet.services import do_send_command
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.loa.content.test_bulletin_browser import _sign_in, _wait_until  # type: ignore[import-not-found]
from tests.loa.fleet.devices import provision  # type: ignore[import-not-found]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_refreshed_deliveries_keep_their_labels_on_a_phone(
    live_server: Any, tree: dict, make_user: Any, mqtt_dir: Path
) -> None:
    provision(tree["a"], 3, write_files=False)
    operator = make_user("van-hanh", Role.COMMUNE_OPERATOR, tree["a"])
    # no gateway runs: the deliveries stay "Chờ gửi", so the page keeps polling
    command = do_send_command(actor=operator, action="volume", params={"volume": 40}, target_unit=tree["a"])
    with browser_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True) as page:
        _sign_in(page, live_server.url, "van-hanh")
        page.goto(f"{live_server.url}/fleet/commands/{command.pk}/")
        labelled = "() => document.querySelectorAll('#deliveries tbody td[data-label]').length"
        first = page.evaluate(labelled)
        assert first >= 3, first
        page.evaluate("() => { document.getElementById('deliveries').dataset.old = '1'; }")
        # the section is replaced by the next poll (outerHTML): the mark is gone, the labels are back
        _wait_until(page, "() => !document.getElementById('deliveries').dataset.old", 10)
        _wait_until(page, f"() => ({labelled})() >= {first}", 5)
        cell = page.locator("#deliveries tbody td[data-label]").first
        assert cell.get_attribute("data-label")
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
