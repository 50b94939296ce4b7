"""A GET never changes state: a bulletin whose validity has passed is *shown* expired by the library, the inbox and
its page (API and console), and stays as it is in the database until the periodic job expires it; a write expires
it first."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from loa.audit.models import AuditEntry
from loa.content.models import Bulletin, FeedItem
from tests.loa.content.helpers import People, notice  # type: ignore[import-not-found]

pytestmark = pytest.mark.django_db


def _lapsed_published(people: People) -> Bulletin:
    tree = people.tree
    status, data = people["editor_p"].post("", notice(tree["province"].code, [tree["a"].code]))
    assert status == 201, data
    bid = data["id"]
    for who, name in (("editor_p", "submit"), ("appr_p", "approve"), ("appr_p", "publish")):
        assert people[who].transition(bid, name)[0] == 200
    Bulletin.objects.filter(pk=bid).update(valid_until=timezone.now() - dt.timedelta(minutes=1))
    return Bulletin.objects.get(pk=bid)


def _unchanged(b: Bulletin, entries: int) -> None:
    b.refresh_from_db()
    assert b.state == "published", "a read changed the bulletin's state"
    assert FeedItem.objects.get(bulletin=b).state == "new", "a read withdrew the inbox item"
    assert AuditEntry.objects.count() == entries, "a read wrote to the audit log"


def test_api_reads_show_a_lapsed_bulletin_expired_without_expiring_it(people: People) -> None:
    b = _lapsed_published(people)
    entries = AuditEntry.objects.count()
    op = people["op_a"]

    status, page = op.get("")
    assert status == 200
    assert [i["state"] for i in page["items"] if i["id"] == b.pk] == ["expired"]
    assert op.get("?state=published")[1]["count"] == 0
    assert [i["id"] for i in op.get("?state=expired")[1]["items"]] == [b.pk]
    status, one = op.get(f"/{b.pk}")
    assert status == 200 and one["state"] == "expired"
    status, inbox = op.get(f"/inbox?unit={people.tree['a'].code}")
    assert status == 200 and [i["state"] for i in inbox["items"]] == ["withdrawn"]
    assert op.get(f"/inbox?unit={people.tree['a'].code}&state=new")[1]["count"] == 0
    _unchanged(b, entries)


def test_console_reads_show_a_lapsed_bulletin_expired_without_expiring_it(people: People) -> None:
    b = _lapsed_published(people)
    entries = AuditEntry.objects.count()
    console = people["op_a"].client

    for url in ("/bulletins/", f"/bulletins/{b.pk}/", "/bulletins/inbox/"):
        r = console.get(url)
        assert r.status_code == 200, url
    assert 'data-state="expired"' in console.get(f"/bulletins/{b.pk}/").content.decode()
    _unchanged(b, entries)


def test_a_write_expires_a_lapsed_bulletin_first(people: People) -> None:
    b = _lapsed_published(people)
    status, data = people["appr_p"].transition(b.pk, "cancel")
    assert status == 409 and data["error"]["code"] == "transition_not_allowed"  # it had expired
    b.refresh_from_db()
    assert b.state == "expired"
    assert FeedItem.objects.get(bulletin=b).state == "withdrawn"
