"""The approval-policy page: a province admin sets the ordered steps of a unit; bad input is refused in
Vietnamese; the change is audited and applies to the workflow; others cannot reach it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.content.models import ApprovalPolicy
from loa.units.models import Unit
from tests.loa.content.helpers import People, notice  # type: ignore[import-not-found]

pytestmark = pytest.mark.django_db


def _steps(*pairs: tuple[str, str]) -> dict[str, list[str]]:
    roles = [r for r, _l in pairs] + [""] * (5 - len(pairs))
    labels = [lbl for _r, lbl in pairs] + [""] * (5 - len(pairs))
    return {"role": roles, "label": labels}


def test_province_admin_sets_two_steps_and_the_workflow_follows(
    people: People, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    tree = people.tree
    admin = client_for(make_user("qt-tinh", Role.PROVINCE_ADMIN, tree["province"]))
    listing = admin.get("/bulletins/policies/").content.decode()
    assert "Quảng Ninh" in listing and "Phường Hà Tu" in listing and "(mặc định)" in listing
    assert "Phú Xuân" not in listing  # another province
    page = admin.get(f"/bulletins/policies/{tree['province'].code}/").content.decode()
    assert page.count('name="role"') == 5
    r = admin.post(
        f"/bulletins/policies/{tree['province'].code}/",
        _steps(("editor", "Ban biên tập"), ("approver", "Lãnh đạo Sở")),
    )
    assert r.status_code == 302
    assert ApprovalPolicy.objects.get(unit=tree["province"]).steps == [
        {"role": "editor", "label": "Ban biên tập"},
        {"role": "approver", "label": "Lãnh đạo Sở"},
    ]
    entry = AuditEntry.objects.get(action="bulletin.policy_changed")
    assert entry.data["after"][0]["label"] == "Ban biên tập"
    # the workflow now asks the editorial board first
    status, data = people["editor_p"].post("", notice(tree["province"].code, [tree["a"].code]))
    bid = data["id"]
    assert people["editor_p"].transition(bid, "submit")[0] == 200
    assert people["appr_p"].transition(bid, "approve")[0] == 403  # step 1 is the board's
    assert people["editor_p2"].transition(bid, "approve")[0] == 200
    status, data = people["appr_p"].transition(bid, "approve")
    assert status == 200 and data["state"] == "approved"
    # back to the default in one button
    assert admin.post(f"/bulletins/policies/{tree['province'].code}/", {"reset": "1"}).status_code == 302
    assert ApprovalPolicy.objects.get(unit=tree["province"]).steps == [
        {"role": "approver", "label": "Người duyệt"}
    ]


@pytest.mark.parametrize(
    ("form", "words"),
    [
        (_steps(("editor", "Ban biên tập")), "Bước cuối"),
        (_steps(), "ít nhất một bước"),
        (_steps(("", "Thẩm định"), ("approver", "Lãnh đạo")), "Bước 1: hãy chọn"),
        (_steps(("boss", "Giám đốc")), "vai trò phải là"),
    ],
)
def test_bad_policies_are_refused_in_vietnamese(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    form: dict[str, Any],
    words: str,
) -> None:
    admin = client_for(make_user("qt-tinh", Role.PROVINCE_ADMIN, tree["province"]))
    r = admin.post(f"/bulletins/policies/{tree['a'].code}/", form)
    assert r.status_code == 400
    assert words in r.content.decode()
    assert (
        not ApprovalPolicy.objects.exists()
        and not AuditEntry.objects.filter(action="bulletin.policy_changed").exists()
    )


def test_only_unit_admins_reach_the_policy_page(
    people: People, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    tree = people.tree
    url = f"/bulletins/policies/{tree['province'].code}/"
    for who in ("editor_p", "appr_p", "op_a"):
        r = people[who].client.post(url, _steps(("approver", "Tôi tự duyệt")))
        assert r.status_code in (403, 404), who
    other = client_for(make_user("qt-hue", Role.PROVINCE_ADMIN, tree["other"]))
    assert other.get(url).status_code in (403, 404)
    assert not ApprovalPolicy.objects.exists()
