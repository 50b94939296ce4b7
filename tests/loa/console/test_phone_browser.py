"""A phone is a first-class screen (issue 19, item 9), checked in Debian's Chromium at 390×844 on the pages an
officer uses (dashboard, bulletin list and form, schedules, proof of play, cluster list, map) with a commune's day
of plays in the database: the page never scrolls sideways; every visible button, link, field and summary in the
main area is at least 44 px high, unless it is a link inside a sentence (a checkbox counts by its label); tables
are cards; the filters are folded into "Bộ lọc"; every date field takes dd/mm/yyyy and has the one date picker.

Screenshots go to ``$LOA_SCREENSHOT_DIR/phone`` when that variable is set (else the test's tmp folder)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.loa.broadcast.conftest import make_programme  # noqa: F401  (fixtures of the day)
from tests.loa.broadcast.test_plays_console import day  # noqa: F401
from tests.loa.content.test_bulletin_browser import _sign_in  # type: ignore[import-not-found]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = {
    "dashboard": "/",
    "bulletins": "/bulletins/",
    "bulletin-form": "/bulletins/new/",
    "schedules": "/broadcast/",
    "proof": "/broadcast/proof/",
    "fleet": "/fleet/",
    "map": "/fleet/map/",
}
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"
# Every tap target of the main area lower than 44 px, unless it is a link inside a sentence (inline, with text
# around it) or a hidden/native part; a checkbox or radio is judged by the label it sits in.
SMALL_TARGETS = """() => {
  const out = [];
  const main = document.querySelector('main');
  const targets = main.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary');
  for (const el of targets) {
    const style = getComputedStyle(el);
    if (el.closest('.leaflet-container') || el.classList.contains('native-picker')) continue;
    let box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || !el.checkVisibility({visibilityProperty: true})) continue;
    if (el.tagName !== 'SUMMARY' && el.closest('details:not([open])')) continue;  // folded away
    if (el.matches('input[type=checkbox], input[type=radio]')) {
      const label = el.closest('label');
      if (label) box = label.getBoundingClientRect();
    }
    if (el.tagName === 'A' && style.display === 'inline') {
      // a link in a sentence reads as text: its parent has words of its own besides the links (a row of links
      // separated by "·" is a menu, and each of its links is a tap target)
      let words = el.parentElement.innerText || '';
      for (const a of el.parentElement.querySelectorAll('a')) words = words.replace(a.innerText || '', ' ');
      if (/[\\p{L}\\p{N}]/u.test(words)) continue;
    }
    if (box.height < 43.5) {
      out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.name ? '[name=' + el.name + ']' : ''} ` +
               `"${(el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 30)}" ` +
               `${Math.round(box.height)}px`);
    }
  }
  return out;
}"""


def _shots(tmp_path: Path) -> Path:
    root = os.environ.get("LOA_SCREENSHOT_DIR")
    folder = Path(root) / "phone" if root else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_officers_pages_work_on_a_phone(
    live_server: Any,
    day: dict[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    shots = _shots(tmp_path)
    base = live_server.url
    problems: list[str] = []
    with browser_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True) as page:
        _sign_in(page, base, "op_a")
        for name, path in PAGES.items():
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            if not page.evaluate(FITS):
                wide = page.evaluate(
                    "() => [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right"
                    " > window.innerWidth + 1).slice(0, 3).map(e => e.tagName + '.' + e.className)"
                )
                problems.append(f"{name}: scrolls sideways ({wide})")
            small = page.evaluate(SMALL_TARGETS)
            if small:
                problems.append(f"{name}: under 44 px: {small[:6]}")
            # tables read as cards: no header row shown, rows are blocks
            for table in page.locator("main table.table").all():
                if table.is_visible() and table.locator("tbody > tr").count():
                    if table.locator("thead").is_visible():
                        problems.append(f"{name}: a table keeps its header row")
            # filters fold into a closed "Bộ lọc"
            for box in page.locator("main details.filters-box").all():
                assert box.locator("summary").inner_text().strip() == "Bộ lọc"
                if box.evaluate("(d) => d.open"):
                    problems.append(f"{name}: the filters are open on a phone")
            # one date format and one picker
            dates = "main input[type=date]:not(.native-picker), main input[type=datetime-local]:not(.native-picker)"
            if page.locator(dates).count():
                problems.append(f"{name}: a date field of the browser's own format")
            for field in page.locator("main input[data-date]").all():
                picker = field.locator("xpath=following-sibling::button[@class='date-pick']").count()
                if field.get_attribute("placeholder") != "dd/mm/yyyy" or picker != 1:
                    problems.append(f"{name}: a date field without dd/mm/yyyy or the date picker")
        assert not problems, "\n".join(problems)
        # the filters of the bulletin list unfold on a tap; the date picker writes dd/mm/yyyy
        page.goto(f"{base}/bulletins/")
        assert page.locator("details.filters-box").count() == 1
        page.click("details.filters-box > summary")
        assert page.locator("input[name=date_from]").is_visible()
        page.locator("input[name=date_from] ~ input.native-picker").evaluate(
            "(n) => { n.value = '2026-12-05'; n.dispatchEvent(new Event('change')); }"
        )
        assert page.input_value("input[name=date_from]") == "05/12/2026"
    assert not problems, "\n".join(problems)
