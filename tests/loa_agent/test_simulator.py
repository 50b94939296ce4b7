"""The simulator on a manual clock over a real broker: retained manifests, exact timeline, logs uploaded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from loa_agent.clock import ManualClock
from loa_agent.runtime import RuntimeOptions
from loa_agent.simulator import Simulator
from loa_protocol.messages import Manifest, ManifestEntry, PlayLogBatch, Window, decode, encode
from loa_protocol.signing import sign
from loa_protocol.topics import manifest_topic

pytestmark = pytest.mark.mqtt

DAWN = dt.datetime(2026, 3, 1, 22, 0, tzinfo=dt.UTC)  # 05:00 in Hà Nội
DEVICES = [f"loa-5100000000{i:02x}" for i in range(8)]


def test_simulated_fleet_follows_its_manifests_on_a_manual_clock(server: Any) -> None:
    clock = ManualClock(DAWN - dt.timedelta(minutes=5))
    creds = [server.credentials(d, ["22", "06652"]) for d in DEVICES]
    start = DAWN + dt.timedelta(hours=1)
    for device in DEVICES:
        entry = ManifestEntry(entry_id="e1", start=start, end=start + dt.timedelta(minutes=15), item_id="morning",
                              media_url="https://x/m", sha256="aa" * 32, duration_s=300, schedule_id="s1")  # fmt: skip
        manifest = Manifest(device_id=device, version=3, generated_at=clock.now(), valid_from=clock.now(),
                            valid_until=clock.now() + dt.timedelta(days=2), windows=[Window(start="05:00", end="21:00")],
                            entries=[entry])  # fmt: skip
        server.publish(manifest_topic(device), encode(sign(manifest, server.private_key)), retain=True)
    options = RuntimeOptions(heartbeat_s=3600, backoff_initial_s=0.1, backoff_max_s=0.5)
    sim = Simulator(creds, clock=clock, options=options, seed=7).start(wait_connected=10)
    try:
        sim.wait_for(lambda: all(d.core.manifest is not None for d in sim.devices.values()), 5)
        assert sim.next_deadline() == start
        clock.set(start)
        sim.wait_for(lambda: len(sim.events(kind="start")) == len(DEVICES), 5)
        assert sim.next_deadline() == start + dt.timedelta(seconds=300)
        clock.set(start + dt.timedelta(seconds=300))
        sim.wait_for(lambda: len(sim.events(kind="end")) == len(DEVICES), 5)

        def uploaded() -> list[Any]:
            return [e for _, p in server.received("playlog") for e in decode(PlayLogBatch, p).events]

        sim.wait_for(lambda: len(uploaded()) == 2 * len(DEVICES), 5)
        assert {(e.kind, e.at, e.offset_s, e.manifest_entry_id) for e in uploaded()} == {
            ("start", start, 0.0, "e1"),
            ("end", start + dt.timedelta(seconds=300), 300.0, "e1"),
        }
        assert sim.refusals() == {}
    finally:
        sim.stop()


FD_LIMIT_SCRIPT = """
import json, resource, sys
from loa_agent.runtime import RuntimeOptions
from loa_agent.simulator import Simulator, load_credentials
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
creds = load_credentials(sys.argv[1])
sim = Simulator(creds, options=RuntimeOptions(heartbeat_s=3600, manifest_poll_s=0), keep_history=False)
sim.start(wait_connected=20)
print(json.dumps({"connected": sim.connected_count(), "soft_before": soft,
                  "soft_after": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}), flush=True)
sim.stop()
"""


def test_simulator_connects_more_agents_than_the_default_soft_file_limit(server: Any, tmp_path: Any) -> None:
    """A process started with a soft limit of 256 open files (the hard limit is higher) still connects 400 agents:
    the simulator raises its soft limit first (before, the agents past the limit failed with EMFILE forever)."""
    import json
    import resource
    import subprocess
    import sys

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 400 + 300:
        pytest.skip(f"the hard limit of open files ({hard}) is too low for this test")
    creds = [server.credentials(f"loa-5200000{i:05x}", ["22", "06652"]) for i in range(400)]
    path = tmp_path / "creds.json"
    path.write_text(json.dumps([c.model_dump(mode="json") for c in creds]))

    def low_soft_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    done = subprocess.run(
        [sys.executable, "-c", FD_LIMIT_SCRIPT, str(path)],
        preexec_fn=low_soft_limit,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["soft_before"] == 256
    assert result["connected"] == 400
    assert result["soft_after"] > 400


async def _after_scheduled_callbacks() -> None:
    """Return once the loop has run every callback scheduled before (the registrations, which clients schedule with
    ``call_soon_threadsafe``): the loop runs its ready callbacks in order, so a marker scheduled now runs after them."""
    import asyncio

    marker = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(marker.set_result, None)
    await marker


def _register_after_close(client_class: Any, callback: str) -> tuple[list[Any], bool]:
    """paho tells the client of its socket (opened, or wants writing), and the socket is closed before the loop gets
    to register it (a connection attempt failing during a connection storm): what the loop reports, and whether it
    registered the descriptor."""
    import asyncio
    import socket

    async def main() -> tuple[list[Any], bool]:
        loop = asyncio.get_running_loop()
        errors: list[Any] = []
        loop.set_exception_handler(lambda _loop, context: errors.append(context.get("exception")))
        client = client_class("127.0.0.1", 1)
        paho = client._client
        sock, other = socket.socketpair()
        paho._sock = sock  # the client's current socket, as after paho's connect
        fd = sock.fileno()
        getattr(client, callback)(paho, None, sock)
        paho._sock = None
        sock.close()  # before the loop ran the registration
        await _after_scheduled_callbacks()
        try:
            loop._selector.get_key(fd)
            registered = True
        except KeyError:
            registered = False
        other.close()
        return errors, registered

    return asyncio.run(main())


@pytest.mark.parametrize("callback", ["_on_socket_register_write", "_on_socket_open"])
def test_a_socket_closed_before_its_registration_is_not_registered(callback: str) -> None:
    """The ``OSError: [Errno 9] Bad file descriptor`` at the end of a 10,000-agent run: aiomqtt registered a
    descriptor that was closed meanwhile. The agents' client registers only its current open socket."""
    import aiomqtt

    from loa_agent.runtime import MqttClient

    errors, registered = _register_after_close(aiomqtt.Client, callback)
    assert any(isinstance(e, OSError) for e in errors)  # aiomqtt 2.5 alone: the traceback of the benchmark
    errors, registered = _register_after_close(MqttClient, callback)
    assert errors == []
    assert not registered


@pytest.mark.parametrize("callback", ["_on_socket_register_write", "_on_socket_open"])
def test_the_current_socket_is_still_registered(callback: str) -> None:
    import asyncio
    import socket

    from loa_agent.runtime import MqttClient

    async def main() -> bool:
        client = MqttClient("127.0.0.1", 1)
        sock, other = socket.socketpair()
        client._client._sock = sock
        getattr(client, callback)(client._client, None, sock)
        await _after_scheduled_callbacks()
        loop = asyncio.get_running_loop()
        registered = loop._selector.get_key(sock.fileno()) is not None
        loop.remove_writer(sock.fileno())
        loop.remove_reader(sock.fileno())
        client._client._sock = None
        sock.close()
        other.close()
        return registered

    assert asyncio.run(main())
