"""In a real browser (Debian's Chromium), on a phone and on a desktop: a commune whose province priority bulletin
could not be inserted (no active cluster) sees it in its inbox as "Không chèn tự động được", with the reason and
what to do, readable without scrolling sideways; it takes the bulletin, and the inbox then offers to schedule it."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.broadcast import handoffs
from loa.content.models import BroadcastHandoff, Bulletin, FeedItem, Priority, State
from loa.units.models import Unit
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.loa.content.test_bulletin_browser import _sign_in, _submit  # type: ignore[import-not-found]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Lịch tiêm phòng dại cho chó mèo tháng 12"


@pytest.mark.parametrize("viewport", [(390, 844), (1366, 900)], ids=["phone", "desktop"])
def test_a_bulletin_that_could_not_be_inserted_is_explained_and_taken(
    live_server: Any, tree: dict[str, Unit], make_user: Callable[..., User], viewport: tuple[int, int]
) -> None:
    editor = make_user("bientap", Role.EDITOR, tree["province"])
    make_user("xa-b", Role.COMMUNE_OPERATOR, tree["b"])
    bulletin = Bulletin.objects.create(
        title=TITLE, body="Ủy ban nhân dân xã thông báo lịch tiêm phòng dại cho chó mèo vào sáng thứ bảy.",
        priority=Priority.PRIORITY, state=State.PUBLISHED, origin_unit=tree["province"], produced_at=timezone.now(),
        published_at=timezone.now(), created_by=editor, updated_by=editor,
    )  # fmt: skip
    BroadcastHandoff.objects.create(bulletin=bulletin, unit=tree["b"], kind=BroadcastHandoff.Kind.PRIORITY)
    item = FeedItem.objects.create(bulletin=bulletin, unit=tree["b"], direction=FeedItem.Direction.DOWN,
                                   state=FeedItem.State.QUEUED)  # fmt: skip
    handoffs.consume()
    item.refresh_from_db()
    assert item.state == FeedItem.State.NOT_INSERTED  # commune B has no cluster
    width, height = viewport
    with browser_page(viewport={"width": width, "height": height}) as page:
        _sign_in(page, live_server.url, "xa-b")
        page.goto(f"{live_server.url}/bulletins/inbox/")
        row = page.locator(f"#inbox tr[data-bulletin='{bulletin.pk}']")
        assert row.count() == 1
        text = row.inner_text()
        assert "Không chèn tự động được" in text and "Chờ chèn tự động" not in text
        assert "Không có cụm loa nào đang hoạt động" in text and "Hãy nhận bản tin và lên lịch phát" in text
        # readable on the page itself: nothing sticks out sideways, the note and the button are on screen
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        for part in (row.locator(".muted").first, row.locator("button:has-text('Nhận')")):
            box = part.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box
        assert row.locator("button:has-text('Từ chối')").count() == 0  # a priority bulletin is not declined
        # the priority badge on one line (it wrapped inside its narrow column on a desktop: two boxes of colour)
        assert row.locator(".badge").evaluate("e => e.getClientRects().length") == 1
        if directory := os.environ.get("LOA_SCREENSHOTS"):
            page.screenshot(path=f"{directory}/inbox-not-inserted-{width}.png", full_page=True)
        _submit(page, f"#inbox tr[data-bulletin='{bulletin.pk}'] button:has-text('Nhận')")
        row = page.locator(f"#inbox tr[data-bulletin='{bulletin.pk}']")
        assert "Đã nhận" in row.inner_text()
        assert row.locator("[data-action=schedule]").count() == 1  # the way on: schedule it by hand
    item.refresh_from_db()
    assert item.state == FeedItem.State.TAKEN
