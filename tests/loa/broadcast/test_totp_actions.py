"""Every action that needs a one-time code (TOTP), at start and at stop, as a table: a missing, a wrong and a
reused code are each refused with nothing stored, and a fresh code goes through (issue 20, item 4).

The attack this closes: cancelling an emergency with ``"totp": "000000"`` answered 200, so anyone holding an
approver's token could silence a live warning. The same holds for cancelling the bulletin an emergency was started
from: its hand-off stops the emergency as the system actor, so the code is asked of the person who cancels."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.broadcast import handoffs
from loa.broadcast.models import Emergency
from loa.fleet.models import Command, Device
from loa.units.models import Unit
from tests.loa.broadcast.conftest import totp_now  # type: ignore[import-not-found]
from tests.loa.fleet.helpers import publish_province_bulletin_with_tts  # type: ignore[import-not-found]


@dataclass(frozen=True)
class Guarded:
    name: str
    method: str  # how to build the request from the scene: (path, body without "totp")
    refusal_status: int = 403
    sent: int = 1  # commands the accepted action sends
    job: bool = False  # its commands are sent by the job it queues (run here after each attempt)


CASES = [
    Guarded("emergency start", "start_emergency"),
    Guarded("emergency cancel", "cancel_emergency"),
    Guarded("stop of the emergency's item on its commune", "stop_emergency_item"),
    Guarded("stop of everything where an emergency plays", "stop_all_under_emergency"),
    Guarded("pause where an emergency plays", "pause_under_emergency"),
    Guarded("reboot of one loudspeaker", "reboot"),
    Guarded("emergency-priority play on one loudspeaker", "priority_play"),
    Guarded("bulk stop on the province", "bulk_stop"),
    Guarded("multi-commune play-now of a bulletin", "multi_commune_play"),
    # the hand-off stops the bulletin's item and the emergency started from it, as the system actor
    Guarded(
        "cancel of a bulletin with an active emergency", "cancel_bulletin_with_emergency", sent=2, job=True
    ),
]


class Scene:
    def __init__(
        self, tree: dict[str, Unit], client: Client, devices: dict[str, Device], extra: dict
    ) -> None:
        self.tree, self.client, self.devices, self.extra = tree, client, devices, extra

    def start_emergency(self) -> tuple[str, dict[str, Any]]:
        return "/api/v1/broadcast/emergencies", {"unit": self.tree["b"].code, "text": "Cảnh báo lũ."}

    def cancel_emergency(self) -> tuple[str, dict[str, Any]]:
        return f"/api/v1/broadcast/emergencies/{self.extra['emergency'].pk}/cancel", {}

    def _command(self, **body: Any) -> tuple[str, dict[str, Any]]:
        return "/api/v1/fleet/commands", body

    def stop_emergency_item(self) -> tuple[str, dict[str, Any]]:
        item = self.extra["emergency"].item_id
        return self._command(unit=self.tree["a"].code, action="stop", params={"item_id": item})

    def stop_all_under_emergency(self) -> tuple[str, dict[str, Any]]:
        return self._command(device=self.devices["a"].device_id, action="stop", params={})

    def pause_under_emergency(self) -> tuple[str, dict[str, Any]]:
        return self._command(unit=self.tree["a"].code, action="pause", params={})

    def reboot(self) -> tuple[str, dict[str, Any]]:
        return self._command(device=self.devices["b"].device_id, action="reboot", params={})

    def priority_play(self) -> tuple[str, dict[str, Any]]:
        bulletin = self.extra["bulletin"]
        return self._command(
            device=self.devices["b"].device_id, action="play", bulletin_id=bulletin.pk, params={"priority": 1}
        )

    def cancel_bulletin_with_emergency(self) -> tuple[str, dict[str, Any]]:
        return f"/api/v1/bulletins/{self.extra['bulletin'].pk}/transitions", {"name": "cancel"}

    def bulk_stop(self) -> tuple[str, dict[str, Any]]:
        return self._command(unit=self.tree["province"].code, action="stop", params={})

    def multi_commune_play(self) -> tuple[str, dict[str, Any]]:
        return self._command(
            unit=self.tree["province"].code, action="play", bulletin_id=self.extra["bulletin"].pk
        )


def _post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def _fresh(user: User) -> str:
    """A code the server has not seen yet (as if the next 30-second step had come, and the failure throttle of
    the refused attempts had run out)."""
    TOTPDevice.objects.filter(user=user).update(
        last_t=-1, throttling_failure_count=0, throttling_failure_timestamp=None
    )
    return totp_now(user)


def _already_used(user: User) -> str:
    """The current code, after the server accepted it once (the device remembers the last step it accepted)."""
    code = _fresh(user)
    assert TOTPDevice.objects.get(user=user).verify_token(code)  # what an earlier action did with it
    return code


@pytest.fixture
def scene(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    make_devices: Callable[[Unit, int], list[Device]],
    request: pytest.FixtureRequest,
) -> tuple[Scene, User]:
    admin = make_user("qt.tinh", Role.PROVINCE_ADMIN, tree["province"])
    client = client_for(admin)  # a verified session with a confirmed TOTP device
    devices = {"a": make_devices(tree["a"], 2)[0], "b": make_devices(tree["b"], 2)[0]}
    extra: dict[str, Any] = {}
    case: Guarded = request.node.callspec.params["case"]
    if case.method in {"cancel_emergency", "stop_emergency_item", "stop_all_under_emergency",
                       "pause_under_emergency"}:  # fmt: skip
        r = _post(
            client,
            "/api/v1/broadcast/emergencies",
            {"unit": tree["a"].code, "text": "Cảnh báo bão.", "totp": _fresh(admin)},
        )
        assert r.status_code == 201, r.content
        extra["emergency"] = Emergency.objects.get(pk=r.json()["id"])
    if case.method in {"priority_play", "multi_commune_play"}:
        extra["bulletin"] = publish_province_bulletin_with_tts(
            tree, make_user, client_for, receivers=[tree["a"].code, tree["b"].code]
        )
    if case.method == "cancel_bulletin_with_emergency":
        b = publish_province_bulletin_with_tts(
            tree, make_user, client_for, receivers=[tree["a"].code], priority=1, title="Cảnh báo lũ quét"
        )
        r = client.post(  # the console's emergency page, confirming the handed-off bulletin
            "/broadcast/emergency/",
            {"unit": tree["a"].code, "text": "Lũ quét đang về.", "repeat": "1", "bulletin": str(b.pk),
             "step": "confirm", "devices": "2", "totp": _fresh(admin)},
        )  # fmt: skip
        assert r.status_code == 302, r.content.decode()[:2000]
        extra["bulletin"], extra["emergency"] = b, Emergency.objects.get(bulletin=b)
    return Scene(tree, client, devices, extra), admin


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_guarded_action_refuses_a_missing_wrong_or_reused_code(
    case: Guarded, scene: tuple[Scene, User]
) -> None:
    world, admin = scene
    path, body = getattr(world, case.method)()
    commands_before = Command.objects.count()
    cancelled_before = Emergency.objects.filter(state=Emergency.State.CANCELLED).count()

    def wrong() -> str:
        return f"{(int(_fresh(admin)) + 500_001) % 1_000_000:06d}"

    attempts = {
        "missing": (lambda: "", "totp_required"),
        "wrong": (wrong, "totp_invalid"),
        "reused": (lambda: _already_used(admin), "totp_invalid"),
    }
    for label, (make_code, error) in attempts.items():
        code = make_code()  # each attempt starts unthrottled, so only its own code is judged
        r = _post(world.client, path, {**body, "totp": code})
        assert r.status_code == case.refusal_status, (label, r.content)
        assert r.json()["error"]["code"] == error, (label, r.json())
        if case.job:
            handoffs.consume()
        assert Command.objects.count() == commands_before, f"{label}: nothing may be sent"
        assert Emergency.objects.filter(state=Emergency.State.CANCELLED).count() == cancelled_before

    r = _post(world.client, path, {**body, "totp": _fresh(admin)})
    assert r.status_code in (200, 201), r.content
    if case.job:
        assert handoffs.consume()["failed"] == 0
    assert Command.objects.count() == commands_before + case.sent
