"""The province → commune feed: inboxes are isolated, priorities decide what waits and what goes at once;
a commune shares up; provenance travels with the bulletin; validity ends by itself."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from loa.content.models import BroadcastHandoff, Bulletin, FeedItem
from tests.loa.broadcast.conftest import totp_now  # type: ignore[import-not-found]
from tests.loa.content.helpers import People, notice  # type: ignore[import-not-found]


def publish_from_province(people: People, receivers: list[str], **extra: Any) -> dict[str, Any]:
    status, b = people["editor_p"].post("", notice("22", receivers, title="Thông báo của tỉnh", **extra))
    assert status == 201, b
    assert people["editor_p"].transition(b["id"], "submit")[0] == 200
    assert people["appr_p"].transition(b["id"], "approve")[0] == 200
    status, b = people["appr_p"].transition(b["id"], "publish")
    assert status == 200 and b["state"] == "published", b
    return b


def inbox(people: People, who: str, unit: str, query: str = "") -> tuple[int, Any]:
    return people[who].get(f"/inbox?unit={unit}{query}")


def test_normal_bulletin_waits_in_the_target_commune_inbox_only(people: People) -> None:
    b = publish_from_province(people, ["06652"])
    status, a_box = inbox(people, "op_a", "06652")
    assert status == 200 and [i["bulletin"]["id"] for i in a_box["items"]] == [b["id"]]
    assert a_box["items"][0]["state"] == "new"
    status, b_box = inbox(people, "op_b", "06658")
    assert status == 200 and b_box["count"] == 0
    # B cannot look into A's inbox, nor open the bulletin
    assert inbox(people, "op_b", "06652")[0] == 404
    assert people["op_b"].get(f"/{b['id']}")[0] == 404
    # A reads it, with where it came from and who approved it
    status, seen = people["op_a"].get(f"/{b['id']}")
    assert status == 200
    assert seen["provenance"]["origin_unit"]["code"] == "22"
    assert seen["provenance"]["approvals"][0]["user"]["username"] == "appr_p"
    assert seen["provenance"]["published_by"]["username"] == "appr_p"
    assert seen["actions"] == []  # a commune cannot change the province's bulletin
    # A takes it, once; B cannot take A's item; a viewer cannot take
    item = a_box["items"][0]["id"]
    assert people["op_b"].post(f"/inbox/{item}/take")[0] == 404
    assert people["viewer_a"].post(f"/inbox/{item}/take")[0] == 403
    status, taken = people["op_a"].post(f"/inbox/{item}/take")
    assert status == 200 and taken["state"] == "taken"
    assert people["op_a"].post(f"/inbox/{item}/take")[0] == 409
    assert not BroadcastHandoff.objects.filter(bulletin_id=b["id"]).exists()


def test_whole_province_reaches_every_commune(people: People) -> None:
    b = publish_from_province(people, ["22"])
    for who, unit in (("op_a", "06652"), ("op_b", "06658")):
        assert [i["bulletin"]["id"] for i in inbox(people, who, unit)[1]["items"]] == [b["id"]]


def test_priority_is_queued_for_insertion_and_cannot_be_declined(people: People) -> None:
    b = publish_from_province(people, ["06652", "06658.001"], priority=2)
    a_item = inbox(people, "op_a", "06652")[1]["items"][0]
    b_item = inbox(people, "op_b", "06658")[1]["items"][0]
    assert a_item["state"] == b_item["state"] == "queued"
    status, body = people["op_a"].post(f"/inbox/{a_item['id']}/decline", {"note": "Không phát"})
    assert (status, body["error"]["code"]) == (409, "feed_decline_not_allowed")
    handoffs = BroadcastHandoff.objects.filter(bulletin_id=b["id"]).order_by("unit__code")
    assert [(h.unit.code, h.kind) for h in handoffs] == [("06652", "priority"), ("06658", "priority")]
    # once its play command went out (loa.broadcast.handoffs), the inbox says so; still not declinable, still
    # takeable (to schedule it again)
    FeedItem.objects.filter(pk=a_item["id"]).update(state=FeedItem.State.INSERTED)
    assert inbox(people, "op_a", "06652")[1]["items"][0]["state"] == "inserted"
    status, body = people["op_a"].post(f"/inbox/{a_item['id']}/decline", {"note": "Không phát"})
    assert (status, body["error"]["code"]) == (409, "feed_decline_not_allowed")
    status, taken = people["op_a"].post(f"/inbox/{a_item['id']}/take")
    assert status == 200 and taken["state"] == "taken"


def test_emergency_is_handed_to_broadcast_at_once_and_cancel_stops_it(people: People) -> None:
    b = publish_from_province(people, ["06652"], priority=1, field=2)
    item = inbox(people, "op_a", "06652")[1]["items"][0]
    assert item["state"] == "handed_off"
    assert list(BroadcastHandoff.objects.filter(bulletin_id=b["id"]).values_list("kind", "unit__code")) == [
        ("emergency", "06652")
    ]
    # cancelling an emergency bulletin stops the warning on loudspeakers: the canceller's TOTP is asked
    status, refused = people["appr_p"].transition(b["id"], "cancel", "Đã hết nguy hiểm")
    assert status == 403 and refused["error"]["code"] == "totp_required"
    assert list(BroadcastHandoff.objects.filter(bulletin_id=b["id"]).values_list("kind", flat=True)) == [
        "emergency"
    ]
    body = {"name": "cancel", "note": "Đã hết nguy hiểm", "totp": totp_now(people["appr_p"].user)}
    status, cancelled = people["appr_p"].post(f"/{b['id']}/transitions", body)
    assert status == 200 and cancelled["state"] == "cancelled"
    kinds = list(BroadcastHandoff.objects.filter(bulletin_id=b["id"]).values_list("kind", flat=True))
    assert kinds == ["emergency", "cancel"]
    assert inbox(people, "op_a", "06652")[1]["items"][0]["state"] == "withdrawn"


def test_decline_a_normal_bulletin(people: People) -> None:
    publish_from_province(people, ["06652"])
    item = inbox(people, "op_a", "06652")[1]["items"][0]
    status, declined = people["op_a"].post(f"/inbox/{item['id']}/decline", {"note": "Không phù hợp địa bàn"})
    assert status == 200 and declined["state"] == "declined" and declined["note"] == "Không phù hợp địa bàn"
    assert inbox(people, "op_a", "06652", "&state=new")[1]["count"] == 0


def test_commune_shares_up_and_the_province_republishes_with_provenance(people: People) -> None:
    status, b = people["op_a"].post("", notice("06652", ["06652"]))
    assert status == 201
    # only approved or published bulletins are shared
    assert people["op_a"].post(f"/{b['id']}/share", {"note": "Đề nghị tỉnh đăng lại"})[0] == 409
    people["op_a"].transition(b["id"], "submit")
    people["appr_a"].transition(b["id"], "approve")
    people["op_a"].transition(b["id"], "publish")
    status, item = people["op_a"].post(f"/{b['id']}/share", {"note": "Đề nghị tỉnh đăng lại"})
    assert status == 201 and item["unit"]["code"] == "22" and item["direction"] == "up"
    assert people["op_a"].post(f"/{b['id']}/share", {})[1]["error"]["code"] == "already_shared"
    status, box = inbox(people, "editor_p", "22", "&direction=up")
    assert status == 200 and [i["id"] for i in box["items"]] == [item["id"]]
    assert people["op_b"].post(f"/inbox/{item['id']}/republish")[0] == 404
    status, copy = people["editor_p"].post(f"/inbox/{item['id']}/republish")
    assert status == 201, copy
    assert copy["origin_unit"]["code"] == "22" and copy["state"] == "draft" and copy["receivers"] == []
    assert copy["provenance"]["shared_from"] == {
        "id": b["id"],
        "title": b["title"],
        "unit": "Phường Hà Tu",
        "unit_code": "06652",
    }
    assert copy["body"] == b["body"]
    assert inbox(people, "editor_p", "22", "&direction=up")[1]["items"][0]["state"] == "taken"


def test_validity_ends_by_itself(people: People) -> None:
    until = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    b = publish_from_province(people, ["06652"], valid_until=until)
    Bulletin.objects.filter(pk=b["id"]).update(valid_until=timezone.now() - dt.timedelta(minutes=1))
    out = io.StringIO()
    call_command("bulletins", "expire", stdout=out)
    assert "1" in out.getvalue()
    _status, seen = people["op_a"].get(f"/{b['id']}")
    assert seen["state"] == "expired"
    assert inbox(people, "op_a", "06652")[1]["items"][0]["state"] == "withdrawn"


def test_read_time_check_expires_without_the_job(people: People) -> None:
    until = (timezone.now() + dt.timedelta(hours=2)).isoformat()
    b = publish_from_province(people, ["06652"], valid_until=until)
    Bulletin.objects.filter(pk=b["id"]).update(valid_until=timezone.now() - dt.timedelta(seconds=1))
    assert people["editor_p"].get(f"/{b['id']}")[1]["state"] == "expired"


@pytest.mark.parametrize("who", ["op_a", "op_b", "viewer_a"])
def test_province_drafts_are_invisible_to_communes(people: People, who: str) -> None:
    status, b = people["editor_p"].post("", notice("22", ["06652"], title="Dự thảo nội bộ"))
    assert status == 201
    assert people[who].get(f"/{b['id']}")[0] == 404
    assert all(x["id"] != b["id"] for x in people[who].get("")[1]["items"])
