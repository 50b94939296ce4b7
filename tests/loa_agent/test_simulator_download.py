"""The simulator's download mode (``loa bench emergency --download``): every agent fetches the media over real
HTTP into its own cache and checks the sha256 before playing; a mismatch is a failed ack, never a play."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from loa_agent.media import MediaCache
from loa_agent.runtime import RuntimeOptions
from loa_agent.sim_media import SimulatedMediaCache
from loa_agent.simulator import Simulator
from loa_protocol.messages import CommandAck, decode, encode
from loa_protocol.topics import group_command_topic

pytestmark = pytest.mark.mqtt

UNITS = ["22", "06652"]
DEVICES = [f"loa-5200000000{i:02x}" for i in range(4)]
AUDIO = b"ID3-not-really-mp3-" * 500
SHA = hashlib.sha256(AUDIO).hexdigest()


@pytest.fixture
def files() -> Iterator[tuple[str, list[str]]]:
    """A media server answering ``/media/files/<sha>.mp3`` with AUDIO; records every GET."""
    gets: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            gets.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(AUDIO)))
            self.end_headers()
            self.wfile.write(AUDIO)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", gets
    httpd.shutdown()
    httpd.server_close()


def _play(item: str, url: str, sha: str) -> dict[str, Any]:
    return {"item_id": item, "media_url": url, "sha256": sha, "duration_s": 5.0, "priority": 1, "repeat": 1,
            "volume": 100}  # fmt: skip


@pytest.mark.parametrize("cache", ["reference", "simulated"])
def test_each_simulated_agent_downloads_into_its_own_cache_and_checks_the_hash(
    server: Any, files: tuple[str, list[str]], tmp_path: Path, cache: str
) -> None:
    """``reference``: the reference agent's cache in a thread pool; ``simulated``: the benchmark's in-loop cache
    (loa_agent.sim_media)."""
    base, gets = files
    creds = [server.credentials(d, UNITS) for d in DEVICES]
    http = httpx.Client(timeout=10)

    def fetcher(device_id: str) -> Any:
        if cache == "reference":
            return MediaCache(tmp_path / device_id, client=http)
        return SimulatedMediaCache(tmp_path / device_id)

    sim = Simulator(
        creds, options=RuntimeOptions(heartbeat_s=3600, manifest_poll_s=0), group_hold_s=0,
        media_fetchers=fetcher, fetch_threads=4,
    )  # fmt: skip
    sim.start(wait_connected=10)
    try:
        url = f"{base}/media/files/{SHA}.mp3"
        good = server.command(group_command_topic(UNITS), "play", _play("em-1", url, SHA))
        server.publish(good.topic, encode(good))
        sim.wait_for(lambda: len(sim.events(kind="start")) == len(DEVICES), 10)
        assert sorted(e.device_id for e in sim.events(kind="start")) == sorted(DEVICES)
        assert gets.count(f"/media/files/{SHA}.mp3") == len(DEVICES)  # one real download per agent
        for device in DEVICES:
            assert hashlib.sha256((tmp_path / device / SHA).read_bytes()).hexdigest() == SHA

        wrong = "ab" * 32  # the server's bytes do not hash to this: no agent may play it
        bad = server.command(
            group_command_topic(UNITS), "play", _play("em-2", url.replace(SHA, wrong), wrong)
        )
        server.publish(bad.topic, encode(bad))

        def failed() -> list[CommandAck]:
            acks = [decode(CommandAck, p) for _, p in server.received("ack")]
            return [a for a in acks if a.command_id == bad.id and a.status == "failed"]

        sim.wait_for(lambda: len(failed()) == len(DEVICES), 10)
        assert {a.reason for a in failed()} == {"sha256_mismatch"}
        assert not [e for e in sim.events(kind="start") if e.item_id == "em-2"]
        assert not any((tmp_path / d / wrong).exists() for d in DEVICES)
    finally:
        sim.stop()
        http.close()
