"""Cancelling a bulletin that an emergency was started from stops the emergency on the loudspeakers.

The TOTP is asked where the person decides (the bulletin's cancel, in the API and on the console's confirmation);
the hand-off then stops the emergency as the system actor, which needs no code (docs/adr/0009). Before this, the
hand-off's stop was refused for want of a code: the bulletin was cancelled and the warning kept playing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.broadcast import handoffs
from loa.broadcast.models import Emergency
from loa.content.models import BroadcastHandoff, Bulletin, Priority, State
from loa.fleet.models import Command, CommandDelivery, Device
from loa.units.models import Unit
from tests.loa.broadcast.conftest import totp_now  # type: ignore[import-not-found]
from tests.loa.fleet.helpers import publish_province_bulletin_with_tts  # type: ignore[import-not-found]


def _fresh(user: User) -> str:
    """A code the server has not seen yet (the next 30-second step, the failure throttle run out)."""
    TOTPDevice.objects.filter(user=user).update(
        last_t=-1, throttling_failure_count=0, throttling_failure_timestamp=None
    )
    return totp_now(user)


def _wrong(user: User) -> str:
    return f"{(int(_fresh(user)) + 500_001) % 1_000_000:06d}"


def _already_used(user: User) -> str:
    code = _fresh(user)
    assert TOTPDevice.objects.get(user=user).verify_token(code)  # what an earlier action did with it
    return code


class World:
    def __init__(self, tree: dict[str, Unit], bulletin: Bulletin, devices: list[Device]) -> None:
        self.tree, self.bulletin, self.devices = tree, bulletin, devices
        self.emergency: Emergency | None = None
        self.canceller = User.objects.get(username="appr_p")  # the province approver who published it
        self.api = _client_of(self.canceller)

    def cancel_through_api(self, totp: str | None) -> Any:
        body: dict[str, Any] = {"name": "cancel"}
        if totp is not None:
            body["totp"] = totp
        return self.api.post(
            f"/api/v1/bulletins/{self.bulletin.pk}/transitions",
            json.dumps(body),
            content_type="application/json",
        )

    def nothing_changed(self) -> None:
        self.bulletin.refresh_from_db()
        assert self.bulletin.state == State.PUBLISHED
        assert not BroadcastHandoff.objects.filter(kind=BroadcastHandoff.Kind.CANCEL).exists()
        assert not Command.objects.filter(action="stop").exists()
        assert handoffs.consume()["cancel"] == 0
        if self.emergency is not None:
            self.emergency.refresh_from_db()
            assert self.emergency.state == Emergency.State.ACTIVE


def _client_of(user: User) -> Client:
    """A signed-in client for a user whose TOTP device already exists (the code read off the same phone)."""
    client = Client()
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = TOTPDevice.objects.filter(user=user).first().persistent_id  # type: ignore[union-attr]
    session.save()
    return client


@pytest.fixture
def world(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    make_devices: Callable[[Unit, int], list[Device]],
) -> World:
    """The province publishes an emergency bulletin to commune A (2 clusters) through the API."""
    devices = make_devices(tree["a"], 2)
    make_devices(tree["b"], 1)  # another commune: never stopped
    b = publish_province_bulletin_with_tts(
        tree, make_user, client_for, receivers=[tree["a"].code], priority=Priority.EMERGENCY,
        title="Cảnh báo lũ quét",
    )  # fmt: skip
    return World(tree, b, devices)


def _start_from_bulletin(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    """Commune A's chairman confirms the handed-off emergency bulletin with a TOTP code (the console's flow)."""
    chairman = make_user("chu-tich-a", Role.APPROVER, world.tree["a"])
    client = client_for(chairman)
    r = client.post(
        "/broadcast/emergency/",
        {"unit": world.tree["a"].code, "text": "Lũ quét đang về, di chuyển lên chỗ cao.", "repeat": "2",
         "bulletin": str(world.bulletin.pk), "step": "confirm", "devices": "2", "totp": totp_now(chairman)},
    )  # fmt: skip
    assert r.status_code == 302, r.content.decode()[:2000]
    world.emergency = Emergency.objects.get(bulletin=world.bulletin)
    assert world.emergency.state == Emergency.State.ACTIVE


def _start_for_the_province(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> Emergency:
    """A province leader confirms the handed-off bulletin for the whole province (3 clusters in two communes)."""
    leader = make_user("lanh-dao-tinh", Role.APPROVER, world.tree["province"])
    r = client_for(leader).post(
        "/broadcast/emergency/",
        {"unit": world.tree["province"].code, "text": "Lũ quét đang về.", "repeat": "1",
         "bulletin": str(world.bulletin.pk), "step": "confirm", "devices": "3", "totp": totp_now(leader)},
    )  # fmt: skip
    assert r.status_code == 302, r.content.decode()[:2000]
    return Emergency.objects.get(bulletin=world.bulletin)


def test_cancelling_the_bulletin_with_a_totp_stops_the_emergency_made_from_it(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    _start_from_bulletin(world, make_user, client_for)
    e = world.emergency
    assert e is not None

    r = world.cancel_through_api(_fresh(world.canceller))
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "cancelled"
    counts = handoffs.consume()  # the job the cancel queues
    assert counts["cancel"] == 1 and counts["failed"] == 0, counts

    e.refresh_from_db()
    assert e.state == Emergency.State.CANCELLED
    stop = Command.objects.get(action="stop", params__item_id=e.item_id)
    assert stop.pk == e.cancel_command_id
    assert stop.unit == world.tree["a"] and stop.issued_by is None  # sent by the system actor
    reached = set(CommandDelivery.objects.filter(command=stop).values_list("device_id", flat=True))
    assert reached == {d.device_id for d in world.devices}


@pytest.mark.parametrize("with_emergency", [True, False], ids=["emergency started", "emergency waiting"])
def test_a_cancel_without_a_valid_fresh_code_is_refused_and_changes_nothing(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Client], with_emergency: bool
) -> None:
    if with_emergency:
        _start_from_bulletin(world, make_user, client_for)
    user = world.canceller
    attempts = [
        ("missing", lambda: None, "totp_required"),
        ("empty", lambda: "", "totp_required"),
        ("wrong", lambda: _wrong(user), "totp_invalid"),
        ("reused", lambda: _already_used(user), "totp_invalid"),
    ]
    for label, code, error in attempts:
        r = world.cancel_through_api(code())
        assert r.status_code == 403, (label, r.content)
        assert r.json()["error"]["code"] == error, (label, r.json())
        world.nothing_changed()
    assert world.cancel_through_api(_fresh(user)).status_code == 200


def test_the_console_cancel_asks_the_code_only_when_it_stops_an_emergency(
    world: World,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    normal = publish_province_bulletin_with_tts(
        world.tree, make_user, client_for, receivers=[world.tree["a"].code], title="Lịch tiêm phòng"
    )
    console = world.api
    page = console.post(f"/bulletins/{normal.pk}/transition/", {"name": "cancel"}).content.decode()
    assert "Bản tin bị rút khỏi" in page and 'name="totp"' not in page

    _start_from_bulletin(world, make_user, client_for)
    url = f"/bulletins/{world.bulletin.pk}/transition/"
    page = console.post(url, {"name": "cancel"}).content.decode()
    assert 'name="totp"' in page
    assert "hủy bản tin sẽ dừng cảnh báo trên loa" in page

    r = console.post(url, {"name": "cancel", "confirm": "1", "totp": _wrong(world.canceller)})
    assert r.status_code == 403
    html = r.content.decode()
    assert "Mã xác thực (TOTP) không đúng" in html and 'name="totp"' in html  # retyped on the same page
    world.nothing_changed()

    r = console.post(url, {"name": "cancel", "confirm": "1", "totp": _fresh(world.canceller)})
    assert r.status_code == 302
    world.bulletin.refresh_from_db()
    assert world.bulletin.state == State.CANCELLED
    handoffs.consume()
    assert world.emergency is not None
    world.emergency.refresh_from_db()
    assert world.emergency.state == Emergency.State.CANCELLED

    # the normal bulletin is cancelled without a code
    assert (
        console.post(f"/bulletins/{normal.pk}/transition/", {"name": "cancel", "confirm": "1"}).status_code
        == 302
    )
    normal.refresh_from_db()
    assert normal.state == State.CANCELLED


def test_an_emergency_the_province_started_from_the_bulletin_is_stopped_too(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    """The province confirmed the handed-off bulletin for its whole area (3 clusters in two communes): the
    commune's cancel hand-off stops that emergency as well."""
    e = _start_for_the_province(world, make_user, client_for)
    assert e.unit == world.tree["province"]

    assert world.cancel_through_api(_fresh(world.canceller)).status_code == 200
    assert handoffs.consume()["failed"] == 0
    e.refresh_from_db()
    assert e.state == Emergency.State.CANCELLED
    stop = Command.objects.get(pk=e.cancel_command_id)
    assert stop.params == {"item_id": e.item_id} and CommandDelivery.objects.filter(command=stop).count() == 3


def test_a_commune_without_active_clusters_still_stops_the_province_emergency(
    world: World, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    """The bulletin's own stop in commune A has no cluster to go to (A's clusters were revoked): the province-wide
    emergency made from the bulletin is still cancelled (before, the refused stop skipped the emergency's cancel)."""
    e = _start_for_the_province(world, make_user, client_for)
    Device.objects.filter(pk__in=[d.pk for d in world.devices]).update(revoked_at=timezone.now())

    assert world.cancel_through_api(_fresh(world.canceller)).status_code == 200
    counts = handoffs.consume()
    assert counts["failed"] == 1, counts  # the bulletin's own stop: no active cluster in A
    e.refresh_from_db()
    assert e.state == Emergency.State.CANCELLED
    stop = Command.objects.get(pk=e.cancel_command_id)
    assert stop.params == {"item_id": e.item_id} and CommandDelivery.objects.filter(command=stop).count() == 1
