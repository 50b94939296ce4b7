"""The page side of the alerts (static/alerts/subscribe.js) in real Chromium against Loa's endpoint.

Chromium's own PushManager cannot be used here: it subscribes through the vendor's network push service, which
this machine cannot reach, and nothing lets it point at the loopback push service. So the browser test gives the
script a synthetic subscription (a loopback "browser" with its own keys, as ``PushSubscription.toJSON()`` gives)
and checks what the script sends and shows; the push itself is tested in test_push.py."""

from __future__ import annotations

from typing import Any

import pytest

from loa.alerts.models import PushSubscription
from loa.units.models import Unit
from tests.browser import browser_page
from tests.push_service import PushService

pytestmark = pytest.mark.browser


def test_the_subscribe_script_registers_a_subscription_and_shows_refusals_in_vietnamese(
    tree: dict[str, Unit], transactional_db: None, push_service: PushService, live_server: Any
) -> None:
    browser = push_service.browser()
    with browser_page(viewport={"width": 390, "height": 844}, is_mobile=True) as page:
        page.goto(f"{live_server.url}/congdan/canh-bao/khoa/")
        page.add_script_tag(url=f"{live_server.url}/static/alerts/subscribe.js")
        assert page.evaluate("LoaAlerts.supported()") is True
        ok = page.evaluate("([c, s]) => LoaAlerts.register(c, s)", ["06652", browser.subscription])
        assert ok["ok"] is True, ok
        assert ok["message"] == "Đã đăng ký nhận cảnh báo khẩn cấp của Phường Hà Tu."
        bad = page.evaluate(
            "([c, s]) => LoaAlerts.register(c, s)",
            ["06652", {**browser.subscription, "endpoint": "http://127.0.0.1/push/x"}],
        )
        assert bad["ok"] is False and "https" in bad["message"]
        unknown = page.evaluate("([c, s]) => LoaAlerts.register(c, s)", ["99999", browser.subscription])
        assert unknown == {**unknown, "ok": False, "message": "Không tìm thấy xã, phường với mã này."}
    row = PushSubscription.objects.get()
    assert (row.unit.code, row.endpoint, row.auth) == (
        "06652",
        browser.endpoint,
        browser.subscription["keys"]["auth"],
    )
