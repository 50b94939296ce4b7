"""Bulletins the content side hands to broadcasting: a province priority bulletin becomes a priority-3 play
command to each commune (inserted by devices at the next item boundary), a cancel stops it, and an emergency
bulletin waits for an approver's TOTP confirmation in the console, pre-filled."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.broadcast import handoffs
from loa.content.models import BroadcastHandoff, Bulletin, FeedItem, Priority, State
from loa.fleet.models import Command, CommandDelivery, Device
from loa.units.models import Unit


@pytest.fixture
def bulletin(tree: dict[str, Unit], make_user: Callable[..., User]) -> Callable[..., Bulletin]:
    editor = make_user("bien-tap-tinh", Role.EDITOR, tree["province"])

    def make(priority: int, title: str) -> Bulletin:
        return Bulletin.objects.create(
            title=title, body="Ủy ban nhân dân tỉnh thông báo lịch cắt điện ngày mai từ 7 giờ đến 11 giờ.",
            priority=priority, state=State.PUBLISHED, origin_unit=tree["province"], produced_at=timezone.now(),
            published_at=timezone.now(), created_by=editor, updated_by=editor,
        )  # fmt: skip

    return make


def test_a_priority_bulletin_becomes_a_priority_3_command_per_commune_and_a_cancel_stops_it(
    tree: dict[str, Unit],
    make_devices: Callable[[Unit, int], list[Device]],
    bulletin: Callable[..., Bulletin],
) -> None:
    make_devices(tree["a"], 2)
    make_devices(tree["zone_a"], 1)
    make_devices(tree["b"], 2)
    b = bulletin(Priority.PRIORITY, "Lịch cắt điện")
    for unit in (tree["a"], tree["b"]):
        BroadcastHandoff.objects.create(bulletin=b, unit=unit, kind=BroadcastHandoff.Kind.PRIORITY)
        FeedItem.objects.create(bulletin=b, unit=unit, direction=FeedItem.Direction.DOWN,
                                state=FeedItem.State.QUEUED)  # fmt: skip
    assert handoffs.consume() == {"priority": 2, "cancel": 0, "emergency_waiting": 0, "failed": 0}
    # the inboxes say it went out, not that it still waits for insertion; each insertion is in the audit log
    assert set(FeedItem.objects.values_list("state", flat=True)) == {FeedItem.State.INSERTED}
    inserted = AuditEntry.objects.filter(action="bulletin.feed_inserted")
    assert sorted(inserted.values_list("unit_code", flat=True)) == ["06652", "06658"]
    commands = list(Command.objects.order_by("topic"))
    assert [c.topic for c in commands] == ["loa/v1/g/22/06652/cmd", "loa/v1/g/22/06658/cmd"]
    params = commands[0].params
    assert params["priority"] == 3 and params["item_id"] == handoffs.bulletin_item_id(b)
    assert params["duration_s"] > 1  # real speech of the bulletin's text
    assert CommandDelivery.objects.filter(command=commands[0]).count() == 3  # the zone's device too
    assert not BroadcastHandoff.objects.filter(consumed_at__isnull=True).exists()
    assert handoffs.consume()["priority"] == 0  # idempotent

    BroadcastHandoff.objects.create(bulletin=b, unit=tree["a"], kind=BroadcastHandoff.Kind.CANCEL)
    assert handoffs.consume()["cancel"] == 1
    stop = Command.objects.get(action="stop")
    assert stop.params == {"item_id": handoffs.bulletin_item_id(b)}


def test_an_emergency_bulletin_waits_for_the_approvers_confirmation(
    tree: dict[str, Unit],
    make_devices: Callable[[Unit, int], list[Device]],
    bulletin: Callable[..., Bulletin],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    make_devices(tree["a"], 1)
    b = bulletin(Priority.EMERGENCY, "Lũ quét")
    BroadcastHandoff.objects.create(bulletin=b, unit=tree["a"], kind=BroadcastHandoff.Kind.EMERGENCY)
    assert handoffs.consume()["emergency_waiting"] == 1
    assert not Command.objects.exists()
    client = client_for(make_user("chu-tich", Role.APPROVER, tree["a"]))
    html = client.get("/broadcast/emergency/").content.decode()
    assert "Bản tin khẩn cấp chờ xác nhận phát:" in html and "Lũ quét" in html
    prefilled = client.get(f"/broadcast/emergency/?bulletin={b.pk}").content.decode()
    assert "lịch cắt điện ngày mai" in prefilled
    assert f'name="bulletin" value="{b.pk}"' in prefilled


def test_the_handoff_signal_queues_the_consumer(
    tree: dict[str, Unit], bulletin: Callable[..., Bulletin]
) -> None:
    from loa.content.signals import broadcast_handoff
    from loa.jobs.models import Job

    b = bulletin(Priority.PRIORITY, "Thông báo")
    BroadcastHandoff.objects.create(bulletin=b, unit=tree["b"], kind=BroadcastHandoff.Kind.PRIORITY)
    broadcast_handoff.send(Bulletin, bulletin_ids=[b.pk])
    job: Any = Job.objects.get(kind="broadcast.handoffs")
    # no devices in B: consumed, reported as failed (nothing to play on), never an exception
    assert job.result == {"priority": 0, "cancel": 0, "emergency_waiting": 0, "failed": 1}


def test_a_priority_bulletin_that_cannot_be_inserted_says_why_in_the_inbox_and_can_be_taken(
    tree: dict[str, Unit],
    make_devices: Callable[[Unit, int], list[Device]],
    bulletin: Callable[..., Bulletin],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    """Commune B has no cluster: its inbox item no longer says "Chờ chèn tự động" for good, but that it could not
    be inserted and why (audited); the officer can still take it (to schedule it later), not decline it; commune
    A, with clusters, gets it inserted as usual."""
    make_devices(tree["a"], 1)
    b = bulletin(Priority.PRIORITY, "Lịch tiêm phòng")
    for unit in (tree["a"], tree["b"]):
        BroadcastHandoff.objects.create(bulletin=b, unit=unit, kind=BroadcastHandoff.Kind.PRIORITY)
        FeedItem.objects.create(bulletin=b, unit=unit, direction=FeedItem.Direction.DOWN,
                                state=FeedItem.State.QUEUED)  # fmt: skip
    assert handoffs.consume() == {"priority": 1, "cancel": 0, "emergency_waiting": 0, "failed": 1}
    item = FeedItem.objects.get(unit=tree["b"])
    assert item.state == FeedItem.State.NOT_INSERTED
    assert item.note.startswith("Không chèn tự động được: Không có cụm loa nào đang hoạt động trong ")
    assert "Hãy nhận bản tin và lên lịch phát" in item.note
    assert FeedItem.objects.get(unit=tree["a"]).state == FeedItem.State.INSERTED
    entry = AuditEntry.objects.get(action="bulletin.feed_not_inserted")
    assert entry.unit_code == tree["b"].code and entry.message == item.note
    assert handoffs.consume()["failed"] == 0  # consumed once, not retried into a second audit entry

    officer = client_for(make_user("can-bo-xa-b", Role.COMMUNE_OPERATOR, tree["b"]))
    page = officer.get("/bulletins/inbox/").content.decode()
    row = re.search(rf'<tr class="prio-\d+" data-bulletin="{b.pk}">(.*?)</tr>', page, re.S)
    assert row, "the bulletin's row in the inbox"
    assert "<td>Không chèn tự động được</td>" in row.group(1) and "Chờ chèn tự động" not in row.group(1)
    assert item.note in row.group(1)
    assert f"/bulletins/inbox/{item.pk}/take/" in page
    assert f"/bulletins/inbox/{item.pk}/decline/" not in page
    taken = officer.post(f"/bulletins/inbox/{item.pk}/take/")
    assert taken.status_code in (200, 302)
    item.refresh_from_db()
    assert item.state == FeedItem.State.TAKEN
