"""Many agents in one process: the null sink, realistic heartbeat jitter, one MQTT connection each.

The server's ``loa simulate --devices N`` enrols N devices into a unit, then hands their enrolment responses here::

    sim = Simulator(credentials, media_fetcher=NullFetcher(), clock=SystemClock()).start()
    ...
    sim.events(kind="start")     # every play-log event the simulated devices recorded
    sim.stop()

All agents share one asyncio loop in a background thread. Commands that reach many agents through one group
publish are decoded and signature-checked once per payload (the replay guard stays per agent). A paho client in
the same process competes with the agents for the GIL: publish from another process (as the gateway does).

Real devices each have their own CPU; here thousands share one. So that the acks and play logs of the first agents
to get a group command do not delay the start of the last ones, the agents hold their publishing while a group
command is still reaching the other agents of the process (every subscribed agent has handled it, or at most
``group_hold_s``); each agent's start instant is still taken when it starts, and each still verifies, decides by
its own ladder and publishes its own ack and play logs. After the agents have connected, and again when a group
burst begins, the objects of the simulation are moved out of the garbage collector's way (``gc.freeze``), so a
burst's collections traverse only what the burst makes.

Every agent holds one socket, so a process needs more descriptors than the usual soft limit of 1,024: the simulator
raises its soft ``RLIMIT_NOFILE`` to the hard limit before it connects anything (:func:`raise_open_file_limit`), and
refuses at once, with the numbers, when even the hard limit is too low (instead of agents failing to connect with
``EMFILE`` one by one). MQTT sockets are watched by the asyncio loop's epoll selector, not ``select()``, so
descriptor numbers above 1,024 are fine.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import gc
import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from loa_agent.clock import Clock, SystemClock
from loa_agent.core import AgentCore
from loa_agent.lean_mqtt import LeanMqttClient
from loa_agent.media import MediaFetcher, NullFetcher
from loa_agent.player import NullPlayer
from loa_agent.playlog import MemoryPlayLogStore, PlayLogStore, SqlitePlayLogStore
from loa_agent.runtime import AgentRuntime, ChangeHold, MqttClient, RuntimeOptions, parse_mqtt_url
from loa_protocol.messages import Command, EnrolResponse, PlayLogEvent, PlayParams, ProtocolError
from loa_protocol.signing import ReplayGuard
from loa_protocol.topics import group_unit_codes

log = logging.getLogger(__name__)
T = TypeVar("T")

# descriptors a simulator process needs besides one socket per agent (Python, the loop, logs, HTTP fetches)
FD_MARGIN = 256


TRANSPORTS: dict[str, Callable[..., Any]] = {"aiomqtt": MqttClient, "lean": LeanMqttClient}


def raise_open_file_limit(needed: int = 0) -> int:
    """Raise this process's soft limit of open files to its hard limit (never lower it) and return the new soft
    limit; with ``needed``, raise :class:`OSError` when even the hard limit is below it. Processes started after
    this call (a benchmark's Mosquitto) inherit the raised limit."""
    try:
        import resource
    except ImportError:  # not on POSIX: nothing to raise
        return needed
    infinity = resource.RLIM_INFINITY
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != infinity:
        target = hard if hard != infinity else max(soft, needed)
        if target > soft:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    if soft == infinity:
        return max(needed, 1 << 20)
    if soft < needed:
        raise OSError(
            f"Tiến trình chỉ được mở {soft} tệp/kết nối (ulimit -n), cần {needed}: hãy nâng giới hạn cứng "
            "(ulimit -Hn, LimitNOFILE của systemd) hoặc chia thiết bị cho nhiều tiến trình."
        )
    return int(soft)


@dataclass
class SimulatedDevice:
    credentials: EnrolResponse
    core: AgentCore
    runtime: AgentRuntime
    player: NullPlayer

    @property
    def device_id(self) -> str:
        return self.credentials.device_id


@dataclass
class Simulator:
    credentials: Iterable[EnrolResponse | dict[str, Any]]
    media_fetcher: MediaFetcher = field(default_factory=NullFetcher)
    # one fetcher per device (its own cache), instead of the shared ``media_fetcher``: device id -> fetcher
    media_fetchers: Callable[[str], MediaFetcher] | None = None
    # threads of the loop's default executor, where downloads run (0: asyncio's default, min(32, CPUs + 4))
    fetch_threads: int = 0
    clock: Clock = field(default_factory=SystemClock)
    options: RuntimeOptions = field(default_factory=RuntimeOptions)
    seed: int = 0
    state_dir: Path | None = None
    connect_rate: float = 1000.0
    keep_history: bool = True
    firmware: str = "loa-sim 0.1"
    hardware: Callable[[str, random.Random], dict[str, Any]] | None = None
    # the longest the agents hold their acks and play logs while a group command reaches the others (0 = never)
    group_hold_s: float = 3.0
    # simulator processes sharing the machine (a benchmark's): the hold ends when all ``peers`` have handled the
    # burst, each saying so in ``peer_dir`` (still at the latest ``group_hold_s`` after the burst began)
    peers: int = 1
    peer_dir: Path | None = None
    freeze_gc: bool = True
    # the agents' MQTT connection: "aiomqtt" (the reference agent's, paho underneath) or "lean"
    # (:mod:`loa_agent.lean_mqtt`, a fraction of the CPU per message: the benchmarks' and drills' choice, ADR 0021)
    transport: str = "aiomqtt"

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise ValueError(f"transport {self.transport!r} không có: chọn {' hoặc '.join(TRANSPORTS)}")
        self.devices: dict[str, SimulatedDevice] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._run_tasks: list[asyncio.Future[None]] = []
        # group command topic -> how many agents of this process subscribe to it
        self._subscribers: dict[str, int] = {}
        # a group payload still reaching the agents -> (how many have yet to handle it, the hold's time limit)
        self._bursts: dict[bytes, tuple[int, asyncio.TimerHandle]] = {}
        # recent payloads whose burst is over: a redelivery of one starts no new hold
        self._burst_done: dict[bytes, None] = {}
        self._quiet = asyncio.Event()  # no burst under way
        self._quiet.set()
        self._hold = ChangeHold()  # active while a burst is under way
        signature_cache: dict[tuple[str, bytes], bool] = {}
        decode_cache: dict[bytes, Command | ProtocolError] = {}
        params_cache: dict[int, tuple[Command, PlayParams]] = {}
        rng = random.Random(self.seed)  # noqa: S311 - simulation
        for raw in self.credentials:
            creds = raw if isinstance(raw, EnrolResponse) else EnrolResponse.model_validate(raw)
            if self.transport == "lean" and parse_mqtt_url(creds.mqtt_url)[2]:
                raise ValueError(f"transport “lean” không hỗ trợ TLS ({creds.mqtt_url}): dùng “aiomqtt”")
            device_rng = random.Random(rng.random())  # noqa: S311 - simulation
            store: PlayLogStore
            if self.state_dir is not None:
                directory = self.state_dir / creds.device_id
                store = SqlitePlayLogStore(directory / "playlog.sqlite")
                guard = ReplayGuard(directory / "replay.json")
            else:
                store, guard, directory = MemoryPlayLogStore(), ReplayGuard(), None
            player = NullPlayer(keep=self.keep_history)
            fetcher = self.media_fetchers(creds.device_id) if self.media_fetchers else self.media_fetcher
            core = AgentCore(
                device_id=creds.device_id,
                public_key=creds.server_public_key,
                player=player,
                store=store,
                guard=guard,
                firmware=self.firmware,
                state_dir=directory,
                media_lookup=fetcher.cached_path,
                keep_history=self.keep_history,
                signature_cache=signature_cache,
                decode_cache=decode_cache,
                params_cache=params_cache,
            )
            hardware = self._hardware_for(creds.device_id, device_rng)
            for topic in creds.subscriptions:
                if group_unit_codes(topic) is not None:
                    self._subscribers[topic] = self._subscribers.get(topic, 0) + 1
            hold = self.group_hold_s > 0
            runtime = AgentRuntime(creds, core, fetcher, clock=self.clock, options=self.options, rng=device_rng,
                                   hardware=hardware, on_command=self._command_handled if hold else None,
                                   flush_gate=self._flush_gate if hold else None,
                                   hold=self._hold if hold else None,
                                   client_class=TRANSPORTS[self.transport])  # fmt: skip
            self.devices[creds.device_id] = SimulatedDevice(creds, core, runtime, player)

    def _hardware_for(self, device_id: str, rng: random.Random) -> Callable[[], dict[str, Any]]:
        if self.hardware is not None:
            custom = self.hardware
            return lambda: custom(device_id, rng)
        lat, lon = 20.95 + rng.uniform(-0.05, 0.05), 107.08 + rng.uniform(-0.05, 0.05)
        link = rng.choice(["4g", "4g", "4g", "wifi", "ethernet", "3g"])

        def read() -> dict[str, Any]:
            return {
                "link": link,
                "signal_dbm": rng.randint(-105, -60) if link in ("4g", "3g", "wifi") else None,
                "lat": lat,
                "lon": lon,
                "power": "mains",
                "temperature_c": round(rng.uniform(28, 48), 1),
                "storage_free_mb": 4096,
            }

        return read

    # --- group commands: every agent starts before any publishes ------------------------------------------

    def _command_handled(self, topic: str, payload: bytes) -> None:
        """Called (in the loop) when an agent has handled a command message."""
        expected = self._subscribers.get(topic, 0)
        if expected < 2 or payload in self._burst_done:
            return
        if payload not in self._bursts:
            loop = asyncio.get_running_loop()
            timer = loop.call_later(self.group_hold_s, self._burst_over, payload)
            self._bursts[payload] = (expected, timer)
            self._quiet.clear()
            self._hold.active = True
            if self.freeze_gc:
                # what the agents kept of earlier bursts (history, logs, the last connections) out of this burst's
                # collections: only the objects the burst makes are traversed
                gc.freeze()
        remaining, timer = self._bursts[payload]
        if remaining == 0:  # this process is done with it; the peers are not yet
            return
        if remaining > 1:
            self._bursts[payload] = (remaining - 1, timer)
        elif self.peers > 1 and self.peer_dir is not None:
            self._bursts[payload] = (0, timer)
            self._await_peers(payload, timer)
        else:
            timer.cancel()
            self._burst_over(payload)

    def _await_peers(self, payload: bytes, timer: asyncio.TimerHandle) -> None:
        """Say in ``peer_dir`` that this process has handled the burst (one byte appended to the burst's file),
        then end the hold once the file holds one byte per peer (looked at every 5 ms). Real devices each have
        their own CPU; here one process's acks and play logs, and the gateway's work on them, would take the
        machine's cores from the peers' agents still handling the command."""
        assert self.peer_dir is not None
        path = self.peer_dir / hashlib.sha256(payload).hexdigest()[:32]
        try:
            with path.open("ab") as fh:
                fh.write(b".")
        except OSError as exc:  # the peers cannot be told: end this process's hold as without peers
            log.warning("không ghi được %s (%s): kết thúc chờ các tiến trình khác", path, exc)
            timer.cancel()
            self._burst_over(payload)
            return
        loop = asyncio.get_running_loop()

        def look() -> None:
            if payload not in self._bursts:  # over: the time limit ended it
                return
            try:
                done = path.stat().st_size
            except OSError:
                done = 0
            if done >= self.peers:
                timer.cancel()
                self._burst_over(payload)
            else:
                loop.call_later(0.005, look)

        look()

    def _burst_over(self, payload: bytes) -> None:
        if self._bursts.pop(payload, None) is None:
            return
        self._burst_done[payload] = None
        while len(self._burst_done) > 64:
            del self._burst_done[next(iter(self._burst_done))]
        if not self._bursts:
            self._quiet.set()
            self._hold.release()

    async def _flush_gate(self) -> None:
        await self._quiet.wait()  # set by _burst_over, at the latest group_hold_s after a burst began

    # --- lifecycle ------------------------------------------------------------------------------------------

    def start(self, wait_connected: float | None = 30.0) -> Simulator:
        """Start every agent (connections are paced at ``connect_rate`` per second); with ``wait_connected``,
        wait up to that many seconds for all of them to be connected."""
        raise_open_file_limit(len(self.devices) + FD_MARGIN)
        ready = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            if self.fetch_threads > 0:
                loop.set_default_executor(
                    concurrent.futures.ThreadPoolExecutor(
                        self.fetch_threads, thread_name_prefix="loa-sim-fetch"
                    )
                )
            self._loop = loop
            asyncio.set_event_loop(loop)
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=main, name="loa-simulator", daemon=True)
        self._thread.start()
        ready.wait()
        # starting is paced (connect_rate) and shares the loop with the agents already connecting: on a busy
        # machine that takes longer than a plain call's 30 s, so it is bounded by the connection wait instead
        pacing = len(self.devices) / self.connect_rate if self.connect_rate > 0 else 0.0
        self.call(self._start_all(), timeout=max(30.0, wait_connected or 0.0) + pacing)
        if wait_connected:
            self.wait_for(lambda: self.connected_count() == len(self.devices), wait_connected,
                          "không phải mọi thiết bị mô phỏng đều kết nối được")  # fmt: skip
        if self.freeze_gc:
            gc.collect()
            gc.freeze()  # thousands of long-lived agents: keep them out of every later collection
        return self

    async def _start_all(self) -> None:
        pause = 1.0 / self.connect_rate if self.connect_rate > 0 else 0.0
        for i, device in enumerate(self.devices.values()):
            self._run_tasks.append(asyncio.ensure_future(device.runtime.run()))
            if pause and i % 50 == 49:
                await asyncio.sleep(pause * 50)

    def stop(self) -> None:
        if self._loop is None:
            return
        try:
            self.call(self._stop_all(), timeout=120)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=10)
            self._loop = None
            for device in self.devices.values():
                if isinstance(device.core.store, SqlitePlayLogStore):
                    device.core.store.close()

    async def _stop_all(self) -> None:
        await asyncio.gather(*(d.runtime.shutdown() for d in self.devices.values()), return_exceptions=True)
        for task in self._run_tasks:
            task.cancel()
        await asyncio.gather(*self._run_tasks, return_exceptions=True)

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- helpers for tests and benchmarks -------------------------------------------------------------------

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coro`` in the simulator's loop and return its result."""
        assert self._loop is not None, "Simulator.start() trước"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def wake(self) -> None:
        """Make every agent re-read the clock now (after a :class:`ManualClock` jump)."""
        if self._loop is not None:
            for device in self.devices.values():
                self._loop.call_soon_threadsafe(device.runtime._wake.set)

    def next_deadline(self) -> dt.datetime | None:
        """The earliest time any simulated device needs to act (play-item end, manifest entry start): on a
        :class:`~loa_agent.clock.ManualClock`, ``clock.set(sim.next_deadline())`` steps to the next event exactly."""
        deadlines = []
        for device in self.devices.values():
            current = device.core.current
            if current is not None and (end := current.ends_at()) is not None:
                deadlines.append(end)
            if (start := device.core.next_entry_start(self.clock.now())) is not None:
                deadlines.append(start)
        return min(deadlines) if deadlines else None

    def connected_count(self) -> int:
        return sum(1 for d in self.devices.values() if d.runtime.connected.is_set())

    def events(self, device_id: str | None = None, kind: str | None = None) -> list[PlayLogEvent]:
        """Play-log events recorded by the simulated devices (needs ``keep_history``), in order per device."""
        devices = [self.devices[device_id]] if device_id else list(self.devices.values())
        return [e for d in devices for e in list(d.core.history) if kind is None or e.kind == kind]

    def pending_logs(self) -> int:
        """Play-log events recorded but not yet acknowledged by the broker."""
        return sum(d.core.store.count() for d in self.devices.values())

    def refusals(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for device in self.devices.values():
            for reason, count in device.core.refusals.items():
                total[reason] = total.get(reason, 0) + count
        return total

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0, message: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise TimeoutError(message or "điều kiện không xảy ra trong thời gian chờ")


def load_credentials(path: Path) -> list[EnrolResponse]:
    """A JSON file holding a list of enrolment responses (what ``loa simulate`` writes)."""
    data = json.loads(Path(path).read_text("utf-8"))
    return [EnrolResponse.model_validate(item) for item in data]
