"""The inventory and target KPIs: devices by vendor, age and warranty; data plans coming up for renewal; the share
of province bulletins the communes relayed; the national targets of regulations.md §2.4 (progress bars)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.analytics.kpis import BY_KEY, Period
from loa.content.models import Bulletin, FeedItem, State
from loa.fleet.models import Device, DeviceKind
from tests.loa.analytics.conftest import DAYS, NOW, World, at  # type: ignore[import-not-found]

END = dt.date(2026, 12, 31)


def value(key: str, p: Period) -> Any:
    return BY_KEY[key].compute(p)


def test_inventory_relay_and_target_kpis(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Any]
) -> None:
    province = world.tree["province"]
    Device.objects.filter(pk=world.a1.pk).update(
        vendor="Hanet", installed_on=dt.date(2024, 6, 1), warranty_until=dt.date(2027, 6, 1),
        data_plan_expires=dt.date(2026, 12, 20),
    )  # fmt: skip
    Device.objects.filter(pk=world.a2.pk).update(
        vendor="Hanet", installed_on=dt.date(2020, 1, 1), warranty_until=dt.date(2022, 1, 1),
        data_plan_expires=dt.date(2026, 11, 1),
    )  # fmt: skip
    Device.objects.filter(pk=world.b1.pk).update(
        vendor="", installed_on=None, data_plan_expires=dt.date(2027, 6, 1)
    )
    # an e-board in ward B (both test communes are wards)
    Device.objects.create(device_id="loa-00000000eb01", unit=world.tree["b"], kind=DeviceKind.EBOARD,
                          enrolled_at=at(DAYS[0], 0))  # fmt: skip
    p = Period(province, DAYS[1], END, now=NOW)
    assert value("devices_by_vendor", p) == {"Hanet": 2, "chưa ghi hãng": 2}
    # a1 2.6 years, a2 6.9 years, b1 and the board from their enrolment (this month and last month)
    assert value("devices_by_age", p) == {"dưới 1 năm": 2, "1–3 năm": 1, "từ 5 năm": 1}
    assert value("devices_by_warranty", p) == {
        "còn bảo hành": 1,
        "hết bảo hành": 1,
        "chưa ghi hạn bảo hành": 2,
    }
    # today is 03/12/2026: a1 expires in 17 days, a2 expired, b1 in June (not coming up)
    assert value("data_plans_expiring", p) == {
        "Gói cước đã hết hạn": 1,
        "Gói cước hết hạn trong 30 ngày tới": 1,
        "Gói cước hết hạn trong 60 ngày tới": 1,
        "Gói cước hết hạn trong 90 ngày tới": 1,
    }
    # the province sends two bulletins down to both communes: A takes both, B declines one and takes one
    author = world.author
    for i, states in enumerate((("taken", "taken"), ("taken", "declined"))):
        b = Bulletin.objects.create(title=f"Tỉnh {i}", origin_unit=province, produced_at=at(DAYS[1], 8),
                                    created_by=author, updated_by=author, state=State.PUBLISHED,
                                    published_at=at(DAYS[1], 8))  # fmt: skip
        for commune, state in zip(("a", "b"), states, strict=True):
            item = FeedItem.objects.create(bulletin=b, unit=world.tree[commune], state=state)
            FeedItem.objects.filter(pk=item.pk).update(created_at=at(DAYS[1], 8))
    assert value("bulletins_relayed_share", p) == 75.0
    assert value("bulletins_relayed_share", Period(world.tree["b"], DAYS[1], END, now=NOW)) == 50.0
    # targets: both wards have loudspeakers; one of the two wards has an e-board; no rural commune (xã) here
    assert value("target_communes_with_radio", p) == 100.0
    assert value("target_eboards_wards", p) == 50.0
    assert value("target_eboards_communes", p) is None
    assert BY_KEY["target_eboards_wards"].target == 100.0 and BY_KEY["target_eboards_communes"].target == 70.0
    # the dashboard draws the targets as progress bars
    client = client_for(make_user("tinh", Role.PROVINCE_ADMIN, province))
    page = client.get("/analytics/units/22/?from=2026-12-01&to=2026-12-31").content.decode()
    assert '<progress class="target" max="100" value="50"' in page


# (what the province types, stored, shown beside the national target)
LOCAL_TARGETS = [("85", "85", "85"), ("92,5", "92.5", "92,50"), ("", "", None)]


def test_a_province_sets_its_own_targets_beside_the_national_ones(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Any]
) -> None:
    from loa.audit.models import AuditEntry
    from loa.units.models import UnitSetting

    province = world.tree["province"]
    admin = client_for(make_user("tinh", Role.PROVINCE_ADMIN, province))
    for typed, stored, shown in LOCAL_TARGETS:
        r = admin.post("/units/22/settings/", {"target_eboards_wards": typed})
        assert r.status_code == 302
        assert UnitSetting.objects.get(unit=province, key="target_eboards_wards").value == stored
        p = Period(province, DAYS[1], END, now=NOW)
        assert p.local_targets.get("target_eboards_wards") == (float(stored) if stored else None)
        page = admin.get("/analytics/units/22/?from=2026-12-01&to=2026-12-31").content.decode()
        national = '<progress class="target" max="100" value="0" data-target="100">'
        assert national in page  # the national target stays
        if shown is None:
            assert "local-target" not in page
        else:
            assert (
                f'class="target local-target" max="{stored}" value="0" data-local-target="{stored}"' in page
            )
            assert f"Mục tiêu của tỉnh: {shown} %" in page
    # every change is audited, before and after
    changes = AuditEntry.objects.filter(action="settings.changed", unit_code="22").order_by("id")
    assert [(e.data["before"], e.data["after"]) for e in changes] == [
        (None, "85"),
        ("85", "92.5"),
        ("92.5", ""),
    ]
    # a commune sees its province's target; the API gives both
    admin.post("/units/22/settings/", {"target_eboards_wards": "90"})
    commune = client_for(make_user("xa", Role.COMMUNE_OPERATOR, world.tree["b"]))
    page = commune.get("/analytics/units/06658/?from=2026-12-01&to=2026-12-31").content.decode()
    assert "Mục tiêu của tỉnh: 90 %" in page
    # a commune cannot set the province's targets; a value outside 0–100 is refused
    assert commune.post("/units/22/settings/", {"target_eboards_wards": "10"}).status_code in (403, 404)
    r = admin.post("/units/22/settings/", {"target_eboards_wards": "150"})
    assert r.status_code == 400 and "từ 0 đến 100" in r.content.decode()
    assert UnitSetting.objects.get(unit=province, key="target_eboards_wards").value == "90"
