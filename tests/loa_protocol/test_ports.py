"""loa_protocol.ports: ports reserved for one process at a time, below the kernel's ephemeral range."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from loa_protocol import ports

CHILD = """
import sys
from loa_protocol.ports import reserve_port
print(" ".join(str(reserve_port()) for _ in range(int(sys.argv[1]))), flush=True)
sys.stdin.read()  # stay alive (owning the claims) until the test has read every process's ports
"""


@pytest.fixture
def claims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LOA_PORTS_DIR", str(tmp_path))
    return tmp_path


def test_parallel_processes_never_get_the_same_port(claims: Path) -> None:
    env = dict(os.environ, LOA_PORTS_DIR=str(claims))
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, "60"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    try:
        got = [
            int(p) for child in children for p in (child.stdout.readline() if child.stdout else "").split()
        ]
    finally:
        for child in children:
            child.communicate("")
    assert len(got) == 240
    assert len(set(got)) == 240
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    assert all(p < low for p in got), (
        "a reserved port inside the ephemeral range could be handed out by bind(0)"
    )


def _two_free_ports() -> tuple[int, int]:
    """Two neighbouring ports below the ephemeral range that nobody holds now (an outgoing connection's port in
    TIME_WAIT cannot be bound, so a fixed port inside the ephemeral range made this test fail at random)."""
    low, high = ports._candidate_range()
    for first in random.SystemRandom().sample(range(low, high), 200):
        if ports._bindable("127.0.0.1", first) and ports._bindable("127.0.0.1", first + 1):
            return first, first + 1
    pytest.skip("no two neighbouring free ports below the ephemeral range on this machine")


def test_a_live_owners_claim_is_skipped_and_a_dead_owners_taken_over(
    claims: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live, dead_owners = _two_free_ports()
    monkeypatch.setattr(ports, "_candidate_range", lambda: (live, dead_owners))
    # `live` held by a live process (pid 1), `dead_owners` by a process that has exited
    (claims / str(live)).write_text("1")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (claims / str(dead_owners)).write_text(dead.stdout.strip())
    assert ports.reserve_port(attempts=50) == dead_owners
    assert (claims / str(dead_owners)).read_text() == str(os.getpid())
    with pytest.raises(OSError, match="no free port"):
        ports.reserve_port(attempts=20)  # both are now held by live processes
    ports.release_port(dead_owners)
    assert not (claims / str(dead_owners)).exists()


def test_a_port_someone_listens_on_is_not_reserved(claims: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        monkeypatch.setattr(ports, "_candidate_range", lambda: (port, port))
        with pytest.raises(OSError, match="no free port"):
            ports.reserve_port(attempts=10)
