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


def test_the_command_form_shows_the_fields_of_the_chosen_command(
    live_server: Any, tree: dict, make_user: Any, mqtt_dir: Path
) -> None:
    """Choosing "Đặt âm lượng" shows the volume and hides what to play and the brightness; a volume typed and then
    left for another command is not sent (its field is disabled); the volume command reaches the confirmation."""
    provision(tree["a"], 2, write_files=False)
    make_user("van-hanh", Role.COMMUNE_OPERATOR, tree["a"])
    shown = "(id) => { const e = document.getElementById(id); return !!(e.offsetWidth || e.offsetHeight); }"
    with browser_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True) as page:
        _sign_in(page, live_server.url, "van-hanh")
        page.goto(f"{live_server.url}/fleet/commands/new/")
        page.select_option("#action", "play")
        assert page.evaluate(shown, "bulletin_id") and page.evaluate(shown, "repeat")
        assert not page.evaluate(shown, "volume") and not page.evaluate(shown, "brightness")
        page.select_option("#action", "volume")
        assert page.evaluate(shown, "volume")
        assert not page.evaluate(shown, "bulletin_id") and not page.evaluate(shown, "brightness")
        page.fill("#volume", "35")
        page.select_option("#action", "brightness")
        assert page.evaluate(shown, "brightness") and not page.evaluate(shown, "volume")
        assert page.is_disabled("#volume") and not page.is_disabled("#brightness")
        page.select_option("#action", "stop")
        assert not any(page.evaluate(shown, i) for i in ("bulletin_id", "volume", "brightness"))
        assert page.evaluate(shown, "totp")
        page.select_option("#action", "volume")
        page.click("#command-form button[type=submit]")
        page.wait_for_selector("#command-confirm")
        assert "Âm lượng mới: 35/100" in page.content()
