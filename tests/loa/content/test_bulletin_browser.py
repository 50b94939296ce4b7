"""End to end in a real browser (Debian's Chromium): a province editor writes a text notice for commune A,
listens to the TTS preview, submits it, cannot approve it; an approver (with TOTP) approves and publishes it;
it shows in commune A's inbox and not in commune B's."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.content.models import Bulletin, FeedItem
from loa.units.models import Unit
from tests.browser import browser_page  # type: ignore[import-not-found]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Mat-khau-thu-nghiem-2026"
TOTP_KEY = "3132333435363738393031323334353637383930"  # hex, as django_otp stores it
TITLE = "Thông báo lịch cắt điện ngày 22/5"
BODY = (
    "UBND phường thông báo: từ 7h30 đến 11h ngày 22/5/2026 tạm ngừng cấp điện tại tổ dân phố 1 "
    "để bảo dưỡng đường dây. Mọi thắc mắc liên hệ số 0203 3825 123."
)


def _submit(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def _sign_in(page: Any, base: str, username: str, totp_key: str | None = None) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    _submit(page, "main button[type=submit]")
    if totp_key is not None:
        assert "/accounts/2fa/" in page.url, page.url
        page.fill("input[name=token]", f"{totp(bytes.fromhex(totp_key)):06d}")
        _submit(page, "main button[type=submit]")
    assert "/accounts/" not in page.url, page.content()[:2000]


def _wait_until(page: Any, predicate: str, seconds: float) -> None:
    """Poll a predicate with page.evaluate (the console's CSP forbids the eval that wait_for_function uses)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(predicate):
        assert time.monotonic() < deadline, (
            f"timed out: {predicate}; status: {page.inner_text('#tts-status')}"
        )
        page.wait_for_timeout(100)


def _api_status(page: Any, path: str, body: dict[str, Any]) -> int:
    """A call from the page itself, with the session and the CSRF token the console uses."""
    return int(
        page.evaluate(
            """async ([path, body]) => {
                const csrf = document.querySelector('[name=csrfmiddlewaretoken]').value;
                const r = await fetch(path, {method: 'POST', credentials: 'same-origin',
                    headers: {'Content-Type': 'application/json', 'X-CSRFToken': csrf},
                    body: JSON.stringify(body)});
                return r.status;
            }""",
            [path, body],
        )
    )


def test_notice_from_editor_to_commune_inbox(
    live_server: Any, tree: dict[str, Unit], make_user: Callable[..., User]
) -> None:
    editor = make_user("bientap", Role.EDITOR, tree["province"])
    approver = make_user("lanhdao", Role.APPROVER, tree["province"])
    User.objects.filter(pk=editor.pk).update(full_name="Nguyễn Văn Biên")
    User.objects.filter(pk=approver.pk).update(full_name="Trần Thị Duyệt")
    TOTPDevice.objects.create(user=approver, name="điện thoại", confirmed=True, key=TOTP_KEY)
    make_user("xa-a", Role.COMMUNE_OPERATOR, tree["a"])
    make_user("xa-b", Role.COMMUNE_OPERATOR, tree["b"])
    base = live_server.url

    with browser_page(viewport={"width": 390, "height": 844}) as page:  # a phone
        # 1. the editor writes a text notice for commune A
        _sign_in(page, base, "bientap")
        page.goto(f"{base}/bulletins/new/")
        page.fill("#f-title", TITLE)
        page.fill("#f-body", BODY)
        assert page.inner_text("#pv-title") == TITLE  # the live preview follows the form
        page.check(f"input[name=receivers][value='{tree['a'].code}']")
        # 2. "read as" from the normalizer, then listen to the TTS preview
        page.click("#btn-normalize")
        _wait_until(page, "() => document.getElementById('f-read-as').value.length > 0", 20)
        read_as = page.input_value("#f-read-as")
        assert "bảy giờ ba mươi" in read_as and "ủy ban nhân dân" in read_as.lower(), read_as
        page.click("#btn-preview")
        # after loadedmetadata the audio element knows its duration
        _wait_until(
            page,
            """() => { const a = document.getElementById('tts-audio');
                       return Boolean(a.src) && a.readyState >= 1 && a.duration > 0; }""",
            60,
        )
        duration = page.evaluate("document.getElementById('tts-audio').duration")
        assert duration > 3, duration
        assert re.search(r"Nghe thử: \d+ giây", page.inner_text("#tts-status"))
        _submit(page, "#btn-save")
        assert re.search(r"/bulletins/\d+/$", page.url), page.url
        bulletin_id = int(page.url.rstrip("/").rsplit("/", 1)[-1])
        assert page.get_attribute("#bulletin-state", "data-state") == "draft"
        # the previewed speech was kept on save: the bulletin has its audio
        assert page.locator("#bulletin-audio").count() == 1 and page.locator("#no-audio").count() == 0
        # 3. submit it
        _submit(page, "[data-action=submit]")
        assert page.get_attribute("#bulletin-state", "data-state") == "submitted"
        # 4. the author cannot approve: no button, and the API refuses
        assert page.locator("[data-action=approve]").count() == 0
        status = _api_status(page, f"/api/v1/bulletins/{bulletin_id}/transitions", {"name": "approve"})
        assert status == 403
        assert Bulletin.objects.get(pk=bulletin_id).state == "submitted"

        # 5. the approver (two-factor) finds it in the approval queue, approves and publishes
        _sign_in(page, base, "lanhdao", TOTP_KEY)
        page.goto(f"{base}/bulletins/approvals/")
        _submit(page, f"#approval-queue a:has-text('{TITLE}')")
        assert "Nguyễn Văn Biên" in page.inner_text("#provenance")
        _submit(page, "[data-action=approve]")
        assert page.get_attribute("#bulletin-state", "data-state") == "approved"
        assert "Trần Thị Duyệt" in page.inner_text("#approvals")
        _submit(page, "[data-action=publish]")  # a confirmation names what publishing reaches
        assert "Phát hành tới 1 xã/phường" in page.inner_text("#confirm-scope")
        assert Bulletin.objects.get(pk=bulletin_id).state == "approved"
        _submit(page, "#btn-confirm")
        assert page.get_attribute("#bulletin-state", "data-state") == "published"

        # 6. it waits in commune A's inbox, and not in commune B's
        _sign_in(page, base, "xa-a")
        page.goto(f"{base}/bulletins/inbox/")
        row = page.locator(f"#inbox tr[data-bulletin='{bulletin_id}']")
        assert row.count() == 1 and "Mới" in row.inner_text()
        _submit(page, f"#inbox tr[data-bulletin='{bulletin_id}'] button:has-text('Nhận')")
        assert "Đã nhận" in page.locator(f"#inbox tr[data-bulletin='{bulletin_id}']").inner_text()
        _sign_in(page, base, "xa-b")
        page.goto(f"{base}/bulletins/inbox/")
        assert page.locator(f"#inbox tr[data-bulletin='{bulletin_id}']").count() == 0
        assert TITLE not in page.content()
        page.goto(f"{base}/bulletins/{bulletin_id}/")
        assert TITLE not in page.content()

    assert list(FeedItem.objects.filter(bulletin_id=bulletin_id).values_list("unit__code", "state")) == [
        (tree["a"].code, "taken")
    ]
    actions = set(AuditEntry.objects.filter(object_id=str(bulletin_id)).values_list("action", flat=True))
    assert {"bulletin.created", "bulletin.submit", "bulletin.approve", "bulletin.publish"} <= actions
