"""The province sets its feedback categories (deadlines in working hours, retention), routing rules and canned
answers; the national working calendar is the system admins'. Each change is audited; nobody else may."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.citizen.models import CalendarDay, CannedAnswer, FeedbackCategory, RoutingRule
from loa.units.models import Unit

pytestmark = pytest.mark.django_db


def _as(client_for: Callable[[User], Client], user: User, unit: Unit) -> Client:
    client = client_for(user)
    client.post("/pick-unit/", {"unit": unit.code, "next": "/"})
    return client


def test_a_province_admin_sets_categories_routes_and_canned_answers(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    admin = _as(client_for, make_user("tinh", Role.PROVINCE_ADMIN, tree["province"]), tree["province"])
    assert admin.get("/feedback/cai-dat/").status_code == 200
    national = FeedbackCategory.objects.get(code="khac")
    refused = admin.post("/feedback/cai-dat/linh-vuc/", {"category": national.pk, "name": "Khác", "ack_hours": "1",
                                                           "answer_hours": "2", "remind_hours": "1", "retention_days": "30"})  # fmt: skip
    assert refused.status_code == 403
    admin.post("/feedback/cai-dat/linh-vuc/", {"code": "cay-xanh", "name": "Cây xanh", "ack_hours": "4",
                                               "answer_hours": "24", "remind_hours": "4", "retention_days": "180",
                                               "is_active": "on"})  # fmt: skip
    mine = FeedbackCategory.objects.get(code="22-cay-xanh")
    assert (mine.unit, mine.answer_hours, mine.retention_days) == (tree["province"], 24, 180)
    admin.post("/feedback/cai-dat/linh-vuc/", {"category": mine.pk, "name": "Cây xanh đô thị", "ack_hours": "2",
                                               "answer_hours": "16", "remind_hours": "2", "retention_days": "90",
                                               "is_active": "on"})  # fmt: skip
    mine.refresh_from_db()
    assert (mine.name, mine.answer_hours) == ("Cây xanh đô thị", 16)
    bad = admin.post("/feedback/cai-dat/linh-vuc/", {"category": mine.pk, "name": "X", "ack_hours": "0",
                                                     "answer_hours": "16", "remind_hours": "2", "retention_days": "90"})  # fmt: skip
    assert bad.status_code == 302 and FeedbackCategory.objects.get(pk=mine.pk).ack_hours == 2
    admin.post("/feedback/cai-dat/quy-tac/", {"category_id": mine.pk, "area_code": "22", "target_code": "22"})
    assert RoutingRule.objects.get().target == tree["province"]
    admin.post("/feedback/cai-dat/quy-tac/", {"category_id": mine.pk, "area_code": "46", "target_code": "46"})
    assert RoutingRule.objects.count() == 1, "no rule for another province"
    admin.post(
        "/feedback/cai-dat/mau-tra-loi/",
        {"title": "Đã thu gom", "text": "Tổ vệ sinh đã thu gom rác tại vị trí phản ánh."},
    )
    assert CannedAnswer.objects.get().unit == tree["province"]
    assert (
        admin.post("/feedback/cai-dat/lich/", {"date": "24/11/2026", "name": "Ngày Văn hóa"}).status_code
        == 403
    )
    assert AuditEntry.objects.filter(action="feedback.settings_changed").count() == 4


def test_the_calendar_is_the_system_admins_and_operators_change_nothing(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    root = _as(client_for, make_user("root", Role.SYSTEM_ADMIN, None, is_superuser=True), tree["province"])
    root.post("/feedback/cai-dat/lich/", {"date": "24/11/2026", "name": "Ngày Văn hóa Việt Nam"})
    assert CalendarDay.objects.get(date="2026-11-24").is_working is False
    root.post("/feedback/cai-dat/lich/", {"date": "31/02/2026", "name": "Sai"})
    assert not CalendarDay.objects.filter(name="Sai").exists()
    operator = _as(client_for, make_user("xa", Role.COMMUNE_OPERATOR, tree["a"]), tree["a"])
    assert operator.get("/feedback/cai-dat/").status_code == 403
    before = AuditEntry.objects.count()
    for url in ("linh-vuc/", "quy-tac/", "mau-tra-loi/", "lich/"):
        assert operator.post(f"/feedback/cai-dat/{url}", {"code": "x", "name": "x", "title": "x", "text": "x" * 40,
                                                          "date": "01/12/2026"}).status_code == 403  # fmt: skip
    assert AuditEntry.objects.count() == before
