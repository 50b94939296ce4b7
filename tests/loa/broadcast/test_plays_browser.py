"""The proof of play in Debian's Chromium, on a desk screen (1366×900) and a phone (390×844): the summary is visible,
each time slot is one row (a card on the phone, the table's columns become labels), the page does not scroll
sideways, and opening a slot loads its clusters by name and thôn."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.loa.broadcast.test_plays_console import NAMES_ZONE, day  # noqa: F401  (the shared fixture)
from tests.loa.content.test_bulletin_browser import _sign_in, _wait_until  # type: ignore[import-not-found]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FITS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


@pytest.mark.parametrize(("width", "height", "cards"), [(1366, 900, False), (390, 844, True)])
def test_the_proof_page_reads_on_a_desk_and_on_a_phone(
    live_server: Any,
    day: dict[str, Any],  # noqa: F811
    width: int,
    height: int,
    cards: bool,
    tmp_path: Any,
) -> None:
    base = live_server.url
    with browser_page(viewport={"width": width, "height": height}) as page:
        _sign_in(page, base, "op_a")
        page.goto(f"{base}/broadcast/proof/")
        summary = page.locator("[data-summary]")
        assert summary.is_visible()
        assert summary.locator('[data-total="planned"]').inner_text() == "20"
        assert summary.locator('[data-total="slots"]').is_visible()
        rows = page.locator("table.slots > tbody > tr[data-slot]")
        assert rows.count() == 4
        assert page.evaluate(FITS)
        head_shown = page.locator("table.slots > thead").is_visible()
        display = rows.first.evaluate("(tr) => getComputedStyle(tr).display")
        if cards:
            assert not head_shown and display == "block"
            label = rows.first.locator("td[data-label]").first.evaluate(
                "(td) => getComputedStyle(td, '::before').content"
            )
            assert "Giờ" in label
        else:
            assert head_shown and display == "table-row"
        assert "Tỉnh phát tự động" in rows.nth(0).page.inner_text("table.slots")
        # a time reads on one line: the console's overflow-wrap:anywhere once let the crowded table shrink the
        # column until "05:01" broke into "05:0" / "1" at 1366 px
        broken = page.evaluate(
            "() => [...document.querySelectorAll('table.slots td.when')].filter((td) => {"
            " const r = document.createRange(); r.selectNodeContents(td);"
            " return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size > 1; }).length"
        )
        assert broken == 0
        # open the scheduled slot: its clusters come by name and thôn (htmx loads them on toggle)
        scheduled = page.locator(f'tr[data-detail="{day["entry_id"]}"]')
        scheduled.locator("details > summary").click()
        _wait_until(page, f"() => !!document.querySelector('[data-clusters=\"{day['entry_id']}\"]')", 10)
        text = scheduled.locator(".clusters").inner_text()
        assert NAMES_ZONE[0] in text and "Tổ dân phố 1" in text
        assert page.evaluate(FITS)
        page.screenshot(path=str(tmp_path / f"proof-{width}.png"), full_page=True)
