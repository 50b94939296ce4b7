"""In Debian's Chromium, desktop and phone: a commune editor adds a context reading to the unit's abbreviation
table, sees it read in the try sentence with the changed words marked, and the bulletin editor marks what the
loudspeaker will say differently from the text (issue 22 items 1 and 5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.tts.models import Abbreviation
from loa.units.models import Unit
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.loa.content.test_bulletin_browser import _sign_in, _submit, _wait_until  # type: ignore[import-not-found]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


@pytest.mark.parametrize(
    "viewport", [{"width": 1366, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"]
)
def test_a_commune_keeps_its_readings_and_sees_them_marked(
    live_server: Any, tree: dict[str, Unit], make_user: Callable[..., User], viewport: dict[str, int]
) -> None:
    make_user("bientap-a", Role.EDITOR, tree["a"])
    base = live_server.url
    with browser_page(viewport=viewport) as page:
        _sign_in(page, base, "bientap-a")
        page.goto(f"{base}/bulletins/")
        page.click("nav.content-tabs >> text=Từ viết tắt")
        assert "/tts/abbreviations/" in page.url
        assert page.evaluate(FITS), "the page scrolls sideways"
        # a reading chosen by the words around it
        page.fill("#f-text", "CB")
        page.fill("#f-reading", "cán bộ")
        page.fill("#f-near", "thôn, xã")
        _submit(page, "#abbr-form button[type=submit]")
        assert page.locator("#own-table >> text=cán bộ").count() == 1
        # a reading with digits is refused in Vietnamese and nothing is kept
        page.fill("#f-text", "QL1A")
        page.fill("#f-reading", "quốc lộ 1A")
        _submit(page, "#abbr-form button[type=submit]")
        assert "không dùng chữ số" in page.inner_text("#abbr-error")
        assert not Abbreviation.objects.filter(text="QL1A").exists()
        # the try sentence reads it, with what changed marked
        page.fill("#try-sentence", "Họp CB thôn lúc 7h30")
        _submit(page, "#try-form button[type=submit]")
        marks = page.locator("#try-reading mark").all_inner_texts()
        assert marks == ["cán bộ", "bảy giờ ba mươi phút"], marks
        assert page.evaluate(FITS)
        # the bulletin editor: the reading of the body, marked
        page.goto(f"{base}/bulletins/new/")
        page.fill("#f-title", "Họp CB thôn")
        page.fill("#f-body", "Mời CB thôn họp lúc 14h ngày 22/5 tại UBND xã.")
        page.click("#btn-normalize")
        _wait_until(page, "() => !document.getElementById('read-as-marked-box').hidden", 20)
        marked = page.locator("#read-as-marked mark").all_inner_texts()
        assert "cán bộ" in marked and "mười bốn giờ" in marked and "ủy ban nhân dân" in marked, marked
        # an officer's own correction is marked too
        page.fill("#f-read-as", "Họp cán bộ thôn. Mời cán bộ thôn họp lúc hai giờ chiều")
        _wait_until(
            page,
            "() => [...document.querySelectorAll('#read-as-marked mark')].some(m => m.innerText.includes('hai giờ chiều'))",
            20,
        )
    assert AuditEntry.objects.filter(action="tts.abbreviation_saved", unit_code=tree["a"].code).count() == 1
