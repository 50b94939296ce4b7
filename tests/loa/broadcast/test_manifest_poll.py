"""The HTTPS safety net (DESIGN §4): with the broker unreachable, so that the retained manifest never arrives, the
agent still polls ``GET /api/v1/broadcast/manifests/{device_id}`` on the live server with its MQTT credentials
(HTTP Basic), verifies the signature, takes only a newer version, backs off on errors and plays the schedule.
Time is a :class:`~loa_agent.clock.ManualClock`; the HTTP requests are real."""

from __future__ import annotations

import datetime as dt
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from loa.broadcast.compile import compile_manifests, manifest_payload
from loa.broadcast.models import Programme, Schedule
from loa.fleet.services import credentials_for, do_provision_device
from loa.units.models import Unit
from loa_protocol.messages import Manifest, decode


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def advance_until(clock: Any, predicate: Callable[[], bool], step: float, timeout: float = 20.0) -> bool:
    """Move the manual clock ``step`` seconds at a time (the agent's tasks may not be asleep yet) until true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        clock.advance(step)
        time.sleep(0.05)
    return predicate()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_with_the_broker_down_the_agent_gets_the_manifest_over_https_and_plays_it(
    live_server: Any,
    settings: Any,
    tree: dict[str, Unit],
    make_programme: Callable[..., Programme],
) -> None:
    from loa_agent.clock import ManualClock
    from loa_agent.runtime import RuntimeOptions
    from loa_agent.simulator import Simulator

    settings.LOA_PUBLIC_URL = live_server.url
    device, password = do_provision_device(tree["b"], actor=None, serial="POLL-1")
    creds = credentials_for(device, password)
    assert creds.manifest_url == f"{live_server.url}/api/v1/broadcast/manifests/{device.device_id}"
    # nothing listens on this port: the broker is down, no retained manifest will ever come
    creds = creds.model_copy(update={"mqtt_url": f"mqtt://127.0.0.1:{closed_port()}"})
    wrong = creds.model_copy(update={"device_id": "loa-0000000000ff", "mqtt_username": "loa-0000000000ff"})

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    clock = ManualClock(now)
    options = RuntimeOptions(manifest_poll_s=60, backoff_initial_s=1, backoff_max_s=2)
    sim = Simulator([creds, wrong], clock=clock, options=options).start(wait_connected=None)
    try:
        runtime = sim.devices[device.device_id].runtime
        core = sim.devices[device.device_id].core
        # Nothing compiled yet: 404, counted as a failure; the agent keeps running and retries sooner.
        assert advance_until(clock, lambda: runtime.manifest_poll_failures >= 1, 5), runtime.manifest_polls
        assert core.manifest is None

        s = Schedule.objects.create(
            unit=tree["b"], programme=make_programme(tree["b"], durations=(30.0,)), title="Trưa",
            kind="daily", times=["11:00"],
        )  # fmt: skip
        s.target_units.set([tree["b"]])
        compile_manifests(now)
        payload = manifest_payload(device.device_id)
        assert payload is not None
        served = decode(Manifest, payload)
        first = min((e for e in served.entries if e.start > now), key=lambda e: e.start)

        before = clock.now()
        # the next poll comes within the back-off (1–2 s), not a whole period later
        assert advance_until(clock, lambda: core.manifest is not None, 0.5), (
            runtime.manifest_polls,
            sim.refusals(),
        )
        assert clock.now() - before < dt.timedelta(seconds=30)
        assert core.manifest is not None and core.manifest.version == served.version
        assert runtime.connections == 0  # it came over HTTPS, not MQTT

        # The schedule plays from the polled manifest.
        clock.set(first.start + dt.timedelta(seconds=0.5))
        assert wait_until(
            lambda: any(e.item_id == first.item_id for e in sim.events(device.device_id, "start"))
        )

        # A newer version is taken at the next poll.
        s.times = ["11:00", "16:00"]
        s.save()
        compile_manifests(now)
        newer = decode(Manifest, manifest_payload(device.device_id) or b"")
        assert newer.version == served.version + 1
        assert advance_until(
            clock, lambda: core.manifest is not None and core.manifest.version == newer.version, 5
        )

        # Another device's credentials get nothing (401), the agent survives and keeps polling.
        other = sim.devices["loa-0000000000ff"].runtime
        assert other.core.manifest is None and other.manifest_poll_failures >= 1
    finally:
        sim.stop()


@pytest.mark.parametrize(
    ("ok", "failures", "low", "high"),
    [
        (True, 0, 54.0, 66.0),  # the period ± 10 %
        (False, 1, 0.8, 1.0),  # 1 s after the first failure
        (False, 2, 1.6, 2.0),
        (False, 4, 6.4, 8.0),
        (False, 10, 48.0, 60.0),  # never longer than the period
        (False, 100, 48.0, 60.0),
    ],
)
def test_poll_delay_backs_off_on_errors(ok: bool, failures: int, low: float, high: float) -> None:
    from loa_agent.core import AgentCore
    from loa_agent.media import NullFetcher
    from loa_agent.player import NullPlayer
    from loa_agent.playlog import MemoryPlayLogStore
    from loa_agent.runtime import AgentRuntime, RuntimeOptions
    from loa_protocol.messages import EnrolResponse

    creds = EnrolResponse(
        device_id="loa-0000000000aa", mqtt_url="mqtt://127.0.0.1:1", mqtt_username="u", mqtt_password="p",
        server_public_key="", unit_codes=["22"], subscriptions=[], media_base_url="", manifest_url="",
    )  # fmt: skip
    core = AgentCore(creds.device_id, "", NullPlayer(), MemoryPlayLogStore())
    runtime = AgentRuntime(creds, core, NullFetcher(), options=RuntimeOptions(manifest_poll_s=60))
    for _ in range(20):
        assert low <= runtime._manifest_poll_delay(ok, failures) <= high
