"""Periodic jobs are django-q2 Schedule rows created by ``migrate``; the cluster's scheduler runs them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.scheduler import scheduler

from loa.audit.models import AuditEntry
from loa.content.models import Bulletin, FeedItem
from loa.jobs.periodic import PERIODIC, ensure_schedules
from tests.loa.content.helpers import People, notice  # type: ignore[import-not-found]

pytestmark = pytest.mark.django_db


def test_migrate_creates_every_periodic_schedule_once() -> None:
    # the test database was made by `migrate`: the rows are there already
    rows = {s.name: s for s in Schedule.objects.all()}
    for p in PERIODIC:
        assert p.name in rows, p.name
        assert rows[p.name].func == p.func
        assert rows[p.name].schedule_type == Schedule.MINUTES
        assert rows[p.name].repeats == -1
    expiry = rows["loa.content.expire_bulletins"]
    assert expiry.minutes == 1
    # idempotent: migrating again creates nothing new, and an administrator's interval is kept
    Schedule.objects.filter(pk=expiry.pk).update(minutes=2)
    call_command("migrate", verbosity=0)
    assert ensure_schedules() == 0
    assert Schedule.objects.filter(name__in=[p.name for p in PERIODIC]).count() == len(PERIODIC)
    assert Schedule.objects.get(pk=expiry.pk).minutes == 2
    # a deleted row comes back at the next migrate
    Schedule.objects.filter(pk=expiry.pk).delete()
    call_command("migrate", verbosity=0)
    assert Schedule.objects.filter(name="loa.content.expire_bulletins", minutes=1).count() == 1


def _published(people: People) -> Bulletin:
    tree = people.tree
    status, data = people["editor_p"].post("", notice(tree["province"].code, [tree["a"].code]))
    assert status == 201, data
    bid = data["id"]
    assert people["editor_p"].transition(bid, "submit")[0] == 200
    assert people["appr_p"].transition(bid, "approve")[0] == 200
    assert people["appr_p"].transition(bid, "publish")[0] == 200
    return Bulletin.objects.get(pk=bid)


def test_the_scheduler_expires_a_bulletin_whose_validity_ended(people: People, monkeypatch: Any) -> None:
    b = _published(people)
    still_valid = _published(people)
    past = timezone.now() - dt.timedelta(minutes=3)
    Bulletin.objects.filter(pk=b.pk).update(valid_until=past)
    Bulletin.objects.filter(pk=still_valid.pk).update(valid_until=timezone.now() + dt.timedelta(hours=1))
    # the row as migrate made it is due; run the scheduler the cluster runs, executing tasks in this process
    Schedule.objects.filter(name="loa.content.expire_bulletins").update(
        next_run=timezone.now() - dt.timedelta(seconds=1)
    )
    monkeypatch.setattr(Conf, "SYNC", True)
    scheduler()
    b.refresh_from_db()
    still_valid.refresh_from_db()
    assert b.state == "expired"
    assert still_valid.state == "published"
    entry = AuditEntry.objects.get(action="bulletin.expire", object_id=str(b.pk))
    assert entry.data["from"] == "published"
    assert FeedItem.objects.get(bulletin=b).state == "withdrawn"
    # the schedule moved on (next run about a minute later)
    row = Schedule.objects.get(name="loa.content.expire_bulletins")
    assert row.next_run > timezone.now()
    # running it again changes nothing
    Schedule.objects.filter(pk=row.pk).update(next_run=timezone.now() - dt.timedelta(seconds=1))
    scheduler()
    assert AuditEntry.objects.filter(action="bulletin.expire").count() == 1


def test_every_periodic_function_runs(tree: Any) -> None:
    from django.utils.module_loading import import_string

    for p in PERIODIC:
        result = import_string(p.func)()
        assert isinstance(result, dict), (p.name, result)
