"""An emergency whose process died between its row (shown on the boards) and its loudspeaker command: the periodic
job takes it off the boards after ORPHAN_AFTER, audited, and a step 3 that finishes after that sends nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.broadcast import emergency as em
from loa.broadcast.models import Emergency
from loa.broadcast.services import BroadcastError
from loa.fleet.models import Command
from loa.fleet.services import do_provision_device
from loa.jobs.periodic import PERIODIC, orphaned_emergencies
from loa.signage.player import area_emergency_at
from loa.units.models import Unit
from tests.conftest import verified_client
from tests.loa.broadcast.conftest import totp_now

pytestmark = pytest.mark.django_db(transaction=True)
TEXT = "Bà con vùng trũng thấp di chuyển ngay lên vùng cao."


@pytest.fixture
def chairman(tree: dict[str, Unit], make_user: Callable[..., User]) -> User:
    user = make_user("chu-tich-ha-tu", Role.APPROVER, tree["a"])
    verified_client(user)
    do_provision_device(tree["a"], actor=None, serial="LOA-A-1")
    return user


def _row(unit: Unit, age: dt.timedelta, **extra: Any) -> Emergency:
    """What step 2 commits: the row the boards show, with no audio and no command yet."""
    return Emergency.objects.create(
        unit=unit, title=TEXT, text=TEXT, item_id=f"em-{age.total_seconds():.0f}", sha256="", media_url="",
        duration_s=0.0, repeat=3, requested_at=timezone.now() - age, **extra,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("age_s", "with_command", "withdrawn"),
    [
        (240, False, True),  # orphaned: older than ORPHAN_AFTER, never commanded
        (60, False, False),  # its speech may still be in the making
        (240, True, False),  # commanded: a normal emergency, playing
    ],
)
def test_the_periodic_job_withdraws_only_orphans(
    tree: dict[str, Unit], age_s: int, with_command: bool, withdrawn: bool
) -> None:
    import uuid

    extra = {"command_id": uuid.uuid4()} if with_command else {}
    e = _row(tree["a"], dt.timedelta(seconds=age_s), **extra)
    assert area_emergency_at(tree["a"].path).pk == e.pk  # on the boards
    assert orphaned_emergencies() == {"withdrawn": int(withdrawn)}
    e.refresh_from_db()
    expected = Emergency.State.CANCELLED if withdrawn else Emergency.State.ACTIVE
    assert e.state == expected and (e.cancelled_at is not None) == withdrawn
    assert area_emergency_at(tree["a"].path).state == expected  # what the boards read
    entries = AuditEntry.objects.filter(action="broadcast.emergency_cancelled")
    assert entries.count() == int(withdrawn)
    if withdrawn:
        entry = entries.get()
        assert (
            entry.data == {"withdrawn": True, "reason": "orphaned"} and "đã gỡ khỏi bảng tin" in entry.message
        )
        assert orphaned_emergencies() == {"withdrawn": 0}, "once"
    assert "loa.broadcast.orphaned_emergencies" in {p.name for p in PERIODIC}


def test_a_speech_that_ends_after_the_withdrawal_sends_nothing(
    tree: dict[str, Unit], chairman: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job withdraws the row while its speech is (very slowly) made; the command that follows is not stored, so
    loudspeakers never play what the boards no longer show, and the emergency is audited once."""
    from loa.tts import services

    real = services._synthesize

    def slow(*args: Any, **kwargs: Any) -> Any:
        assert em.do_withdraw_orphaned(now=timezone.now() + em.ORPHAN_AFTER + dt.timedelta(seconds=1)) == 1
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "_synthesize", slow)
    with pytest.raises(BroadcastError) as refused:
        em.do_start_emergency(tree["a"], actor=chairman, totp=totp_now(chairman), text=TEXT)
    assert refused.value.code == "emergency_withdrawn" and refused.value.status == 409
    e = Emergency.objects.get()
    assert e.state == Emergency.State.CANCELLED and e.command_id is None
    assert not Command.objects.filter(action="play").exists()
    assert AuditEntry.objects.filter(action="broadcast.emergency_cancelled").count() == 1
    assert not AuditEntry.objects.filter(action="broadcast.emergency_started").exists()
