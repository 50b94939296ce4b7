"""The console in a real browser: sign-in with a one-time password and TOTP enrolment, the unit tree of the
demo province with its real communes, the unit picker limited to the user's scope, a phone-sized screen."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django_otp.oath import totp

from loa.console.demo import do_seed_demo
from tests.browser import browser_page  # type: ignore[import-not-found]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _submit(page: Any, selector: str = "main button[type=submit]") -> None:
    with page.expect_navigation():
        page.click(selector)


def _sign_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    _submit(page)


def _replace_password(page: Any) -> None:
    assert "/accounts/password/" in page.url, page.content()
    page.fill("input[name=new_password1]", "Vinh-Ha-Long-2026!")
    page.fill("input[name=new_password2]", "Vinh-Ha-Long-2026!")
    _submit(page)


def test_demo_logins_work_in_a_browser(live_server: Any) -> None:
    province, logins = do_seed_demo("22")
    by_name = {login.username: login for login in logins}
    with browser_page() as page:
        # A province admin: one-time password, then TOTP enrolment with a QR code, then the console.
        _sign_in(page, live_server.url, "tinh.quantri", by_name["tinh.quantri"].password)
        _replace_password(page)
        assert "/accounts/2fa/setup/" in page.url
        assert page.locator(".qr svg").count() == 1
        secret = page.inner_text("#otp-secret").strip()
        key = base64.b32decode(secret + "=" * (-len(secret) % 8))
        page.fill("input[name=token]", f"{totp(key):06d}")
        _submit(page)
        assert page.locator("#recovery-codes li").count() == 10
        _submit(page, "text=Tôi đã lưu mã, tiếp tục")
        assert page.locator("h1").inner_text().startswith("Tổng quan")
        communes = int(page.inner_text("[data-count=communes]"))
        assert communes == province.children.count() == 54
        page.goto(f"{live_server.url}/units/")
        rows = page.locator("#unit-tree tbody tr")
        assert rows.count() == 55, "the province and its 54 real communes"
        assert page.locator("#unit-tree", has_text="Đặc khu Vân Đồn").count() == 1
        assert page.locator("#unit-tree", has_text="Phường Hà Tu").count() == 1
        options = page.locator("#unit-picker option").all_inner_texts()
        assert options[0] == "Quảng Ninh" and len(options) == 55


def test_commune_operator_sees_only_its_commune_on_a_phone(live_server: Any) -> None:
    _province, logins = do_seed_demo("22")
    operator = next(x for x in logins if x.username == "xa.vanhanh")
    with browser_page(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True) as page:
        _sign_in(page, live_server.url, operator.username, operator.password)
        _replace_password(page)
        assert page.locator("h1").inner_text() == "Tổng quan — Phường Hà Tu"
        options = [o.lstrip("— ") for o in page.locator("#unit-picker option").all_inner_texts()]
        assert options == ["Phường Hà Tu"]
        assert not page.locator("#nav").is_visible(), "the menu folds away on a phone"
        page.click("[data-toggle-nav]")
        assert page.locator("#nav").is_visible()
        page.click("#nav >> text=Đơn vị")
        body = page.inner_text("main")
        assert "Phường Hà Tu" in body and "Phường Cao Xanh" not in body
        page.goto(f"{live_server.url}/units/06652/")
        page.fill("#zone-form input[name=name]", "Thôn Mới")
        _submit(page, "#zone-form button[type=submit]")
        assert "Đã tạo Thôn Mới" in page.inner_text(".messages")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"no sideways scrolling on a phone (page is {width}px wide)"
        response = page.goto(f"{live_server.url}/units/06658/")
        assert response is not None and response.status == 404
        # English is one click away.
        page.goto(f"{live_server.url}/")
        _submit(page, ".lang button")
        assert page.locator("h1").inner_text() == "Overview — Phường Hà Tu"
        assert page.locator("#nav", has_text="Loudspeakers").count() == 1
