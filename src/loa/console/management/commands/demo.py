"""``loa demo``: seed the demo province and serve the console (127.0.0.1:8000 unless told otherwise)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from loa.console.demo import do_seed_demo, do_seed_second_province
from loa.console.served import use_served_url
from loa.errors import Refusal
from loa.fleet.demo import demo_broker_port, start_demo_fleet, stop_demo_fleet, watch_demo_fleet


def announce_when_listening(
    host: str, port: int, url: str, write: Callable[[str], Any], timeout_s: float = 300
) -> threading.Thread:
    """Say "Sẵn sàng" with the address once the server accepts connections (static files are collected and the
    server started after the accounts are printed: an address printed earlier answered "connection refused")."""

    def wait() -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((host, port), timeout=1):
                    write(f"Sẵn sàng — mở bảng điều khiển: {url}")
                    return
            except OSError:
                time.sleep(0.3)

    thread = threading.Thread(target=wait, name="loa-demo-ready", daemon=True)
    thread.start()
    return thread


class Command(BaseCommand):
    help = "Trình diễn: nạp tỉnh mẫu, tạo người dùng mỗi vai trò (mật khẩu dùng một lần) rồi chạy bảng điều khiển."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--province",
            default=os.environ.get("LOA_DEMO_PROVINCE", "22"),
            help="mã tỉnh mẫu (mặc định 22, Quảng Ninh)",
        )
        parser.add_argument(
            "--second-province",
            default=os.environ.get("LOA_DEMO_SECOND_PROVINCE", ""),
            help="mã một tỉnh thứ hai trên cùng hệ thống (thuê dịch vụ), với người dùng riêng; mặc định không có",
        )
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="chỉ tạo dữ liệu, không chạy máy chủ")
        parser.add_argument("--no-fleet", action="store_true", help="không chạy gateway và cụm loa mô phỏng")
        parser.add_argument(
            "--devices", type=int, default=300, help="số cụm loa mô phỏng (lần chạy đầu; mặc định 300)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        url = use_served_url(options["host"], options["port"]) + "/"
        fleet_wanted = not options["no_serve"] and not options["no_fleet"]
        if fleet_wanted and settings.LOA_MQTT_URL == "embedded":
            try:
                demo_broker_port()  # before anything else: a busy port stops the demo at once
            except Refusal as exc:
                raise CommandError(exc.message) from exc
        call_command("migrate", verbosity=0, interactive=False)
        province, logins = do_seed_demo(options["province"].zfill(2))
        if options["second_province"]:
            _second, more = do_seed_second_province(options["second_province"].zfill(2))
            logins = logins + more
        out = self.stdout
        out.write("")
        out.write(
            f"Loa đang chạy trình diễn cho {province.name} ({province.children.count()} xã/phường/đặc khu)."
        )
        out.write(f"Bảng điều khiển: {url} (mở được khi dòng “Sẵn sàng” hiện ra, sau vài giây)")
        out.write("")
        out.write("Tài khoản (mật khẩu dùng một lần, chỉ in lần này; phải đổi khi đăng nhập lần đầu):")
        for login in logins:
            tfa = "  [bắt buộc xác thực hai lớp]" if login.two_factor else ""
            out.write(f"  {login.username:<13} {login.password}   {login.role} — {login.unit}{tfa}")
        out.write("")
        out.write(
            "Xác thực hai lớp: lần đăng nhập đầu, sau khi đổi mật khẩu, trang hiện một mã QR. Quét nó bằng ứng "
            "dụng xác thực trên điện thoại (Google Authenticator, Microsoft Authenticator, Aegis, FreeOTP…) hoặc "
            "gõ khóa bí mật in dưới mã, rồi nhập mã 6 số ứng dụng hiện ra; trang sau cho 10 mã khôi phục dùng một "
            "lần, hãy cất đi. Các lần sau chỉ cần mật khẩu và mã 6 số đang hiện."
        )
        out.write("")
        if not options["no_serve"]:
            fleet = start_demo_fleet(province, devices=options["devices"]) if fleet_wanted else []
            log = settings.DATA_DIR / "demo-fleet.log"
            stopping = watch_demo_fleet(fleet, log, self.stderr.write)
            if fleet:
                out.write(
                    f"Cụm loa mô phỏng: {options['devices']} cụm ở 3 xã đầu tiên của tỉnh, qua broker MQTT nhúng "
                    "và gateway "
                    f"(nhật ký: {log}). Nhấn Ctrl-C để dừng tất cả."
                )
                out.write("")
            announce_when_listening(options["host"], options["port"], url, out.write)
            try:
                call_command("serve", host=options["host"], port=options["port"])
            finally:
                stopping.set()
                stop_demo_fleet(fleet)
