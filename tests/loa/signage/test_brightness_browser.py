"""A board's brightness schedule, from the fleet to the screen: the schedule edited on the board's screen
(``fleet.boards.do_update_screen``) is compiled into its signed manifest (``brightness``, protocol.md §9b) and the
reference player in Debian's Chromium (the real uvicorn/ASGI server) dims the page to the step in force now; the
player's rule is the protocol's (``loa_protocol.board.brightness_at``) at every minute of a day; a ``brightness``
command holds until the schedule's next step."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.fleet import boards, keys
from loa.fleet.models import BoardScreen, CommandDelivery, Device, DeviceKind
from loa.fleet.services import do_provision_device, do_send_command
from loa.signage.models import BoardManifestRow
from loa.units.models import Unit
from loa_protocol.board import BoardManifest, brightness_at
from tests.browser import browser_page  # type: ignore[import-not-found]
from tests.conftest import verified_client
from tests.loa.signage.asgi_server import AsgiServer
from tests.waiting import wait_until  # type: ignore[import-not-found]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]
VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def server() -> Iterator[AsgiServer]:
    s = AsgiServer()
    s.start()
    try:
        yield s
    finally:
        s.close()


def _hhmm(t: dt.datetime) -> str:
    return f"{t:%H:%M}"


def _filter(page: Any) -> str:
    return str(page.evaluate("document.body.style.filter"))


def test_brightness_schedule_reaches_the_player_through_the_manifest(
    server: AsgiServer, tree: dict[str, Unit], make_user: Callable[..., User], settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    chairman = make_user("chu-tich-ha-tu", Role.APPROVER, tree["a"])
    verified_client(chairman)
    device, password = do_provision_device(tree["a"], actor=None, serial="BOARD-B-1")
    Device.objects.filter(pk=device.pk).update(kind=DeviceKind.EBOARD)
    device.refresh_from_db()
    BoardScreen.objects.create(device=device, screen_class="landscape", width=1920, height=1080)

    # a step two hours ago and one in two hours, so the step in force is known at any hour (across midnight too)
    now = timezone.localtime(timezone.now(), VN)
    earlier, later = _hhmm(now - dt.timedelta(hours=2)), _hhmm(now + dt.timedelta(hours=2))
    steps = [{"at": earlier, "percent": 30}, {"at": later, "percent": 70}]
    boards.do_update_screen(device, {"brightness_schedule": steps}, actor=chairman)  # recompiles on commit
    row = BoardManifestRow.objects.get(device=device)
    manifest = BoardManifest.model_validate_json(bytes(row.payload))
    assert [s.model_dump() for s in manifest.brightness] == sorted(steps, key=lambda s: str(s["at"]))
    assert brightness_at(manifest.brightness, _hhmm(now)) == 30

    creds = {"device_id": device.device_id, "password": password, "public_key": keys.public_key(),
             "unit_codes": [c for c in device.unit.path.split("/") if c], "enrolled_at": None}  # fmt: skip
    with browser_page(viewport={"width": 480, "height": 270}) as page:
        page.context.add_init_script(
            f"localStorage.setItem('loa.board.creds', {json.dumps(json.dumps(creds))});"
        )
        page.goto(f"{server.url}/board/")
        wait_until(lambda: page.evaluate("window.loaBoard.version") == row.version, 10, message="not taken")
        wait_until(lambda: _filter(page) == "brightness(30%)", 5, message=f"filter {_filter(page)!r}")
        assert page.evaluate("window.loaBoard.brightness") == 30

        # the player's rule is the protocol's, at every minute of the day, on a schedule with a step at midnight
        day = [{"at": "05:30", "percent": 60}, {"at": "00:00", "percent": 10}, {"at": "18:00", "percent": 85},
               {"at": "22:15", "percent": 0}, {"at": "06:00", "percent": 100}]  # fmt: skip
        minutes = [f"{m // 60:02d}:{m % 60:02d}" for m in range(0, 1440)]
        theirs = page.evaluate(
            "([s, ms]) => ms.map((m) => window.loaBoard.brightnessAt(s, m))", [day, minutes]
        )
        assert theirs == [brightness_at(day, m) for m in minutes]
        assert page.evaluate("window.loaBoard.brightnessAt([], '12:00')") is None

        # a schedule edited in the fleet reaches the screen by push: now 55 % from two hours ago
        steps = [{"at": earlier, "percent": 55}, {"at": later, "percent": 70}]
        boards.do_update_screen(device, {"brightness_schedule": steps}, actor=chairman)
        version = BoardManifestRow.objects.get(device=device).version
        assert version > row.version
        wait_until(lambda: page.evaluate("window.loaBoard.version") == version, 10, message="not pushed")
        wait_until(lambda: _filter(page) == "brightness(55%)", 5, message=f"filter {_filter(page)!r}")

        # a signed brightness command holds until the schedule's next step, then the schedule has it again
        command = do_send_command(
            actor=chairman, action="brightness", params={"brightness": 90}, target_device=device
        )

        def done() -> bool:
            state = CommandDelivery.objects.get(command=command, device_id=device.device_id).state
            return str(state) == "done"

        wait_until(done, 10, message="brightness command not done")
        wait_until(lambda: _filter(page) == "brightness(90%)", 5, message=f"filter {_filter(page)!r}")
        at = page.evaluate("Date.now()")
        assert (
            page.evaluate(f"window.loaBoard.brightnessNow({at} + 3600e3)") == 90
        )  # still before the next step
        assert (
            page.evaluate(f"window.loaBoard.brightnessNow({at} + 2.5 * 3600e3)") == 70
        )  # the next step began
        assert page.evaluate("window.loaBoard.brightness") == 90  # what the heartbeat reports

        # without a schedule the command holds for good
        boards.do_update_screen(device, {"brightness_schedule": []}, actor=chairman)
        cleared = BoardManifest.model_validate_json(
            bytes(BoardManifestRow.objects.get(device=device).payload)
        )
        assert cleared.brightness == []
        wait_until(
            lambda: page.evaluate("window.loaBoard.version") == cleared.version, 10, message="not pushed"
        )
        assert page.evaluate(f"window.loaBoard.brightnessNow({at} + 2.5 * 3600e3)") == 90
        assert _filter(page) == "brightness(90%)"
