"""The tracking page's "Bật thông báo" in real Chromium on a phone viewport: the page's script registers the browser
for the feedback (a synthetic subscription of the loopback push service: Chromium's own PushManager subscribes
through the vendor's network service, see tests/loa/alerts/test_subscribe_browser.py) and keeps the page's address
for the service worker; the operator's published answer reaches the push service encrypted for that browser; the
tracking page shows the history and the answer, and the citizen rates it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.citizen.feedback_workflow import do_feedback_transition
from loa.citizen.models import Feedback, FeedbackPush, Status
from loa.units.models import Unit
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.loa.alerts.conftest import push_service  # noqa: F401  # type: ignore[import-not-found]
from tests.loa.citizen.feedback_helpers import submit, token_of  # type: ignore[import-not-found]
from tests.loa.content.test_bulletin_browser import _submit  # type: ignore[import-not-found]
from tests.push_service import PushService

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ANSWER = "Đội thu gom đã dọn sạch rác ở đầu ngõ 12 lúc 9 giờ sáng nay và đặt biển cấm đổ rác tại đó."


def test_the_citizen_turns_notifications_on_and_is_told_of_the_published_answer(
    live_server: Any,
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    settings: Any,
    tmp_path: Any,
    push_service: PushService,  # noqa: F811
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    seed = importlib.import_module("loa.citizen.migrations.0002_seed_categories_and_2026_calendar")
    seed.seed(apps, None)  # a transactional test starts from flushed tables
    response = submit(Client(), tree["a"].code)
    assert response.status_code == 302, response.content.decode()[:2000]
    token = token_of(response)
    feedback = Feedback.objects.get()
    operator = make_user("op-a", Role.COMMUNE_OPERATOR, tree["a"])
    phone = push_service.browser()
    path = f"/congdan/phan-anh/theo-doi/{token}/"

    with browser_page(viewport={"width": 390, "height": 844}, is_mobile=True) as page:
        page.goto(live_server.url + path)
        assert "Báo cho tôi khi có trả lời" in page.inner_text("#fb-notify")
        page.wait_for_function("() => window.LoaFeedbackNotify && window.LoaAlerts")
        done = page.evaluate("(s) => LoaFeedbackNotify.register(s)", phone.subscription)
        assert done == {
            "ok": True,
            "message": f"Đã bật thông báo: bạn sẽ được báo khi phản ánh {feedback.number} có bước xử lý mới.",
        }
        kept = page.evaluate(
            "(id) => caches.open('loa-feedback-links').then(c => c.match('/congdan/phan-anh/lien-ket/' + id))"
            ".then(r => r && r.text())",
            feedback.pk,
        )
        assert kept == path, "the service worker could not open the tracking page from the notification"
        assert FeedbackPush.objects.get().endpoint == phone.endpoint

        for to, fields in (
            (Status.ASSIGNED, {"unit": tree["a"]}),
            (Status.ANSWERED, {"answer": ANSWER}),
            (Status.PUBLISHED, {}),
        ):
            feedback = do_feedback_transition(feedback, to, actor=operator, **fields)
        pushed = [phone.decrypt(m.body) for m in push_service.to(phone.token)]
        assert [p["status"] for p in pushed] == ["assigned", "answered", "published"]
        assert pushed[-1]["body"] == ANSWER

        page.reload()
        assert ANSWER in page.inner_text("#fb-answer")
        history = page.inner_text(".fb-history")
        for label in ("Đã nhận", "Đã chuyển đơn vị xử lý", "Đã có trả lời", "Đã công khai trả lời"):
            assert label in history
        page.check("input[name=rating][value='5']")
        _submit(page, "form[action$='/danh-gia/'] button[type=submit]")
        assert "Bạn đã đánh giá 5/5" in page.inner_text("#fb-rated")
    feedback.refresh_from_db()
    assert feedback.rating == 5
