"""The API base: OpenAPI and offline docs, token authentication with scopes, one error format."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from loa.accounts.models import ApiToken, User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.units.models import Unit


def bearer(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def test_openapi_schema_and_docs_are_for_signed_in_users_only(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    token_for: Callable[..., str],
) -> None:
    """Issue 20, item 9: an outsider gets neither the schema nor the docs page."""
    r = Client().get("/api/v1/openapi.json")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
    r = Client().get("/api/v1/docs")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    assert Client(HTTP_AUTHORIZATION="Bearer loa_sai").get("/api/v1/openapi.json").status_code == 401
    viewer = make_user("nguoi.xem", Role.VIEWER, tree["a"])
    assert client_for(viewer).get("/api/v1/docs").status_code == 200
    assert bearer(token_for(viewer)).get("/api/v1/openapi.json").status_code == 200
    r = client_for(viewer).get("/api/v1/openapi.json")
    assert r.status_code == 200
    schema = r.json()
    assert schema["info"]["title"] == "Loa API"
    assert "/api/v1/units" in schema["paths"] and "/api/v1/accounts/tokens" in schema["paths"]


def test_interactive_docs_work_offline(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    page = client_for(make_user("nguoi.xem", Role.VIEWER, tree["a"])).get("/api/v1/docs").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources, "the docs page loads its assets"
    assert all(s.startswith("/") and not s.startswith("//") for s in sources), sources


def test_token_with_scopes(
    tree: dict[str, Unit], make_user: Callable[..., User], token_for: Callable[..., str]
) -> None:
    user = make_user("op", Role.COMMUNE_OPERATOR, tree["a"])
    read_only = bearer(token_for(user, ["unit.view"]))
    assert read_only.get("/api/v1/units/06652").status_code == 200
    r = read_only.post(
        "/api/v1/units/06652/zones", {"name": "Thôn 7", "kind": "thon"}, content_type="application/json"
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
    full = bearer(token_for(user, ["*"]))
    assert (
        full.post(
            "/api/v1/units/06652/zones", {"name": "Thôn 7", "kind": "thon"}, content_type="application/json"
        ).status_code
        == 201
    )


@pytest.mark.parametrize(
    "header", ["Bearer loa_khong-ton-tai", "Bearer ", "Basic abc", "Bearer " + "x" * 500]
)
def test_bad_tokens_get_401_in_the_error_format(db: Any, header: str) -> None:
    r = Client(HTTP_AUTHORIZATION=header).get("/api/v1/units")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "not_authenticated"
    assert "mã truy cập" in r.json()["error"]["message"]


def test_revoked_and_expired_tokens_stop_working(
    tree: dict[str, Unit], make_user: Callable[..., User], token_for: Callable[..., str]
) -> None:
    user = make_user("op", Role.COMMUNE_OPERATOR, tree["a"])
    key = token_for(user)
    token = ApiToken.objects.get(key_hash=ApiToken.hash_key(key))
    token.expires_at = timezone.now() - timedelta(seconds=1)
    token.save()
    assert bearer(key).get("/api/v1/units").status_code == 401
    token.expires_at = None
    token.revoked_at = timezone.now()
    token.save()
    assert bearer(key).get("/api/v1/units").status_code == 401


def test_token_lifecycle_from_the_console_session(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    session = client_for(make_user("op", Role.COMMUNE_OPERATOR, tree["a"]))
    r = session.post(
        "/api/v1/accounts/tokens",
        {"name": "Máy phát tin", "scopes": ["unit.view"]},
        content_type="application/json",
    )
    assert r.status_code == 201
    created = r.json()
    assert created["token"].startswith("loa_") and created["prefix"] == created["token"][:8]
    stored = ApiToken.objects.get(pk=created["id"])
    assert created["token"] not in (stored.key_hash, stored.prefix), "only a hash is kept"
    api = bearer(created["token"])
    assert api.get("/api/v1/accounts/me").json()["username"] == "op"
    r = api.post("/api/v1/accounts/tokens", {"name": "x", "scopes": ["*"]}, content_type="application/json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "session_required"
    assert session.delete(f"/api/v1/accounts/tokens/{created['id']}").status_code == 204
    assert api.get("/api/v1/accounts/me").status_code == 401
    assert {"token.created", "token.revoked"} <= set(AuditEntry.objects.values_list("action", flat=True))


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "x", "scopes": []}, "scopes_required"),
        ({"name": "x", "scopes": ["nuke.everything"]}, "scope_invalid"),
        ({"name": "", "scopes": ["*"]}, "token_name_invalid"),
        ({"name": "x", "scopes": ["*"], "expires_at": "2001-01-01T00:00:00Z"}, "token_expiry_past"),
        ({"name": "x", "scopes": "*"}, "validation_error"),
        ({"name": "x", "scopes": ["*"], "expires_at": "ngày mai"}, "validation_error"),
    ],
)
def test_token_validation_messages(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    body: dict[str, Any],
    code: str,
) -> None:
    session = client_for(make_user("op", Role.COMMUNE_OPERATOR, tree["a"]))
    r = session.post("/api/v1/accounts/tokens", body, content_type="application/json")
    assert 400 <= r.status_code < 500
    error = r.json()["error"]
    assert error["code"] == code and error["message"]


def test_province_admin_creates_a_user_and_grants_roles(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    admin_user = make_user("tinh", Role.PROVINCE_ADMIN, tree["province"])
    admin = client_for(admin_user)
    r = admin.post(
        "/api/v1/accounts/users?role=commune_operator&unit_code=06658",
        {"username": "xa2.moi", "full_name": "Cán bộ mới"},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    new = r.json()
    assert len(new["one_time_password"]) >= 16
    assert User.objects.get(username="xa2.moi").must_change_password
    r = admin.post(
        f"/api/v1/accounts/users/{new['user']['id']}/roles",
        {"role": "viewer", "unit_code": "06652"},
        content_type="application/json",
    )
    assert r.status_code == 201
    grant_id = r.json()["id"]
    r = admin.post(
        f"/api/v1/accounts/users/{new['user']['id']}/roles",
        {"role": "system_admin"},
        content_type="application/json",
    )
    assert r.status_code == 403, "only system admins make system admins"
    r = admin.post(
        f"/api/v1/accounts/users/{admin_user.pk}/roles",
        {"role": "approver", "unit_code": "22"},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "self_grant"
    r = admin.post(
        f"/api/v1/accounts/users/{new['user']['id']}/roles",
        {"role": "viewer", "unit_code": "19768"},
        content_type="application/json",
    )
    assert r.status_code == 404, "another province is out of scope"
    assert admin.delete(f"/api/v1/accounts/roles/{grant_id}").status_code == 204
    actions = list(AuditEntry.objects.order_by("pk").values_list("action", flat=True))
    assert (
        actions.count("role.granted") == 2
        and actions.count("role.revoked") == 1
        and "user.created" in actions
    )


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("role=pope&unit_code=06658", "role_invalid"),
        ("role=viewer&unit_code=99999", "unit_not_found"),
    ],
)
def test_user_creation_errors(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    query: str,
    code: str,
) -> None:
    admin = client_for(make_user("tinh", Role.PROVINCE_ADMIN, tree["province"]))
    r = admin.post(
        f"/api/v1/accounts/users?{query}", {"username": "ok.name"}, content_type="application/json"
    )
    assert 400 <= r.status_code < 500 and r.json()["error"]["code"] == code
    r = admin.post(
        "/api/v1/accounts/users?role=viewer&unit_code=06658",
        {"username": "Có Dấu"},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "username_invalid"


def test_unknown_api_path_is_404_json(db: Any) -> None:
    r = Client().get("/api/v1/khong-co")
    assert r.status_code == 404


def test_user_list_does_not_query_per_user(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    django_assert_max_num_queries: Any,
) -> None:
    admin = client_for(make_user("tinh", Role.PROVINCE_ADMIN, tree["province"]))
    admin.get("/api/v1/accounts/users")  # warm the session
    for i in range(30):
        make_user(f"xa.{i}", Role.VIEWER, tree["a"] if i % 2 else tree["b"])
    with django_assert_max_num_queries(12):
        r = admin.get("/api/v1/accounts/users")
    assert r.status_code == 200 and len(r.json()) == 31
    assert all(u["roles"] for u in r.json())
