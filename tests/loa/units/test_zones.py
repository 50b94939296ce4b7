"""Zones under communes, through the API and the console."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.units.models import Unit


@pytest.fixture
def operator(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> Client:
    return client_for(make_user("op-a", Role.COMMUNE_OPERATOR, tree["a"]))


def test_operator_creates_renames_and_retires_a_zone(operator: Client, tree: dict[str, Unit]) -> None:
    r = operator.post(
        "/api/v1/units/06652/zones", {"name": "Thôn Đồng Mỏ", "kind": "thon"}, content_type="application/json"
    )
    assert r.status_code == 201, r.content
    zone = r.json()
    assert zone["code"] == "06652.002" and zone["parent_code"] == "06652" and zone["kind_label"] == "Thôn"
    r = operator.patch(
        f"/api/v1/units/{zone['code']}",
        {"name": "Thôn Đồng Mỏ 2", "kind": "ban"},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["name"] == "Thôn Đồng Mỏ 2"
    assert operator.delete(f"/api/v1/units/{zone['code']}").status_code == 204
    assert Unit.objects.get(code=zone["code"]).is_active is False, (
        "retired, never deleted: codes are never reused"
    )
    actions = list(AuditEntry.objects.filter(unit_code=zone["code"]).values_list("action", flat=True))
    assert sorted(actions) == ["unit.zone_created", "unit.zone_deactivated", "unit.zone_updated"]


@pytest.mark.parametrize(
    ("body", "code", "text"),
    [
        ({"name": "", "kind": "thon"}, "validation_error", "name"),
        ({"name": "Thôn 1", "kind": "lang"}, "validation_error", "kind"),
        ({"name": "<script>", "kind": "thon"}, "zone_name_invalid", "Tên chỉ được chứa"),
        ({"name": "Tổ dân phố 1", "kind": "to_dan_pho"}, "zone_exists", "đã có"),
    ],
)
def test_bad_zone_input_gets_a_vietnamese_4xx(
    operator: Client, body: dict[str, Any], code: str, text: str
) -> None:
    r = operator.post("/api/v1/units/06652/zones", body, content_type="application/json")
    assert 400 <= r.status_code < 500
    error = r.json()["error"]
    assert error["code"] == code and text in error["message"]


def test_malformed_json_and_unknown_unit(operator: Client) -> None:
    r = operator.post("/api/v1/units/06652/zones", "{not json", content_type="application/json")
    assert r.status_code in (400, 422) and r.json()["error"]["message"]
    r = operator.get("/api/v1/units/99999")
    assert r.status_code == 404
    assert r.json()["error"] == {
        "code": "unit_not_found",
        "details": [],
        "message": "Không tìm thấy đơn vị, hoặc đơn vị nằm ngoài phạm vi của bạn.",
    }


def test_zones_only_under_communes(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    admin = client_for(make_user("tinh", Role.PROVINCE_ADMIN, tree["province"]))
    r = admin.post(
        "/api/v1/units/22/zones", {"name": "Thôn X", "kind": "thon"}, content_type="application/json"
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "parent_not_commune"


def test_console_zone_form(operator: Client, tree: dict[str, Unit]) -> None:
    r = operator.post("/units/06652/zones/", {"name": "Bản Khe Lánh", "kind": "ban"}, follow=True)
    assert r.status_code == 200 and "Đã tạo Bản Khe Lánh" in r.content.decode()
    r = operator.post("/units/06652/zones/", {"name": "", "kind": "ban"}, follow=True)
    assert "không được để trống" in r.content.decode()


def test_viewer_cannot_manage_zones(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    viewer = client_for(make_user("xem", Role.VIEWER, tree["a"]))
    r = viewer.post(
        "/api/v1/units/06652/zones", {"name": "Thôn 9", "kind": "thon"}, content_type="application/json"
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
