"""Console forms on bad input: the page comes back with a 400, a Vietnamese message and what the person typed
(not a redirect that drops it), and nothing is half-done."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.units.models import Unit, UnitSetting


@pytest.fixture
def console(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> Client:
    return client_for(make_user("tinh", Role.PROVINCE_ADMIN, tree["province"]))


def test_zone_form_keeps_the_typed_name(console: Client) -> None:
    response = console.post("/units/06652/zones/", {"name": "Thôn Đông # 3", "kind": "ban"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Tên chỉ được chứa chữ" in page
    assert 'value="Thôn Đông # 3"' in page and '<option value="ban" selected>' in page
    assert not Unit.objects.filter(name="Thôn Đông # 3").exists()


def test_zone_edit_form_keeps_the_typed_name(console: Client) -> None:
    response = console.post("/units/06652.001/edit/", {"name": "Tổ 1 <mới>", "kind": "to_dan_pho"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="Tổ 1 &lt;mới&gt;"' in page
    assert Unit.objects.get(code="06652.001").name == "Tổ dân phố 1"


def test_settings_are_saved_all_or_none(console: Client) -> None:
    response = console.post(
        "/units/06652/settings/", {"contact_phone": "0203 123 456", "station_name": "Đài " + "x" * 400}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Tên đài truyền thanh: dài quá 300 ký tự." in page and 'value="0203 123 456"' in page
    assert not UnitSetting.objects.filter(unit__code="06652").exists(), "half of the form was saved"


def test_user_form_keeps_what_was_typed(console: Client) -> None:
    before = User.objects.count()
    response = console.post(
        "/users/new/",
        {"unit": "06652", "role": "editor", "username": "Nguyễn A", "full_name": "Nguyễn Văn A"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Tên đăng nhập cần 3–63 ký tự" in page
    assert 'value="Nguyễn A"' in page and 'value="Nguyễn Văn A"' in page
    assert '<option value="editor" selected>' in page and '<option value="06652" selected>' in page
    assert User.objects.count() == before


def test_a_refused_role_leaves_no_account_behind(
    console: Client, tree: dict[str, Unit], make_user: Callable[..., User], token_for: Callable[..., str]
) -> None:
    """A province admin may not make system admins: the account that would have held the role is not made."""
    audit = AuditEntry.objects.count()
    form = {"unit": "06652", "role": "system_admin", "username": "mo-coi", "full_name": "Mồ Côi"}
    assert console.post("/users/new/", form).status_code == 403
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(User.objects.get(username='tinh'))}")
    response = api.post(
        "/api/v1/accounts/users?role=system_admin&unit_code=06652",
        {"username": "mo-coi-2", "full_name": "Mồ Côi"},
        content_type="application/json",
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert not User.objects.filter(username__startswith="mo-coi").exists()
    assert AuditEntry.objects.count() == audit
