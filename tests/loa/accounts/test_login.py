"""Signing in: Argon2, throttling and lockout, one-time passwords, TOTP enrolment and recovery codes, audit."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.contrib.auth.hashers import identify_hasher
from django.test import Client, override_settings
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.log import verify
from loa.audit.models import AuditEntry

PASSWORD = "Mat-khau-thu-nghiem-2026"  # what make_user gives (tests/conftest.py)


def login(client: Client, username: str, password: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_passwords_are_hashed_with_argon2_by_default(db: Any) -> None:
    from loa import settings as loa_settings  # the configured value (tests swap in a fast hasher)

    assert loa_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.Argon2PasswordHasher"])
def test_argon2_is_what_is_stored(db: Any) -> None:
    user = User.objects.create_user("argon", password=PASSWORD)
    assert identify_hasher(user.password).algorithm == "argon2"


def test_wrong_login_gets_a_vietnamese_message_and_is_audited(
    tree: Any, make_user: Callable[..., User]
) -> None:
    make_user("xa.vanhanh", Role.COMMUNE_OPERATOR, tree["a"])
    r = login(Client(), "xa.vanhanh", "sai-mat-khau")
    assert r.status_code == 400
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in r.content.decode()
    entry = AuditEntry.objects.filter(action="auth.login_failed").get()
    assert entry.data == {"username": "xa.vanhanh"}


def test_good_login_is_audited(tree: Any, make_user: Callable[..., User]) -> None:
    make_user("xa.vanhanh", Role.COMMUNE_OPERATOR, tree["a"])
    r = login(Client(), "xa.vanhanh", PASSWORD)
    assert r.status_code == 302 and r["Location"] == "/"
    assert AuditEntry.objects.filter(action="auth.login", actor_label="xa.vanhanh").count() == 1
    assert verify().ok


def test_lockout_after_five_failures(tree: Any, make_user: Callable[..., User]) -> None:
    make_user("xa.vanhanh", Role.COMMUNE_OPERATOR, tree["a"])
    client = Client()
    for _ in range(5):
        login(client, "xa.vanhanh", "sai")
    r = login(client, "xa.vanhanh", PASSWORD)
    assert r.status_code == 429
    assert "tạm bị khóa" in r.content.decode()
    assert AuditEntry.objects.filter(action="auth.locked_out").exists()
    assert not AuditEntry.objects.filter(action="auth.login").exists()


@pytest.mark.parametrize(
    "form", [{}, {"username": "x" * 500, "password": "y"}, {"username": "", "password": ""}]
)
def test_malformed_login_forms_are_4xx(db: Any, form: dict[str, str]) -> None:
    r = Client().post("/accounts/login/", form)
    assert r.status_code == 400


def test_one_time_password_must_be_replaced(tree: Any, make_user: Callable[..., User]) -> None:
    make_user("moi", Role.VIEWER, tree["a"], must_change_password=True)
    client = Client()
    login(client, "moi", PASSWORD)
    r = client.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/password/")
    r = client.post("/accounts/password/", {"new_password1": "123", "new_password2": "123"})
    assert r.status_code == 400 and "quá ngắn" in r.content.decode()
    r = client.post("/accounts/password/", {"new_password1": "Song-Bach-Dang-1288", "new_password2": "khac"})
    assert r.status_code == 400 and "không khớp" in r.content.decode()
    r = client.post(
        "/accounts/password/",
        {"new_password1": "Song-Bach-Dang-1288", "new_password2": "Song-Bach-Dang-1288"},
    )
    assert r.status_code == 302
    assert client.get("/").status_code == 200
    assert AuditEntry.objects.filter(action="auth.password_changed").exists()


def _secret_from(page: str) -> bytes:
    match = re.search(r'id="otp-secret">([A-Z2-7]+)<', page)
    assert match, "the enrolment page shows the secret as text"
    b32 = match.group(1)
    return base64.b32decode(b32 + "=" * (-len(b32) % 8))


def test_approver_must_enrol_totp_with_qr_and_gets_recovery_codes(
    tree: Any, make_user: Callable[..., User]
) -> None:
    make_user("duyet", Role.APPROVER, tree["a"])
    client = Client()
    login(client, "duyet", PASSWORD)
    r = client.get("/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/2fa/setup/")
    page = client.get(r["Location"]).content.decode()
    assert "<svg" in page, "a QR code is shown"
    key = _secret_from(page)
    r = client.post("/accounts/2fa/setup/", {"token": f"{totp(key):06d}"})
    assert r.status_code == 200
    codes = re.findall(r"<li><code>(\w+)</code></li>", r.content.decode())
    assert len(codes) == 10
    assert client.get("/").status_code == 200
    assert AuditEntry.objects.filter(action="auth.2fa_enrolled").exists()

    # A new session must pass the second factor; a recovery code works exactly once.
    other = Client()
    login(other, "duyet", PASSWORD)
    assert other.get("/")["Location"].startswith("/accounts/2fa/verify/")
    assert other.post("/accounts/2fa/verify/", {"token": codes[0]}).status_code == 302
    assert other.get("/").status_code == 200
    third = Client()
    login(third, "duyet", PASSWORD)
    assert third.post("/accounts/2fa/verify/", {"token": codes[0]}).status_code == 400, "used once only"
    assert TOTPDevice.objects.filter(user__username="duyet", confirmed=True).count() == 1
    r = Client()
    login(r, "duyet", PASSWORD)
    answer = r.post("/accounts/2fa/verify/", {"token": "123456" if totp(key) != 123456 else "654321"})
    assert answer.status_code == 400 and "Mã không đúng." in answer.content.decode()
    assert AuditEntry.objects.filter(action="auth.2fa_failed").exists()


def test_wrong_code_at_enrolment(tree: Any, make_user: Callable[..., User]) -> None:
    make_user("duyet2", Role.APPROVER, tree["a"])
    client = Client()
    login(client, "duyet2", PASSWORD)
    key = _secret_from(client.get("/accounts/2fa/setup/").content.decode())
    r = client.post("/accounts/2fa/setup/", {"token": "000000" if totp(key) != 0 else "111111"})
    assert r.status_code == 400 and "Mã không đúng" in r.content.decode()
    assert client.get("/").status_code == 302, "still not through"


def test_the_enrolment_page_saves_nothing_until_a_code_is_sent(
    tree: Any, make_user: Callable[..., User]
) -> None:
    """A GET changes no state: showing the QR code creates no device; the key shown is the one a code confirms."""
    make_user("duyet5", Role.APPROVER, tree["a"])
    client = Client()
    login(client, "duyet5", PASSWORD)
    first = _secret_from(client.get("/accounts/2fa/setup/").content.decode())
    again = _secret_from(client.get("/accounts/2fa/setup/").content.decode())
    assert first == again, "reloading the page keeps the key the phone has scanned"
    assert not TOTPDevice.objects.filter(user__username="duyet5").exists()
    assert client.post("/accounts/2fa/setup/", {"token": f"{totp(first):06d}"}).status_code == 200
    assert TOTPDevice.objects.filter(user__username="duyet5", confirmed=True).count() == 1
    assert not TOTPDevice.objects.filter(user__username="duyet5", confirmed=False).exists()


def _wrong(key: bytes) -> str:
    return "000000" if totp(key) != 0 else "111111"


def test_right_code_just_after_a_wrong_one_is_accepted(tree: Any, make_user: Callable[..., User]) -> None:
    """django-otp refuses every code for a second after a wrong one; that wait is sat out, not blamed on the
    phone's clock (issue 19).

    The test starts one second into a 30 s step (time-machine, ticking) so that the code of the setup and the next
    one are known: run across a step boundary, the setup's sat-out second let the device learn a drift of -1 and
    the "next" code was then two steps ahead and refused (a CI run at 17:57:30 UTC)."""
    step_start = (int(time.time()) // 30 + 1) * 30 + 1
    with time_machine.travel(step_start, tick=True):
        make_user("duyet3", Role.APPROVER, tree["a"])
        client = Client()
        login(client, "duyet3", PASSWORD)
        key = _secret_from(client.get("/accounts/2fa/setup/").content.decode())
        assert client.post("/accounts/2fa/setup/", {"token": _wrong(key)}).status_code == 400
        assert client.post("/accounts/2fa/setup/", {"token": f"{totp(key):06d}"}).status_code == 200
        other = Client()
        login(other, "duyet3", PASSWORD)
        assert other.post("/accounts/2fa/verify/", {"token": _wrong(key)}).status_code == 400
        # The code now on the phone was used by the setup; the phone's next code is accepted after the wait.
        assert other.post("/accounts/2fa/verify/", {"token": f"{totp(key, drift=1):06d}"}).status_code == 302
        assert time.time() < step_start + 29, "the test stayed inside one step"


def test_a_code_used_once_already_is_told_so(tree: Any, make_user: Callable[..., User]) -> None:
    """Signing in on a second screen with the code just used on the first: django-otp refuses it (a code is good
    once) and the page says so, instead of "Mã không đúng … kiểm tra giờ trên điện thoại" (seen in the demo)."""
    step_start = (int(time.time()) // 30 + 1) * 30 + 1
    with time_machine.travel(step_start, tick=True):
        make_user("duyet6", Role.APPROVER, tree["a"])
        client = Client()
        login(client, "duyet6", PASSWORD)
        key = _secret_from(client.get("/accounts/2fa/setup/").content.decode())
        code = f"{totp(key):06d}"
        assert client.post("/accounts/2fa/setup/", {"token": code}).status_code == 200
        other = Client()
        login(other, "duyet6", PASSWORD)
        r = other.post("/accounts/2fa/verify/", {"token": code})
        page = r.content.decode()
        assert r.status_code == 400 and "vừa được dùng" in page and "mã mới" in page, page
        assert "Mã không đúng" not in page and "giờ trên điện thoại" not in page
        # a wrong code is still called wrong
        wrong = other.post("/accounts/2fa/verify/", {"token": _wrong(key)}).content.decode()
        assert "Mã không đúng" in wrong and "vừa được dùng" not in wrong
        # the next code goes through
        assert other.post("/accounts/2fa/verify/", {"token": f"{totp(key, drift=1):06d}"}).status_code == 302
        assert time.time() < step_start + 29, "the test stayed inside one step"


def test_a_code_during_a_long_wait_is_told_so(tree: Any, make_user: Callable[..., User]) -> None:
    make_user("duyet4", Role.APPROVER, tree["a"])
    client = Client()
    login(client, "duyet4", PASSWORD)
    key = _secret_from(client.get("/accounts/2fa/setup/").content.decode())
    assert client.post("/accounts/2fa/setup/", {"token": _wrong(key)}).status_code == 400  # saves the device
    TOTPDevice.objects.filter(user__username="duyet4").update(
        throttling_failure_count=6, throttling_failure_timestamp=timezone.now()
    )
    r = client.post("/accounts/2fa/setup/", {"token": f"{totp(key):06d}"})
    page = r.content.decode()
    assert r.status_code == 400 and "không được kiểm tra" in page and "giây" in page
    assert "giờ trên điện thoại" not in page, "the phone is not to blame"


def test_api_session_of_unverified_admin_is_refused(tree: Any, make_user: Callable[..., User]) -> None:
    make_user("tinh", Role.PROVINCE_ADMIN, tree["province"])
    client = Client()
    login(client, "tinh", PASSWORD)
    r = client.get("/api/v1/accounts/me")
    assert r.status_code == 401
