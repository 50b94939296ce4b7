"""The analytics dashboard in Debian's Chromium: the chart is drawn by the vendored Chart.js under the console's
CSP, on a desk screen and on a phone, and the page does not scroll sideways."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.analytics import rollup
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.loa.analytics.conftest import DAYS, NOW, World, simulate  # type: ignore[import-not-found]
from tests.loa.content.test_bulletin_browser import _sign_in  # type: ignore[import-not-found]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FITS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"
DRAWN = "() => !!(window.Chart && window.Chart.getChart(document.getElementById('drill-chart')))"


@pytest.mark.parametrize(("width", "height"), [(1366, 900), (390, 844)])
def test_the_dashboard_draws_its_chart(
    live_server: Any, world: World, make_user: Callable[..., User], width: int, height: int
) -> None:
    simulate(world, incremental=False)
    rollup.rebuild(DAYS[0], DAYS[-1], now=NOW)
    make_user("op_a", Role.COMMUNE_OPERATOR, world.tree["a"])
    with browser_page(viewport={"width": width, "height": height}) as page:
        _sign_in(page, live_server.url, "op_a")
        page.goto(f"{live_server.url}/analytics/units/06652/?from=30/11/2026&to=02/12/2026")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.reload()
        deadline = time.monotonic() + 10
        while not page.evaluate(DRAWN):
            assert time.monotonic() < deadline, errors
            page.wait_for_timeout(100)
        assert page.locator('[data-kpi="plays_planned"] .num').inner_text() == "6"
        assert page.locator("table.drill-down tbody tr[data-code]").count() == 2
        # one "Bộ lọc" (the period); the monthly report's download is not folded into a second one
        assert page.locator("details.filters-box").count() == 1
        assert page.locator("input[name=month]").is_visible()
        # a KPI table's caption is a heading across the card, on a phone too (it was one letter a line)
        widths = page.evaluate(
            "() => [...document.querySelectorAll('table.kpi-table caption')].map(c => c.getBoundingClientRect().width)"
        )
        assert widths and min(widths) > width / 2, widths
        assert page.evaluate(FITS)
