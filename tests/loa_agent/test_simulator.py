"""The simulator on a manual clock over a real broker: retained manifests, exact timeline, logs uploaded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
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


@pytest.mark.parametrize("transport", ["aiomqtt", "lean"])
def test_simulated_fleet_follows_its_manifests_on_a_manual_clock(server: Any, transport: str) -> None:
    """The same fleet, the same timeline and uploads over either MQTT connection (the lean one: ADR 0021)."""
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
    sim = Simulator(creds, clock=clock, options=options, seed=7, transport=transport).start(wait_connected=10)
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
        # from another thread, as paho calls it while aiomqtt connects in one (from the loop's own thread a
        # write is tried at once instead: the test below)
        await asyncio.to_thread(getattr(client, callback), client._client, None, sock)
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


@pytest.mark.parametrize("kernel_takes_it", [True, False])
def test_a_packet_queued_in_the_loop_is_written_at_once_or_watched(kernel_takes_it: bool) -> None:
    """A PUBACK or an ack queued by the loop's own thread is written on the loop's next turn, without the self-pipe
    and epoll registration per packet; only bytes the kernel did not take leave the socket watched for writing,
    and they go out once it is writable."""
    import asyncio
    import socket

    from loa_agent.runtime import MqttClient

    async def main() -> tuple[bool, bytes, bytes]:
        loop = asyncio.get_running_loop()
        client = MqttClient("127.0.0.1", 1)
        paho = client._client
        sock, other = socket.socketpair()
        sock.setblocking(False)
        other.setblocking(False)
        filler = b""
        if not kernel_takes_it:  # fill the socket's buffers first
            chunk = b"x" * 65536
            while True:
                try:
                    filler += chunk[: sock.send(chunk)]
                except BlockingIOError:
                    break
        paho._sock = sock
        packet = b"\x40\x02\x00\x07"  # PUBACK of message 7
        paho._packet_queue(0x40, packet, 7, 0)  # calls _on_socket_register_write from the loop's thread
        await _after_scheduled_callbacks()
        watched = loop._selector.get_map().get(sock.fileno()) is not None
        received = b""
        deadline = loop.time() + 5
        while len(received) < len(filler) + len(packet) and loop.time() < deadline:
            try:
                received += other.recv(1 << 20)
            except BlockingIOError:
                await asyncio.sleep(0.01)
        still_watched = loop._selector.get_map().get(sock.fileno()) is not None
        paho._sock = None
        loop.remove_writer(sock.fileno())
        sock.close()
        other.close()
        return watched and not still_watched, received[len(filler) :], packet

    watched_then_released, received, packet = asyncio.run(main())
    assert received == packet
    assert watched_then_released == (not kernel_takes_it)


def test_a_group_command_reaches_every_agent_before_any_reports(server: Any) -> None:
    """Thousands of simulated agents share one loop: while a group command is still reaching the agents of the
    process, none of them spends the loop on its status heartbeat (nor its ack or play log, held by the same gate);
    once every subscribed agent has handled it, all of them report. What is checked is the status: its ``ts`` is
    taken when it is built, after the hold, while an ack carries the instant the command was received."""
    import time

    from loa_protocol.messages import CommandAck, Status
    from loa_protocol.topics import group_command_topic

    devices = [f"loa-{i:012x}" for i in range(150)]
    creds = [server.credentials(d, ["22", "06652"]) for d in devices]
    options = RuntimeOptions(heartbeat_s=3600, manifest_poll_s=0, flush_delay_s=0)
    sim = Simulator(creds, options=options, group_hold_s=5.0).start(wait_connected=10)
    try:
        time.sleep(0.5)  # the connection's own status messages
        server.messages.clear()
        topic = group_command_topic(["22", "06652"])
        params = {"item_id": "alert", "media_url": "x", "sha256": "00" * 32, "duration_s": 30, "priority": 1}
        command = server.command(topic, "play", params)
        server.publish(topic, encode(command))

        def playing() -> list[Status]:
            statuses = [decode(Status, p) for _, p in server.received("status")]
            return [s for s in statuses if s.state == "playing" and s.current_item == "alert"]

        sim.wait_for(lambda: len(server.received("ack")) >= len(devices), 10, "không đủ xác nhận")
        sim.wait_for(lambda: {s.device_id for s in playing()} == set(devices), 10, "không đủ trạng thái")
        acks = [decode(CommandAck, p) for _, p in server.received("ack")]
        assert {a.device_id for a in acks if a.status == "received"} == set(devices)
        starts = sim.events(kind="start")
        assert {e.device_id for e in starts} == set(devices)
        # no status was built before the last agent had started (each ack still carries its own receipt instant)
        last_start = max(e.at for e in starts)
        assert min(s.ts for s in playing()) >= last_start
        assert min(a.at for a in acks) < last_start
    finally:
        sim.stop()


def test_the_keepalive_still_holds_an_idle_connection(broker: Any) -> None:
    """paho's housekeeping runs less often than aiomqtt's every second (a sixth of the keepalive, at most 5 s):
    an idle agent still pings in time, so the broker (which drops a client silent for 1.5 keepalives) keeps it."""
    import asyncio

    from loa_agent.runtime import MqttClient

    async def main() -> tuple[float, bool]:
        async with MqttClient("127.0.0.1", broker.port, identifier="idle-agent", keepalive=1) as client:
            # six keepalives with nothing to send (unpinged, it is dropped in ≈ 3.7 s)
            await asyncio.sleep(6.0)
            disconnected = client._disconnected.done()
            await client.publish("loa/v1/d/idle-agent/status", b"{}", qos=1, timeout=2)
            return client.misc_interval_s, disconnected

    interval, disconnected = asyncio.run(main())
    assert not disconnected
    assert interval == 0.25


def test_simulator_processes_sharing_a_machine_report_after_all_of_them_have_handled_a_group_command(
    server: Any, tmp_path: Path
) -> None:
    """A benchmark's simulator processes (``peers``, ``peer_dir``): no agent of either reports before every agent
    of both has handled the command; with a peer that never says it is done, the hold ends at ``group_hold_s``."""
    import time

    from loa_protocol.messages import Status
    from loa_protocol.topics import group_command_topic

    options = RuntimeOptions(heartbeat_s=3600, manifest_poll_s=0, flush_delay_s=0)
    groups = [[f"loa-{i:012x}" for i in range(k * 60, (k + 1) * 60)] for k in range(2)]
    sims = [
        Simulator(
            [server.credentials(d, ["22", "06652"]) for d in group],
            options=options,
            group_hold_s=10.0,
            peers=2,
            peer_dir=tmp_path,
        ).start(wait_connected=10)
        for group in groups
    ]
    lone = Simulator(
        [server.credentials(f"loa-{i:012x}", ["22", "06653"]) for i in range(200, 230)], options=options,
        group_hold_s=1.5, peers=2, peer_dir=tmp_path / "lone",
    ).start(wait_connected=10)  # fmt: skip
    (tmp_path / "lone").mkdir()
    unwritable = Simulator(  # its peers cannot be told: it ends its own hold at once
        [server.credentials(f"loa-{i:012x}", ["22", "06654"]) for i in range(300, 320)], options=options,
        group_hold_s=10.0, peers=2, peer_dir=tmp_path / "khong-co",
    ).start(wait_connected=10)  # fmt: skip
    everyone = {d for group in groups for d in group}
    try:
        time.sleep(0.5)  # the connections' own status messages
        server.messages.clear()
        params = {"item_id": "alert", "media_url": "x", "sha256": "00" * 32, "duration_s": 30, "priority": 1}
        sent = dt.datetime.now(dt.UTC)
        for units in (["22", "06652"], ["22", "06653"], ["22", "06654"]):
            topic = group_command_topic(units)
            server.publish(topic, encode(server.command(topic, "play", params)))

        def playing() -> list[Status]:
            statuses = [decode(Status, p) for _, p in server.received("status")]
            return [s for s in statuses if s.state == "playing" and s.current_item == "alert"]

        sims[0].wait_for(lambda: everyone <= {s.device_id for s in playing()}, 8, "không đủ trạng thái")
        starts = sims[0].events(kind="start") + sims[1].events(kind="start")
        assert {e.device_id for e in starts} == everyone
        last_start = max(e.at for e in starts)
        ours = [s for s in playing() if s.device_id in everyone]
        assert min(s.ts for s in ours) >= last_start  # neither process reported before both were done
        assert (max(s.ts for s in ours) - sent).total_seconds() < 8  # and not at the 10 s limit
        lone_ids = {f"loa-{i:012x}" for i in range(200, 230)}
        sims[0].wait_for(lambda: lone_ids <= {s.device_id for s in playing()}, 8, "không đủ trạng thái")
        lone_status = [s for s in playing() if s.device_id in lone_ids]
        assert (min(s.ts for s in lone_status) - sent).total_seconds() >= 1.4  # held to its limit
        alone = {f"loa-{i:012x}" for i in range(300, 320)}
        sims[0].wait_for(lambda: alone <= {s.device_id for s in playing()}, 8, "không đủ trạng thái")
        assert max((s.ts - sent).total_seconds() for s in playing() if s.device_id in alone) < 5
    finally:
        for sim in (*sims, lone, unwritable):
            sim.stop()
