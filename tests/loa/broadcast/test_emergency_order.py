"""Issue 9: the emergency row (what the boards show) is committed before the speech is made. Every refusal still
comes before anything is stored or shown, and an emergency whose speech or command cannot be made leaves the
boards again instead of being reported as sent (the browser side: tests/loa/signage/test_player_emergency_first.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.broadcast import emergency as em
from loa.broadcast.models import Emergency
from loa.broadcast.services import BroadcastError
from loa.fleet.models import Command
from loa.fleet.services import do_provision_device
from loa.signage.player import area_emergency_at
from loa.tts.engines import TtsError
from loa.units.models import Unit
from tests.conftest import verified_client
from tests.loa.broadcast.conftest import totp_now

pytestmark = pytest.mark.django_db(transaction=True)
TEXT = "Bà con vùng trũng thấp di chuyển ngay lên vùng cao."


@pytest.fixture
def chairman(tree: dict[str, Unit], make_user: Callable[..., User]) -> User:
    user = make_user("chu-tich-ha-tu", Role.APPROVER, tree["a"])
    verified_client(user)  # a confirmed TOTP device
    do_provision_device(tree["a"], actor=None, serial="LOA-A-1")
    return user


def _speech_attempts(monkeypatch: pytest.MonkeyPatch, fail: bool = False) -> list[str]:
    from loa.tts import services

    attempts: list[str] = []
    real = services._synthesize

    def counted(text: Any, *args: Any, **kwargs: Any) -> Any:
        attempts.append(str(text))
        if fail:
            raise TtsError("engine_failed", "Bộ tổng hợp giọng nói gặp lỗi.")
        return real(text, *args, **kwargs)

    monkeypatch.setattr(services, "_synthesize", counted)
    return attempts


def test_a_wrong_code_shows_nothing_and_makes_no_speech(
    tree: dict[str, Unit], chairman: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = _speech_attempts(monkeypatch)
    with pytest.raises(BroadcastError) as refused:
        em.do_start_emergency(tree["a"], actor=chairman, totp="000000", text=TEXT)
    assert refused.value.code == "totp_invalid"
    assert not Emergency.objects.exists() and attempts == []


def test_an_area_without_loudspeakers_shows_nothing(
    tree: dict[str, Unit], chairman: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = _speech_attempts(monkeypatch)
    with pytest.raises(BroadcastError) as refused:
        em.do_start_emergency(tree["zone_a"], actor=chairman, totp=totp_now(chairman), text=TEXT)
    assert refused.value.code == "no_devices", refused.value.code
    assert not Emergency.objects.exists() and attempts == []


def test_a_speech_that_cannot_be_made_takes_the_emergency_off_the_boards(
    tree: dict[str, Unit], chairman: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = _speech_attempts(monkeypatch, fail=True)
    with pytest.raises(BroadcastError) as failed:
        em.do_start_emergency(tree["a"], actor=chairman, totp=totp_now(chairman), text=TEXT)
    assert failed.value.code == "engine_failed"
    assert attempts == [TEXT]
    e = Emergency.objects.get()
    assert e.state == Emergency.State.CANCELLED and e.cancelled_at is not None and e.command_id is None
    assert em.status(e).state == "cancelled"
    assert not Command.objects.filter(action="play").exists()
    assert area_emergency_at(tree["a"].path).state == Emergency.State.CANCELLED  # what the boards read
    entry = AuditEntry.objects.get(action="broadcast.emergency_cancelled")
    assert entry.data["withdrawn"] is True and entry.data["reason"] == "engine_failed"
    assert "đã gỡ khỏi bảng tin" in entry.message
    assert not AuditEntry.objects.filter(action="broadcast.emergency_started").exists()


def test_the_row_is_shown_first_and_completed_with_the_speech(
    tree: dict[str, Unit], chairman: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, Any]] = []
    attempts = _speech_attempts(monkeypatch)
    from loa.tts import services

    counted = services._synthesize

    def watching(*args: Any, **kwargs: Any) -> Any:
        row = Emergency.objects.get()  # committed before the speech: what the boards' push streams read
        seen.append((row.state, row.command_id))
        assert em.status(row).state == "active"
        return counted(*args, **kwargs)

    monkeypatch.setattr(services, "_synthesize", watching)
    e = em.do_start_emergency(tree["a"], actor=chairman, totp=totp_now(chairman), text=TEXT, repeat=2)
    assert seen == [(Emergency.State.ACTIVE, None)] and attempts == [TEXT]
    e.refresh_from_db()
    command = Command.objects.get(pk=e.command_id)
    assert command.params["sha256"] == e.sha256 and command.params["repeat"] == 2
    assert e.media_url.endswith(e.sha256) or e.sha256 in e.media_url
    assert e.text == TEXT and e.duration_s > 0.5
    started = AuditEntry.objects.get(action="broadcast.emergency_started")
    assert started.data["command"] == str(command.id) and started.data["devices"] == 1
