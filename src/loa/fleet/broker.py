"""The MQTT broker's security files, generated from the fleet registry, and the embedded broker.

* ``passwd``: Mosquitto's password file (``user:$7$<iterations>$<b64 salt>$<b64 PBKDF2-SHA512>``, the format of
  ``mosquitto_passwd`` 2.x). Devices' hashes come from the database (the password itself is never stored); the
  gateway's password is generated once and kept in ``<data dir>/mqtt/gateway.secret`` (0600).
* ``acl``: a device writes only ``loa/v1/d/<its id>/#`` and reads only ``loa/v1/dev/<its id>/#`` and the group
  command topics of its unit and that unit's ancestors; the gateway reads ``loa/v1/d/#`` and writes
  ``loa/v1/g/#`` and ``loa/v1/dev/#``. No other user exists and anonymous clients are refused by the config.

Files are written atomically (temporary file + rename) and the broker is told to reload them with SIGHUP
(the pid is read from ``<mqtt dir>/mosquitto.pid``, or from ``LOA_MQTT_PID_FILE``).

:class:`EmbeddedBroker` runs ``/usr/sbin/mosquitto`` with a generated config on 127.0.0.1 (for ``loa demo``
and tests); without the binary it falls back to ``iotcore`` (rumqttd), which has no ACLs: demo only.
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import hashlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from loa_protocol import mosquitto
from loa_protocol.ports import reserve_port

log = logging.getLogger(__name__)

GATEWAY_USERNAME = "loa-gateway"
PBKDF2_ITERATIONS = 101  # mosquitto_passwd's default; passwords are 32 random bytes, not human secrets
MOSQUITTO_BINARIES = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")
MAX_PACKET_BYTES = 256 * 1024


# ---- passwords -----------------------------------------------------------------------------------------


def new_password() -> str:
    return secrets.token_urlsafe(32)


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = PBKDF2_ITERATIONS) -> str:
    """Mosquitto 2.x password hash (``loa_protocol.mosquitto`` writes the same format for test brokers)."""
    return mosquitto.password_hash(password, iterations, salt)


def check_password(password: str, hashed: str) -> bool:
    try:
        _empty, seven, iterations, salt_b64, digest_b64 = hashed.split("$")
        if seven != "7":
            return False
        digest = hashlib.pbkdf2_hmac(
            "sha512", password.encode(), base64.b64decode(salt_b64), int(iterations), 64
        )
    except (ValueError, TypeError):
        return False
    return secrets.compare_digest(base64.b64encode(digest).decode(), digest_b64)


# ---- where files live ----------------------------------------------------------------------------------


def mqtt_dir() -> Path:
    from django.conf import settings

    configured = getattr(settings, "LOA_MQTT_DIR", "") or os.environ.get("LOA_MQTT_DIR", "")
    path = Path(configured or Path(settings.DATA_DIR) / "mqtt")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def gateway_password() -> str:
    """The gateway's broker password: ``LOA_MQTT_GATEWAY_PASSWORD``, else generated once in the mqtt dir."""
    from loa.fleet import conf

    configured = conf.get("LOA_MQTT_GATEWAY_PASSWORD")
    if configured:
        return str(configured)
    path = mqtt_dir() / "gateway.secret"
    if path.exists():
        return path.read_text().strip()
    password = new_password()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    except FileExistsError:  # another process won the race
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(password)
    return password


# ---- file contents -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokerUser:
    device_id: str
    password_hash: str
    unit_codes: tuple[str, ...]


def unit_codes_of(path: str) -> tuple[str, ...]:
    """A unit's materialised path ``22/06652/06652.001/`` → ``("22", "06652", "06652.001")``."""
    return tuple(c for c in path.split("/") if c)


def passwd_text(users: Iterable[BrokerUser], gateway_hash: str) -> str:
    lines = [f"{GATEWAY_USERNAME}:{gateway_hash}"]
    lines += [f"{u.device_id}:{u.password_hash}" for u in users]
    return "\n".join(lines) + "\n"


def acl_text(users: Iterable[BrokerUser]) -> str:
    """The ACL from the registry, with the protocol's own rules (``loa_protocol.mosquitto``): a device writes only
    under its own id and reads only its own and its groups' command topics."""
    header = (
        "# Generated by Loa (loa.fleet.broker) from the fleet registry. Do not edit: it is rewritten on every\n"
        "# enrolment and revocation. A user not listed here may do nothing.\n\n"
    )
    devices = ((u.device_id, list(u.unit_codes)) for u in users)
    return header + mosquitto.render_acl(devices, server_users=[GATEWAY_USERNAME])


def broker_users() -> list[BrokerUser]:
    from loa.fleet.models import Device

    rows = (
        Device.objects.active()
        .exclude(credentials_hash="")
        .order_by("device_id")
        .values_list("device_id", "credentials_hash", "unit__path")
    )
    return [BrokerUser(d, h, unit_codes_of(p)) for d, h, p in rows]


def write_broker_files(*, reload: bool = True, directory: Path | None = None) -> tuple[Path, Path]:
    """Regenerate ``passwd`` and ``acl`` from the registry; SIGHUP the broker so it reloads them."""
    directory = directory or mqtt_dir()
    users = broker_users()
    passwd, acl = directory / "passwd", directory / "acl"
    _write_private(passwd, passwd_text(users, hash_password(gateway_password())))
    _write_private(acl, acl_text(users))
    if reload:
        reload_broker(directory)
    return passwd, acl


def reload_broker(directory: Path | None = None) -> bool:
    """Send SIGHUP to the broker named by its pid file; False when no broker is running there."""
    from loa.fleet import conf

    pid_file = Path(conf.get("LOA_MQTT_PID_FILE") or (directory or mqtt_dir()) / "mosquitto.pid")
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGHUP)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError) as exc:
        log.debug("no broker to reload (%s): %s", pid_file, exc)
        return False
    return True


# ---- URLs ----------------------------------------------------------------------------------------------


def server_mqtt_url() -> str:
    """The URL the gateway connects to: ``LOA_MQTT_URL``, or the running embedded broker's."""
    from django.conf import settings

    url = str(getattr(settings, "LOA_MQTT_URL", "embedded"))
    if url != "embedded":
        return url
    info = mqtt_dir() / "broker.json"
    with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
        return str(json.loads(info.read_text())["url"])
    port = getattr(settings, "LOA_MQTT_EMBEDDED_PORT", 0) or os.environ.get("LOA_MQTT_EMBEDDED_PORT") or 18830
    return f"mqtt://127.0.0.1:{int(port)}"


def device_mqtt_url() -> str:
    """The URL given to devices at enrolment: ``LOA_MQTT_DEVICE_URL`` (the public name), else the server's."""
    from loa.fleet import conf

    return str(conf.get("LOA_MQTT_DEVICE_URL") or server_mqtt_url())


@dataclass(frozen=True)
class MqttTarget:
    host: str
    port: int
    tls: bool


def parse_mqtt_url(url: str) -> MqttTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"Địa chỉ MQTT không hợp lệ: {url!r} (cần mqtt://máy:cổng hoặc mqtts://máy:cổng).")
    tls = parts.scheme in ("mqtts", "ssl")
    return MqttTarget(parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), tls)


# ---- embedded broker -----------------------------------------------------------------------------------


def free_port() -> int:
    """A port reserved for this process (loa_protocol.ports): not handed to anyone else while it lives."""
    return reserve_port()


def mosquitto_binary() -> str | None:
    for candidate in (*MOSQUITTO_BINARIES, shutil.which("mosquitto") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def mosquitto_config(directory: Path, port: int) -> str:
    user_line = f"user {getpass.getuser()}\n" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    return (
        "# Generated by Loa for the embedded broker (loa.fleet.broker.EmbeddedBroker).\n"
        f"{user_line}"
        "per_listener_settings false\n"
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous false\n"
        # the client id is the user name: one device's password gives one session, under the device's id
        "use_username_as_clientid true\n"
        f"password_file {directory / 'passwd'}\n"
        f"acl_file {directory / 'acl'}\n"
        f"pid_file {directory / 'mosquitto.pid'}\n"
        "persistence true\n"
        f"persistence_location {directory / 'store'}/\n"
        "autosave_interval 5\n"
        "max_queued_messages 1000000\n"
        "max_inflight_messages 1000\n"
        f"max_packet_size {MAX_PACKET_BYTES}\n"
        "log_dest stderr\n"
        "log_type error\nlog_type warning\nlog_type notice\n"
    )


class EmbeddedBroker:
    """Mosquitto with a generated config on 127.0.0.1 and a port of its own (``iotcore`` when it is missing).

    ``directory`` holds the config, password and ACL files, the pid file and the persistence store, so a
    restart (:meth:`restart`) keeps retained messages and queued QoS 1 messages of persistent sessions.
    """

    def __init__(self, directory: Path, port: int | None = None, *, log_file: Path | None = None) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "store").mkdir(exist_ok=True)
        self.port = port or free_port()
        self.log_file = log_file or self.directory / "mosquitto.log"
        self.binary = mosquitto_binary()
        self._proc: subprocess.Popen[bytes] | None = None
        self._iotcore: Any = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def supports_acl(self) -> bool:
        return self.binary is not None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def ensure_files(self) -> None:
        for name in ("passwd", "acl"):
            if not (self.directory / name).exists():
                _write_private(self.directory / name, "")

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        self.ensure_files()
        if self.binary is None:
            log.warning("mosquitto not found: starting iotcore (no ACLs, no passwords: demo only)")
            import iotcore

            self._iotcore = iotcore.Broker(port=self.port, listen="127.0.0.1")
            self._iotcore.__enter__()
        else:
            conf = self.directory / "mosquitto.conf"
            conf.write_text(mosquitto_config(self.directory, self.port))
            with open(self.log_file, "ab") as logfh:
                self._proc = subprocess.Popen(
                    [self.binary, "-c", str(conf)], stdout=logfh, stderr=subprocess.STDOUT
                )
        self._wait_listening(timeout)
        (self.directory / "broker.json").write_text(json.dumps({"url": self.url, "pid": self.pid}))
        return self

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                tail = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
                raise RuntimeError(f"Mosquitto dừng ngay khi khởi động (mã {self._proc.returncode}):\n{tail}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError(f"Broker MQTT không lắng nghe trên cổng {self.port} sau {timeout} giây.")

    def reload(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGHUP)
            time.sleep(0.2)  # mosquitto reloads on its next loop iteration

    def stop(self, *, kill: bool = False) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
                try:
                    self._proc.wait(10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(5)
            self._proc = None
        if self._iotcore is not None:
            self._iotcore.__exit__(None, None, None)
            self._iotcore = None
        with contextlib.suppress(FileNotFoundError):
            (self.directory / "broker.json").unlink()

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
