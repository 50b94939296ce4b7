"""The feedback KPIs (issue 12 item 2): received, handled, handled on time, satisfaction, per unit and period, with
Vietnamese days (a feedback sent at 23:30 and one at 00:30 Vietnam time fall on different days though both are on
the same UTC day). The expected figures are counted by hand from the table of feedback below, not by the code."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Callable
from typing import Any

import pytest

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.analytics.kpis import BY_KEY, GROUPS, Period
from loa.citizen.models import Feedback, FeedbackCategory, Status
from tests.loa.analytics.conftest import DAYS, NOW, World, at  # type: ignore[import-not-found]

H = dt.timedelta(hours=1)

# (place, sent: (day index, hh, mm), status, answered after (hours; None: not answered), due after (hours),
#  escalations, rating)
FEEDBACK = [
    ("a", (0, 23, 30), Status.ANSWERED, 4, 40, 0, None),  # on time, not rated
    ("a", (1, 0, 30), Status.CLOSED, 50, 40, 0, 5),  # late (answered after its due time), satisfied
    ("zone_a", (1, 9, 0), Status.PUBLISHED, 10, 40, 1, 4),  # in time, but escalated once: not on time
    ("zone_a", (1, 10, 0), Status.IN_PROGRESS, None, 40, 0, None),  # not handled yet
    ("b", (1, 11, 0), Status.NOT_FIXABLE, 2, 40, 0, 2),  # on time, not satisfied
    ("b", (2, 8, 0), Status.RECEIVED, None, 40, 0, None),
    ("b", (2, 23, 59), Status.CLOSED, 1, 40, 0, 3),  # on time, rated 3: not satisfied
]

# (unit, first day index, last day index) → received, handled, handled %, on time %, satisfied %
EXPECTED = [
    ("province", 0, 2, 7, 5, 71.43, 60.0, 50.0),
    ("province", 0, 0, 1, 1, 100.0, 100.0, None),  # only the 23:30 one on 30/11 (the 00:30 one is 01/12)
    ("province", 1, 1, 4, 3, 75.0, 33.33, 66.67),
    ("a", 0, 2, 4, 3, 75.0, 33.33, 100.0),  # commune A with its zone
    ("zone_a", 0, 2, 2, 1, 50.0, 0.0, 100.0),
    ("b", 0, 2, 3, 2, 66.67, 100.0, 0.0),
    ("b", 2, 2, 2, 1, 50.0, 100.0, 0.0),
]


@pytest.fixture
def feedback(world: World) -> None:
    category = FeedbackCategory.objects.create(code="kpi-test", name="Thử")
    for place, (d, hh, mm), status, answered, due, escalations, rating in FEEDBACK:
        sent = at(DAYS[d], hh, mm)
        unit = world.tree[place]
        Feedback.objects.create(
            unit=unit, handling_unit=unit, category=category, status=status, text="…", consent_version="1",
            consent_at=sent, tracking_hash=secrets.token_hex(16), created_at=sent,
            answered_at=None if answered is None else sent + answered * H, due_at=sent + due * H,
            escalations=escalations, rating=rating,
        )  # fmt: skip


def value(key: str, p: Period) -> Any:
    return BY_KEY[key].compute(p)


@pytest.mark.parametrize(
    ("unit", "first", "last", "received", "handled", "share", "on_time", "satisfied"), EXPECTED
)
def test_feedback_kpis(
    world: World, feedback: None, unit: str, first: int, last: int, received: int, handled: int,
    share: float, on_time: float, satisfied: float | None,
) -> None:  # fmt: skip
    p = Period(world.tree[unit], DAYS[first], DAYS[last], now=NOW)
    assert value("feedback_received", p) == received
    assert value("feedback_handled", p) == handled
    assert value("feedback_handled_share", p) == share
    assert value("feedback_on_time", p) == on_time
    assert value("feedback_satisfaction", p) == satisfied


def test_feedback_kpis_are_defined_once_with_their_words(world: World) -> None:
    keys = ["feedback_received", "feedback_handled", "feedback_handled_share", "feedback_on_time",
            "feedback_satisfaction"]  # fmt: skip
    for key in keys:
        kpi = BY_KEY[key]
        assert kpi.group == "feedback" and str(GROUPS["feedback"]) == "Phản ánh, kiến nghị"
        assert str(kpi.name) and str(kpi.formula) and str(kpi.unit)
    # no feedback: counts are 0, shares have no value (not 0 %)
    p = Period(world.tree["province"], DAYS[0], DAYS[2], now=NOW)
    assert value("feedback_received", p) == 0 and value("feedback_on_time", p) is None


def test_feedback_kpis_on_the_dashboard_and_in_the_csv(
    world: World, feedback: None, make_user: Callable[..., User], client_for: Callable[[User], Any]
) -> None:
    client = client_for(make_user("tinh", Role.PROVINCE_ADMIN, world.tree["province"]))
    query = "from=2026-11-30&to=2026-12-02"
    page = client.get(f"/analytics/units/22/?{query}").content.decode()
    assert "Phản ánh, kiến nghị" in page
    assert (
        '<div class="card" data-kpi="feedback_received" title="Phản ánh, kiến nghị của người dân về nơi thuộc '
        'địa bàn, gửi trong kỳ">\n      <a class="num" data-rows="feedback"'
    ) in page
    r = client.get(f"/analytics/units/22/rows/feedback/?{query}")
    assert r.status_code == 302 and r["Location"] == "/feedback/?trang_thai=all&tu=2026-11-30&den=2026-12-02"
    listed = client.get(r["Location"]).content.decode()
    assert len(set(re.findall(r"PA-[0-9]+", listed))) == 7
    # the rows of one Vietnamese day: 01/12 has the 00:30 one and three more (the 23:30 one is 30/11's)
    r = client.get("/analytics/units/22/rows/feedback/?from=2026-12-01&to=2026-12-01")
    listed = client.get(r["Location"]).content.decode()
    assert len(set(re.findall(r"PA-[0-9]+", listed))) == 4
    csv = client.get(f"/analytics/units/22/kpis.csv?{query}").content.decode("utf-8-sig")
    assert "feedback_on_time,Tỷ lệ phản ánh xử lý đúng hạn,,60.0" in csv


def test_feedback_kpis_in_the_report_snapshot(world: World, feedback: None) -> None:
    """The periodic report carries the same figures (its documents are drawn from the snapshot)."""
    from loa.analytics.models import Report
    from loa.analytics.reports import take_snapshot

    for unit, first, last, received, handled, share, on_time, satisfied in EXPECTED:
        report = Report(unit=world.tree[unit], kind=Report.Kind.CUSTOM, first=DAYS[first], last=DAYS[last])
        figures = {k["key"]: k["value"] for k in take_snapshot(report)["kpis"] if k["group"] == "feedback"}
        assert figures == {
            "feedback_received": received,
            "feedback_handled": handled,
            "feedback_handled_share": share,
            "feedback_on_time": on_time,
            "feedback_satisfaction": satisfied,
        }, (unit, first, last)
