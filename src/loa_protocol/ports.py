"""TCP ports for the processes Loa starts itself (the embedded Mosquitto, test servers), chosen so they cannot collide.

Binding port 0 and closing the socket hands back a port that the kernel may give to the next ``bind(0)`` or outgoing
connection before the child that is meant to listen on it has started — two brokers started at the same moment (the
demo and a test run, two pytest-xdist workers) then fight over one port. Mosquitto cannot take an inherited socket, so
instead a port is *reserved*:

* it is taken below the kernel's ephemeral range (``/proc/sys/net/ipv4/ip_local_port_range``), where ``bind(0)``
  and outgoing connections never land;
* it is claimed under an exclusive lock in a directory shared by every process of the machine (a file named after
  the port holding the owner's pid), so no other Loa process — another xdist worker, another run — gets it while
  the owner lives; a claim whose owner has died is taken over;
* it is free at the moment of the claim (a test bind).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import random
import socket
import tempfile
from pathlib import Path

FALLBACK_RANGE = (20000, 32767)


def _candidate_range() -> tuple[int, int]:
    """Ports below the ephemeral range: [10000, low - 1], at least a thousand of them, else the fallback."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return FALLBACK_RANGE
    return (10000, low - 1) if low - 1 - 10000 >= 1000 else FALLBACK_RANGE


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _held(claim: Path) -> bool:
    try:
        pid = int(claim.read_text().strip() or "0")
    except (OSError, ValueError):
        return False
    return pid > 0 and _alive(pid)


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def claims_directory() -> Path:
    directory = Path(os.environ.get("LOA_PORTS_DIR") or Path(tempfile.gettempdir()) / "loa-ports")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def reserve_port(host: str = "127.0.0.1", attempts: int = 500) -> int:
    """A port on ``host`` that is free now and that no other live Loa process has reserved; this process owns it."""
    low, high = _candidate_range()
    directory = claims_directory()
    rng = random.SystemRandom()
    with (directory / ".lock").open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            for _ in range(attempts):
                port = rng.randint(low, high)
                claim = directory / str(port)
                if claim.exists() and _held(claim):
                    continue
                if not _bindable(host, port):
                    continue
                claim.write_text(str(os.getpid()))
                return port
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    raise OSError(f"no free port reserved in {low}-{high} after {attempts} attempts")


def release_port(port: int) -> None:
    """Give a reserved port back before the owner exits (optional: a dead owner's claims are taken over)."""
    claim = claims_directory() / str(port)
    with contextlib.suppress(OSError):
        if claim.read_text().strip() == str(os.getpid()):
            claim.unlink()
