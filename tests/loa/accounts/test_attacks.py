"""Attacks that once got through (issue 20), each replayed against the real server through the Django client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from loa.accounts.models import ApiToken, User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry

PASSWORD = "Mat-khau-thu-nghiem-2026"


def login(client: Client, username: str, password: str, **headers: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password}, **headers)


# ---- 1. lockout bypass with a forged X-Forwarded-For ------------------------------------------------------


def test_forged_forwarded_for_does_not_escape_the_lockout(
    tree: Any, make_user: Callable[..., User], settings: Any
) -> None:
    """Without a trusted proxy, X-Forwarded-For is the client's own claim: rotating it changes nothing (here the
    header is what an appending proxy forwards: the forged part, then the real address)."""
    settings.LOA_TRUSTED_PROXIES = 0
    make_user("xa.vanhanh", Role.COMMUNE_OPERATOR, tree["a"])
    client = Client()
    for i in range(5):
        login(client, "xa.vanhanh", "sai", HTTP_X_FORWARDED_FOR=f"93.184.216.{i + 1}, 192.0.2.10")
    r = login(client, "xa.vanhanh", PASSWORD, HTTP_X_FORWARDED_FOR="151.101.1.77, 192.0.2.10")
    assert r.status_code == 429, "a locked user must not sign in with another forged header"
    assert not AuditEntry.objects.filter(action="auth.login").exists()


def test_behind_a_trusted_proxy_the_left_part_of_the_header_is_ignored(
    tree: Any, make_user: Callable[..., User], settings: Any
) -> None:
    """Behind one proxy the client is the right-most entry (what nginx saw); anything a client prepends is not."""
    settings.LOA_TRUSTED_PROXIES = 1
    make_user("xa.vanhanh", Role.COMMUNE_OPERATOR, tree["a"])
    client = Client()
    for i in range(5):
        login(client, "xa.vanhanh", "sai", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 192.0.2.10")
    r = login(client, "xa.vanhanh", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.77, 192.0.2.10")
    assert r.status_code == 429
    # the audit log names the client as the proxy saw it, not the proxy and not the forged part
    assert set(AuditEntry.objects.filter(action="auth.login_failed").values_list("ip", flat=True)) == {
        "192.0.2.10"
    }
    # another real client (another address as seen by the proxy) is not locked by those five failures
    r = login(Client(), "xa.vanhanh", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.11")
    assert r.status_code == 302


def test_the_user_name_alone_is_locked_after_the_higher_limit(
    tree: Any, make_user: Callable[..., User], settings: Any
) -> None:
    """Real different addresses (a botnet): 4 failures each stay under the per-address limit, but 20 in all lock."""
    settings.LOA_TRUSTED_PROXIES = 0
    make_user("xa.vanhanh", Role.COMMUNE_OPERATOR, tree["a"])
    for i in range(settings.LOA_LOGIN_USER_FAILURE_LIMIT // 4):
        client = Client(REMOTE_ADDR=f"198.51.100.{i + 1}")
        for _ in range(4):
            assert login(client, "xa.vanhanh", "sai").status_code == 400
    r = login(Client(REMOTE_ADDR="203.0.113.5"), "xa.vanhanh", PASSWORD)
    assert r.status_code == 429 and "tạm bị khóa" in r.content.decode()
    assert AuditEntry.objects.filter(action="auth.locked_out").exists()


# ---- 2 and 3. tokens: the user's two-factor rule, revoked with the credentials and rights they were made under


def _bearer(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def _new_token(user: User) -> str:
    key = ApiToken.new_key()
    ApiToken.objects.create(
        user=user, name="cũ", prefix=key[:8], key_hash=ApiToken.hash_key(key), scopes=["*"]
    )
    return key


def test_a_token_of_a_user_promoted_to_a_two_factor_role_is_refused(
    tree: Any, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    """The attack: a token made before a promotion kept working with the new rights and no second factor."""
    user = make_user("bi.thang.chuc", Role.EDITOR, tree["a"])
    key = _new_token(user)
    assert Client().get("/api/v1/accounts/me", **_bearer(key)).status_code == 200
    admin = make_user("tinh.admin", Role.PROVINCE_ADMIN, tree["province"])
    r = client_for(admin).post(
        f"/api/v1/accounts/users/{user.pk}/roles",
        {"role": Role.PROVINCE_ADMIN, "unit_code": tree["province"].code},
        content_type="application/json",
    )
    assert r.status_code == 201
    for path in ("/api/v1/accounts/me", "/api/v1/audit", "/api/v1/accounts/users"):
        assert Client().get(path, **_bearer(key)).status_code == 401, path
    assert ApiToken.objects.get(user=user).revoked_at is not None
    entry = AuditEntry.objects.filter(action="token.revoked_all").get()
    assert entry.data["reason"] == "rights_raised" and entry.data["user"] == "bi.thang.chuc"


def test_a_token_of_a_two_factor_role_without_a_confirmed_device_gets_403(
    tree: Any, make_user: Callable[..., User]
) -> None:
    """Even a token that survived (made in the shell, or a role granted by a raw insert): no TOTP device, no API."""
    user = make_user("duyet.khong.totp", Role.APPROVER, tree["a"])
    key = _new_token(user)
    r = Client().get("/api/v1/accounts/me", **_bearer(key))
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["code"] == "two_factor_required" and "xác thực hai bước" in error["message"]
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    assert Client().get("/api/v1/accounts/me", **_bearer(key)).status_code == 200


def test_tokens_are_revoked_by_a_password_change(
    tree: Any, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    user = make_user("xa.vanhanh", Role.COMMUNE_OPERATOR, tree["a"])
    key = _new_token(user)
    client = client_for(user)
    r = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "Song-Bach-Dang-1288",
            "new_password2": "Song-Bach-Dang-1288",
        },
    )
    assert r.status_code == 302
    assert Client().get("/api/v1/accounts/me", **_bearer(key)).status_code == 401
    assert AuditEntry.objects.get(action="token.revoked_all").data["reason"] == "password_changed"


def test_tokens_are_revoked_by_a_password_reset_and_a_deactivation_in_the_back_office(
    tree: Any, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    root = make_user("root", Role.SYSTEM_ADMIN, is_staff=True, is_superuser=True)
    admin = client_for(root)
    user = make_user("xa.vanhanh", Role.COMMUNE_OPERATOR, tree["a"])
    key = _new_token(user)
    r = admin.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": "Song-Bach-Dang-1288", "password2": "Song-Bach-Dang-1288", "usable_password": "true"},
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    assert Client().get("/api/v1/accounts/me", **_bearer(key)).status_code == 401
    assert AuditEntry.objects.get(action="token.revoked_all").data["reason"] == "password_reset"

    key = _new_token(user)
    user.refresh_from_db()
    user.is_active = False
    user.save()
    assert ApiToken.objects.get(key_hash=ApiToken.hash_key(key)).revoked_at is not None
    assert AuditEntry.objects.filter(action="token.revoked_all").latest("id").data["reason"] == "deactivated"


# ---- 6. a password change asks for the current password (except the forced first change) ----------------


def test_a_stolen_session_cannot_change_the_password_without_the_current_one(
    tree: Any, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    user = make_user("xa.vanhanh", Role.COMMUNE_OPERATOR, tree["a"])
    stolen = client_for(user)
    new = {"new_password1": "Song-Bach-Dang-1288", "new_password2": "Song-Bach-Dang-1288"}
    assert "current-password" in stolen.get("/accounts/password/").content.decode()
    r = stolen.post("/accounts/password/", new)
    assert r.status_code == 400
    r = stolen.post("/accounts/password/", {"old_password": "doan-mo", **new})
    assert r.status_code == 400 and "Mật khẩu hiện tại không đúng." in r.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD), "the password did not change"
    assert not AuditEntry.objects.filter(action="auth.password_changed").exists()
    assert stolen.post("/accounts/password/", {"old_password": PASSWORD, **new}).status_code == 302
    user.refresh_from_db()
    assert user.check_password("Song-Bach-Dang-1288")


def test_the_forced_first_change_needs_no_current_password(tree: Any, make_user: Callable[..., User]) -> None:
    make_user("moi", Role.VIEWER, tree["a"], must_change_password=True)
    client = Client()
    login(client, "moi", PASSWORD)
    assert "current-password" not in client.get("/accounts/password/").content.decode()
    r = client.post(
        "/accounts/password/",
        {"new_password1": "Song-Bach-Dang-1288", "new_password2": "Song-Bach-Dang-1288"},
    )
    assert r.status_code == 302
    assert AuditEntry.objects.get(action="auth.password_changed").data == {"first_change": True}
