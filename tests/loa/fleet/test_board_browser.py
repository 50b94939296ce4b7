"""A board's page in Debian's Chromium on a 390×844 phone (issue 9): the last screenshot beside the status with the
time it was taken in Vietnam time, nothing wider than the screen, a brightness command from the control form, and the
kill switch engaged with a TOTP code showing the black banner."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from PIL import Image

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.fleet import boards, broker
from loa.fleet.models import Command, Device, DeviceKind
from loa.units.models import Unit
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.loa.content.test_bulletin_browser import _sign_in, _submit, _wait_until  # type: ignore[import-not-found]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_board_page_on_a_phone_shows_the_screenshot_and_engages_the_kill_switch(
    live_server: Any, tree: dict[str, Unit], make_user: Callable[..., User]
) -> None:
    import datetime as dt

    board = Device.objects.create(
        device_id="loa-00000000bb01", unit=tree["zone_a"], kind=DeviceKind.EBOARD, name="Bảng tin chợ Hà Tu",
        serial="BT-1", credentials_hash=broker.hash_password(broker.new_password()),
    )  # fmt: skip
    boards.ensure_screen(board, "portrait")
    png = io.BytesIO()
    Image.new("RGB", (1080, 1920), (20, 60, 160)).save(png, format="PNG")
    taken = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=3)
    boards.ingest_screenshot(board, png.getvalue(), taken_at=taken)
    operator = make_user("vanhanh", Role.COMMUNE_OPERATOR, tree["a"])
    base = live_server.url
    with browser_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True) as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        _sign_in(page, base, "vanhanh")
        page.goto(f"{base}/fleet/d/{board.device_id}/")
        _wait_until(page, "() => { const i = document.querySelector('#last-screenshot img'); "
                          "return !!i && i.complete && i.naturalWidth > 0; }", 10)  # fmt: skip
        local = (taken + dt.timedelta(hours=7)).strftime("%H:%M:%S %d/%m/%Y")
        assert local in page.inner_text("#last-screenshot figcaption")
        box = page.locator("#last-screenshot img").bounding_box()
        assert box is not None and box["width"] <= 390 and box["height"] > box["width"]  # a portrait screen
        overflow = page.evaluate("() => document.documentElement.scrollWidth")
        assert overflow <= 390, f"the page is {overflow} px wide on a 390 px screen"

        page.select_option("#action", "brightness")
        page.fill("#brightness", "40")
        _submit(page, "form[action$='/commands/new/'] button[type=submit]")
        command = Command.objects.get(target_device=board)
        assert (command.action, command.params) == ("brightness", {"brightness": 40})

        key = TOTPDevice.objects.create(user=operator, name="điện thoại", confirmed=True).key
        page.goto(f"{base}/fleet/d/{board.device_id}/")
        page.fill("#k-reason", "Bảng tin hiển thị nội dung lạ")
        page.fill("#k-totp", f"{totp(bytes.fromhex(key)):06d}")
        _submit(page, "#kill-switch button[type=submit]")
        banner = page.locator(".killed-panel[role=alert]")
        assert banner.is_visible() and "Bảng tin hiển thị nội dung lạ" in banner.inner_text()
        assert boards.killed(board)
        assert not errors, errors
