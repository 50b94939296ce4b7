"""Mosquitto glue shared by the server, the tests and the benchmarks (no Django).

* :func:`password_hash` writes Mosquitto 2.0 password-file hashes (``$7$`` = PBKDF2-SHA512) without the
  ``mosquitto_passwd`` tool;
* :func:`device_acl` / :func:`render_acl` write the per-device ACL of protocol v1 (a device publishes only under
  ``loa/v1/d/{its id}/`` and reads only its own and its groups' command topics);
* :class:`MosquittoBroker` runs ``mosquitto -c <generated conf>`` on a free loopback port (tests, demos, benches).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from loa_protocol.ports import reserve_port
from loa_protocol.topics import PREFIX, check_device_id, device_subscriptions

MOSQUITTO_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/bin/mosquitto")
DEFAULT_ITERATIONS = 101  # what mosquitto_passwd 2.0 uses


def password_hash(password: str, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """``$7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512>`` as Mosquitto 2.0's password file expects."""
    salt = os.urandom(12) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, dklen=64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def password_line(username: str, password: str, iterations: int = DEFAULT_ITERATIONS) -> str:
    if ":" in username or "\n" in username:
        raise ValueError(f"tên đăng nhập MQTT không hợp lệ: {username!r}")
    return f"{username}:{password_hash(password, iterations)}\n"


def device_acl(device_id: str, unit_codes: list[str]) -> str:
    """The ACL block of one device: publish under its own ``d`` topics, read its own and its groups' topics."""
    check_device_id(device_id)
    lines = [f"user {device_id}", f"topic write {PREFIX}/d/{device_id}/#"]
    for topic in device_subscriptions(device_id, unit_codes):
        lines.append(f"topic read {topic}")
    return "\n".join(lines) + "\n"


def server_acl(username: str) -> str:
    """The ACL block of the server (gateway): read every device topic, write commands and manifests."""
    return (
        "\n".join(
            [
                f"user {username}",
                f"topic read {PREFIX}/d/#",
                f"topic write {PREFIX}/dev/#",
                f"topic write {PREFIX}/g/#",
                f"topic read {PREFIX}/dev/#",
                f"topic read {PREFIX}/g/#",
                f"topic readwrite {PREFIX}/s/#",  # the server's own retained state (the gateway's status)
            ]
        )
        + "\n"
    )


def render_acl(devices: Iterable[tuple[str, list[str]]], server_users: Iterable[str] = ()) -> str:
    blocks = [server_acl(user) for user in server_users]
    blocks += [device_acl(device_id, codes) for device_id, codes in devices]
    return "\n".join(blocks)


def find_mosquitto() -> str | None:
    for candidate in MOSQUITTO_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("mosquitto")


def free_port() -> int:
    """A port reserved for this process (loa_protocol.ports): not handed to anyone else while it lives."""
    return reserve_port()


@dataclass
class MosquittoBroker:
    """A private Mosquitto on 127.0.0.1 with a generated config.

    ``users`` maps user name → password (written as a hashed password file; anonymous access is then refused);
    ``acl`` is the text of an ACL file. With neither, anonymous clients may do anything (tests that do not check
    isolation). ``stop()`` / ``start()`` keep the port, so clients can reconnect after a restart.
    """

    directory: Path | None = None
    port: int = 0
    users: dict[str, str] = field(default_factory=dict)
    acl: str | None = None
    persistence: bool = True
    max_connections: int = -1
    binary: str | None = None
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="loa-mosquitto-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        self.binary = self.binary or find_mosquitto()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def conf_path(self) -> Path:
        assert self.directory is not None
        return self.directory / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        assert self.directory is not None
        return self.directory / "mosquitto.log"

    def write_config(self) -> None:
        assert self.directory is not None
        lines = [
            # Mosquitto started as root drops to the "mosquitto" user, which cannot read our private files.
            *(["user root"] if os.geteuid() == 0 else []),
            f"listener {self.port} 127.0.0.1",
            f"max_connections {self.max_connections}",
            "max_queued_messages 10000",
            "max_inflight_messages 100",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_timestamp true",
        ]
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.directory}/", "autosave_interval 1"]
        if self.users:
            pw = self.directory / "passwords"
            pw.write_text("".join(password_line(u, p) for u, p in self.users.items()), "utf-8")
            pw.chmod(0o600)
            # the client id is the user name: one device's password gives one session, under the device's id
            lines += ["allow_anonymous false", "use_username_as_clientid true", f"password_file {pw}"]
        else:
            lines.append("allow_anonymous true")
        if self.acl is not None:
            acl = self.directory / "acl"
            acl.write_text(self.acl, "utf-8")
            acl.chmod(0o600)
            lines.append(f"acl_file {acl}")
        self.conf_path.write_text("\n".join(lines) + "\n", "utf-8")

    def start(self, timeout: float = 10.0) -> MosquittoBroker:
        if self.binary is None:
            raise RuntimeError("Không tìm thấy Mosquitto: cài gói mosquitto (apt-get install mosquitto).")
        self.write_config()
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.conf_path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"Mosquitto dừng ngay khi khởi động (mã {self.process.returncode}): {err}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"Mosquitto không lắng nghe cổng {self.port} sau {timeout} giây.")

    def stop(self, kill: bool = False) -> None:
        """Stop the broker (``kill=True``: SIGKILL, as a crash)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def restart(self, kill: bool = False, pause: float = 0.0) -> None:
        self.stop(kill=kill)
        if pause:
            time.sleep(pause)
        self.start()

    def reload(self) -> None:
        """Re-read the password and ACL files (SIGHUP), e.g. after enrolling a device."""
        self.write_config()
        if self.process is not None:
            self.process.send_signal(signal.SIGHUP)

    def log(self) -> str:
        return self.log_path.read_text("utf-8", errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> MosquittoBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_broker(**kwargs: object) -> Iterator[MosquittoBroker]:
    broker = MosquittoBroker(**kwargs)  # type: ignore[arg-type]
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
