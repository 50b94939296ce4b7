"""In a real browser (Debian's Chromium): the province approver cancels the emergency bulletin a commune is
broadcasting; the confirmation explains that the cancel stops the warning and asks the TOTP code; a wrong code is
refused on the same page; the right one cancels, and the hand-off stops the emergency on the commune's clusters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.broadcast import handoffs
from loa.broadcast.models import Emergency
from loa.content.models import Priority, State
from loa.fleet.models import Command, Device
from loa.units.models import Unit
from loa_protocol.topics import new_device_id
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.conftest import PASSWORD  # type: ignore[import-not-found]
from tests.loa.broadcast.conftest import totp_now  # type: ignore[import-not-found]
from tests.loa.fleet.helpers import publish_province_bulletin_with_tts  # type: ignore[import-not-found]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _submit(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def _code(user: User, *, fresh: bool = True) -> str:
    """The code on the user's phone; ``fresh``: as if the next 30-second step had come (sign-in used this one)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    assert device is not None
    if fresh:
        TOTPDevice.objects.filter(pk=device.pk).update(
            last_t=-1, throttling_failure_count=0, throttling_failure_timestamp=None
        )
    return f"{totp(device.bin_key):06d}"


def test_the_approver_cancels_a_broadcast_emergency_bulletin_with_a_code(
    live_server: Any,
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    Device.objects.bulk_create(
        [Device(device_id=new_device_id(), unit=tree["a"], serial=f"B-{i}") for i in range(2)]
    )
    b = publish_province_bulletin_with_tts(
        tree, make_user, client_for, receivers=[tree["a"].code], priority=Priority.EMERGENCY,
        title="Cảnh báo lũ quét",
    )  # fmt: skip
    chairman = make_user("chu-tich-a", Role.APPROVER, tree["a"])
    r = client_for(chairman).post(
        "/broadcast/emergency/",
        {"unit": tree["a"].code, "text": "Lũ quét đang về.", "repeat": "1", "bulletin": str(b.pk),
         "step": "confirm", "devices": "2", "totp": totp_now(chairman)},
    )  # fmt: skip
    assert r.status_code == 302
    e = Emergency.objects.get(bulletin=b)
    approver = User.objects.get(username="appr_p")

    base = live_server.url
    with browser_page() as page:
        page.goto(f"{base}/accounts/login/")
        page.fill("input[name=username]", approver.username)
        page.fill("input[name=password]", PASSWORD)
        _submit(page, "main button[type=submit]")
        page.fill("input[name=token]", _code(approver))
        _submit(page, "main button[type=submit]")
        assert "/accounts/" not in page.url, page.content()[:2000]

        page.goto(f"{base}/bulletins/{b.pk}/")
        _submit(page, "#danger-zone button[data-action=cancel]")
        assert "hủy bản tin sẽ dừng cảnh báo trên loa" in page.inner_text("#totp-why")
        assert page.is_visible("input[name=totp]")

        page.fill("input[name=totp]", f"{(int(_code(approver)) + 1) % 1_000_000:06d}")
        _submit(page, "#btn-confirm")
        assert "Mã xác thực (TOTP) không đúng" in page.inner_text("#confirm-error")
        assert page.is_visible("input[name=totp]")  # typed again on the same page
        b.refresh_from_db()
        assert b.state == State.PUBLISHED

        page.fill("input[name=totp]", _code(approver))
        _submit(page, "#btn-confirm")
        assert page.url.rstrip("/").endswith(f"/bulletins/{b.pk}"), page.url
    b.refresh_from_db()
    assert b.state == State.CANCELLED
    assert handoffs.consume()["failed"] == 0  # the job the cancel queued
    e.refresh_from_db()
    assert e.state == Emergency.State.CANCELLED
    assert Command.objects.filter(pk=e.cancel_command_id, action="stop", params__item_id=e.item_id).exists()
