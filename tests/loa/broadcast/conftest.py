"""Broadcast fixtures: devices in the shared tree, and programmes whose items point at real stored audio."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from loa.broadcast.models import ItemKind, Programme, ProgrammeItem
from loa.fleet.models import Device
from loa.units.models import Unit
from loa_protocol.topics import new_device_id
from tests.loa.fleet.brokers import mosquitto, mqtt_dir  # type: ignore[import-not-found]  # noqa: F401  (shared fixtures)


@pytest.fixture
def make_devices(db: Any) -> Callable[[Unit, int], list[Device]]:
    """``n`` registered (not connected) loudspeaker clusters in ``unit``."""

    def make(unit: Unit, n: int) -> list[Device]:
        return Device.objects.bulk_create(
            [Device(device_id=new_device_id(), unit=unit, serial=f"T-{unit.code}-{i}") for i in range(n)]
        )

    return make


@pytest.fixture
def make_programme(db: Any) -> Callable[..., Programme]:
    """An approved programme of ``unit`` with items of the given durations (seconds); sha256 is derived from the
    title."""

    def make(
        unit: Unit, title: str = "Chương trình buổi sáng", durations: tuple[float, ...] = (300.0,)
    ) -> Programme:
        programme = Programme.objects.create(unit=unit, title=title, state=Programme.State.APPROVED)
        for pos, duration in enumerate(durations):
            item_title = f"{title} – mục {pos + 1}"
            sha = hashlib.sha256(item_title.encode()).hexdigest()
            ProgrammeItem.objects.create(
                programme=programme,
                position=pos,
                kind=ItemKind.AUDIO,
                title=item_title,
                sha256=sha,
                media_url=f"https://loa.example.vn/files/audio/{sha[:2]}/{sha[2:4]}/{sha}.mp3",
                duration_s=duration,
            )
        return programme

    return make


def totp_now(user: Any) -> str:
    """The current code of the user's confirmed TOTP device (what the approver reads off the phone)."""
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    assert device is not None
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def totp_next(user: Any) -> str:
    """The code the approver's phone shows next (the current one was used to start the emergency)."""
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    assert device is not None
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + device.step
    return f"{totp.token():0{device.digits}d}"


@contextmanager
def running_fleet(broker_url: str, creds: list[Any]) -> Iterator[Any]:
    """The real gateway (in a thread) and simulated clusters with ``creds`` on the broker at ``broker_url``, until
    the block ends; yields the simulator."""
    from loa.gateway.service import Gateway, GatewayOptions
    from loa_agent.runtime import RuntimeOptions
    from loa_agent.simulator import Simulator

    gateway = Gateway(GatewayOptions(url=broker_url, flush_interval=0.2, outbox_interval=0.05))
    thread = threading.Thread(target=gateway.run, daemon=True)
    thread.start()
    sim = Simulator(creds, options=RuntimeOptions(heartbeat_s=30)).start(wait_connected=60)
    try:
        yield sim
    finally:
        sim.stop()
        gateway.stop()
        thread.join(15)
