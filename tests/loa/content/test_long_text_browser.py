"""A bulletin whose title and body are one unbroken 300-character word (a pasted link, a run of letters) does not
make its page scroll sideways (review 2026-12-05 item 5: /bulletins/<id>/ at 1366 px became 114,146 px wide)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.content.models import Bulletin, Priority, State
from loa.units.models import Unit
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.loa.content.test_bulletin_browser import _sign_in  # type: ignore[import-not-found]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FITS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"
WIDE = """() => Array.from(document.querySelectorAll('body *'))
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
    .slice(0, 6).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"""


@pytest.mark.parametrize("size", [(1366, 900), (390, 844)])
def test_an_unbroken_long_title_and_body_do_not_widen_the_page(
    live_server: Any, tree: dict[str, Unit], make_user: Callable[..., User], size: tuple[int, int]
) -> None:
    operator = make_user("op_a", Role.COMMUNE_OPERATOR, tree["a"])
    word = "Thôngbáo" * 38  # 304 letters, no space
    now = timezone.now()
    b = Bulletin.objects.create(
        title=word[:300], body=f"{word} https://example.org/{'a' * 300}", summary=word, priority=Priority.NORMAL,
        state=State.DRAFT, origin_unit=tree["a"], produced_at=now, created_by=operator, updated_by=operator,
    )  # fmt: skip
    base = live_server.url
    with browser_page(viewport={"width": size[0], "height": size[1]}) as page:
        _sign_in(page, base, "op_a")
        for path in (f"/bulletins/{b.pk}/", "/bulletins/", f"/bulletins/{b.pk}/edit/"):
            page.goto(f"{base}{path}")
            assert page.evaluate(FITS), (
                path,
                page.evaluate("document.documentElement.scrollWidth"),
                page.evaluate(WIDE),
            )
