"""A citizen answers a poll on a phone in real Chromium: finds it from the commune's list, answers, gets thanked;
answering again from the same phone is refused and the first answer is the one counted."""

from __future__ import annotations

from typing import Any

import pytest

from loa.citizen.polls.models import Answer, Ballot
from loa.units.models import Unit
from tests.browser import browser_page
from tests.loa.citizen.polls.test_polls import make_poll

pytestmark = pytest.mark.browser


def test_a_citizen_answers_a_poll_on_a_phone(
    tree: dict[str, Unit], transactional_db: None, live_server: Any
) -> None:
    poll = make_poll(tree["a"])
    with browser_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True) as page:
        page.goto(f"{live_server.url}/congdan/tham-do/?xa=06652")
        page.get_by_role("link", name="Giờ phát thanh buổi sáng").click()
        page.get_by_label("6 giờ").check()
        page.get_by_label("Thời tiết").check()
        page.get_by_label("Giá nông sản").check()
        page.locator("fieldset").nth(2).get_by_label("4").check()
        page.locator("textarea").fill("Nên phát thêm buổi chiều")
        page.get_by_role("button", name="Gửi ý kiến").click()
        assert (
            page.locator("#poll-thanks").inner_text()
            == "Cảm ơn bạn đã trả lời. Ý kiến của bạn đã được ghi nhận."
        )
        assert "1 người đã trả lời." in page.content()  # results "always"
        page.goto(f"{live_server.url}/congdan/tham-do/{poll.pk}/")
        page.get_by_label("5 giờ 30").check()
        page.get_by_label("Pháp luật").check()
        page.locator("fieldset").nth(2).get_by_label("1").check()
        page.get_by_role("button", name="Gửi ý kiến").click()
        assert "Thiết bị này đã trả lời cuộc thăm dò này" in page.locator("#poll-error").inner_text()
    assert Ballot.objects.filter(poll=poll).count() == 1
    assert sorted(Answer.objects.filter(choice__isnull=False).values_list("choice__text", flat=True)) == [
        "6 giờ", "Giá nông sản", "Thời tiết"]  # fmt: skip
