"""The nginx in front of the web process, as ``deploy/nginx/loa.conf`` sets it up, run on a loopback port.

For ``loa bench emergency --download --web --nginx`` and the tests of the media cache: what a province runs in
front of ``loa serve`` is nginx (TLS, and the cache of public media, ADR 0019), so the shipped file's own rules —
its ``proxy_cache_path`` and its ``location /media/files/`` block — are read from ``deploy/nginx/loa.conf`` and put
in a small configuration of their own (plain HTTP on ``127.0.0.1:<port>``, every path in one private directory).
A change to the shipped rules is what the bench measures and the tests check; there is no copy of them here.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[3] / "deploy" / "nginx" / "loa.conf"
UPSTREAM = "http://127.0.0.1:8000"  # where the shipped file expects `loa serve`


class FrontError(RuntimeError):
    """nginx is missing, the shipped file is not where it should be, or nginx would not start."""


def _directives(text: str) -> str:
    return "\n".join(line.split("#", 1)[0].rstrip() for line in text.splitlines())


def shipped_media_rules(text: str | None = None) -> tuple[str, str]:
    """(the ``proxy_cache_path`` directive, the body of ``location /media/files/``) of the shipped file."""
    if text is None:
        if not SHIPPED.is_file():
            raise FrontError(
                f"Không thấy tệp cấu hình nginx của Loa ({SHIPPED}): cần chạy từ mã nguồn của Loa."
            )
        text = SHIPPED.read_text(encoding="utf-8")
    conf = _directives(text)
    cache_path = re.search(r"^proxy_cache_path\s[^;]*;", conf, re.M | re.S)
    media = re.search(r"^ {4}location /media/files/ \{\n(.*?)\n {4}\}", conf, re.M | re.S)
    if cache_path is None or media is None:
        raise FrontError(f"{SHIPPED} không còn proxy_cache_path hoặc khối location /media/files/.")
    return cache_path.group(0), media.group(1)


def front_config(directory: Path, listen_port: int, upstream_port: int, text: str | None = None) -> str:
    """The configuration: the shipped media rules, every path under ``directory``, the upstream's real port."""
    cache_path, media = shipped_media_rules(text)
    cache_path = re.sub(r"proxy_cache_path\s+\S+", f"proxy_cache_path {directory / 'cache'}", cache_path)
    upstream = f"http://127.0.0.1:{upstream_port}"
    media = media.replace(UPSTREAM, upstream)
    # as root nginx would run its workers as "nobody", who cannot enter a private temporary directory
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes auto;
worker_rlimit_nofile 16384;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path {directory / "client_body"};
    proxy_temp_path {directory / "proxy"};
    fastcgi_temp_path {directory / "fastcgi"};
    uwsgi_temp_path {directory / "uwsgi"};
    scgi_temp_path {directory / "scgi"};
    {cache_path}
    server {{
        listen 127.0.0.1:{listen_port};
        server_tokens off;
        proxy_set_header Host $host;
        location / {{
            proxy_pass {upstream};
        }}
        location /media/files/ {{
{media}
        }}
    }}
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NginxFront:
    """``with NginxFront(upstream_port) as front: front.url`` — nginx with the shipped media rules, stopped and its
    directory (the cache included) removed on exit."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.directory: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        binary = shutil.which("nginx") or next(
            (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).is_file()), None
        )
        if binary is None:
            raise FrontError("Chưa cài nginx: chạy scripts/install_system.sh test (gói Debian 'nginx').")
        self.directory = Path(tempfile.mkdtemp(prefix="loa-nginx-"))
        self.port = _free_port()
        conf = self.directory / "nginx.conf"
        conf.write_text(front_config(self.directory, self.port, self.upstream_port), encoding="utf-8")
        self.process = subprocess.Popen(
            [binary, "-p", str(self.directory), "-c", str(conf), "-e", str(self.directory / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise FrontError(f"nginx dừng ngay khi khởi động: {self._log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise FrontError(f"nginx không nghe cổng {self.port} sau {timeout:.0f} giây: {self._log_tail()}")

    def cpu_s(self) -> float:
        """CPU seconds (user + system) of nginx's master and its workers so far (Linux ``/proc``)."""
        if self.process is None:
            return 0.0
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.is_file():
            pids += [int(p) for p in children.read_text().split()]
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # a worker that just exited
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
        return total / os.sysconf("SC_CLK_TCK")

    def _log_tail(self) -> str:
        log = self.directory / "error.log" if self.directory else None
        return log.read_text(errors="replace")[-1500:] if log and log.is_file() else "(không có nhật ký)"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: the workers finish what they send
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> NginxFront:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
