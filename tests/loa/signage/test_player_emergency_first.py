"""Issue 9: an emergency reaches the boards before its speech is made. The speech synthesis of the emergency is held
(a gate in front of the real synthesis) while the reference player in Chromium, against the real web server, must
already show the emergency's text over the whole screen; only then is the speech let through, and the
loudspeakers' command is stored with it. If the row were committed after the speech (as before), the screen would
wait on the gate and the test fails. No sleeps: the test waits on events and on the page."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.broadcast.models import Emergency
from loa.fleet.models import BoardScreen, Command, Device, DeviceKind
from loa.fleet.services import do_provision_device
from loa.signage.models import ScreenWindows
from loa.units.models import Unit
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.conftest import verified_client
from tests.loa.broadcast.conftest import totp_now
from tests.loa.signage.asgi_server import AsgiServer
from tests.loa.signage.test_player_browser import _manifest, _media, _open_as, _publish

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
API = "/api/v1/broadcast"
TEXT = "Bà con vùng trũng thấp di chuyển ngay lên vùng cao."


@pytest.fixture
def server() -> Iterator[AsgiServer]:
    s = AsgiServer()
    s.start()
    try:
        yield s
    finally:
        s.close()


class HeldSpeech:
    """The real speech synthesis behind a gate: ``entered`` once a synthesis waits, ``release()`` lets it run."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from loa.tts import services

        self.entered = threading.Event()
        self.gate = threading.Event()
        real = services._synthesize

        def held(*args: Any, **kwargs: Any) -> Any:
            self.entered.set()
            assert self.gate.wait(120), "the speech was never let through"
            return real(*args, **kwargs)

        monkeypatch.setattr(services, "_synthesize", held)

    def release(self) -> None:
        self.gate.set()


def test_the_board_shows_the_emergency_while_its_speech_is_still_being_made(
    server: AsgiServer,
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    ScreenWindows.objects.create(unit=tree["province"], windows=[["00:00", "00:00"]])  # lit at any hour
    chairman = make_user("chu-tich-ha-tu", Role.APPROVER, tree["a"])
    client = verified_client(chairman)
    do_provision_device(tree["a"], actor=None, serial="LOA-A-1")  # the loudspeaker cluster it also reaches
    board, password = do_provision_device(tree["a"], actor=None, serial="BOARD-1")
    Device.objects.filter(pk=board.pk).update(kind=DeviceKind.EBOARD)
    board.refresh_from_db()
    BoardScreen.objects.create(device=board, screen_class="landscape", width=1920, height=1080)
    _publish(board, _manifest(board.device_id, _media(tmp_path), 1))
    speech = HeldSpeech(monkeypatch)
    answer: dict[str, Any] = {}

    def call_api() -> None:
        try:
            answer["r"] = client.post(
                f"{API}/emergencies",
                json.dumps({"unit": "06652", "title": "Lũ quét", "text": TEXT, "totp": totp_now(chairman)}),
                content_type="application/json",
            )
        finally:
            connection.close()  # this thread's own connection (PostgreSQL drops the test database at the end)

    with browser_page(viewport={"width": 960, "height": 540}) as page:
        _open_as(page, server, board, password)
        page.wait_for_selector("#stage [data-slide-id]")
        caller = threading.Thread(target=call_api, name="emergency-api-call")
        caller.start()
        try:
            assert speech.entered.wait(60), "the emergency's speech never started"
            # the speech waits at the gate: the board already shows the emergency, over the whole screen
            page.wait_for_selector("#emergency:not([hidden])", timeout=30_000)
            assert page.inner_text("#emergency .title") == "Lũ quét"
            assert "vùng cao" in page.inner_text("#emergency .text")
            assert page.evaluate("document.querySelectorAll('#stage .slide').length") == 0
            assert caller.is_alive() and "r" not in answer  # the API has not answered: the speech is not made
            e = Emergency.objects.get()
            assert e.state == Emergency.State.ACTIVE and e.command_id is None
            assert not Command.objects.filter(action="play").exists()  # the loudspeakers wait for the speech
        finally:
            speech.release()
            caller.join(120)
        assert not caller.is_alive()
        r = answer["r"]
        assert r.status_code == 201, r.content
        assert r.json()["state"] == "active" and r.json()["devices"] == 1
        e.refresh_from_db()
        command = Command.objects.get(pk=e.command_id)
        assert command.params["sha256"] == e.sha256 and e.duration_s > 0.5
        assert command.params["item_id"] == e.item_id
        assert (
            AuditEntry.objects.filter(action="broadcast.emergency_started", object_id=str(e.pk)).count() == 1
        )
        assert page.locator("#emergency").is_visible()  # the same emergency stays on screen
