"""``loa demo``: seed the demo province and serve the console on 127.0.0.1:8000."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from loa.console.demo import do_seed_demo


class Command(BaseCommand):
    help = "Trình diễn: nạp tỉnh mẫu, tạo người dùng mỗi vai trò (mật khẩu dùng một lần) rồi chạy bảng điều khiển."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--province",
            default=os.environ.get("LOA_DEMO_PROVINCE", "22"),
            help="mã tỉnh mẫu (mặc định 22, Quảng Ninh)",
        )
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="chỉ tạo dữ liệu, không chạy máy chủ")
        parser.add_argument("--no-fleet", action="store_true", help="không chạy gateway và cụm loa mô phỏng")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", verbosity=0, interactive=False)
        province, logins = do_seed_demo(options["province"].zfill(2))
        url = f"http://{options['host']}:{options['port']}/"
        out = self.stdout
        out.write("")
        out.write(
            f"Loa đang chạy trình diễn cho {province.name} ({province.children.count()} xã/phường/đặc khu)."
        )
        out.write(f"Mở bảng điều khiển: {url}")
        out.write("")
        out.write("Tài khoản (mật khẩu dùng một lần, chỉ in lần này; phải đổi khi đăng nhập lần đầu):")
        for login in logins:
            tfa = "  [bắt buộc xác thực hai lớp]" if login.two_factor else ""
            out.write(f"  {login.username:<13} {login.password}   {login.role} — {login.unit}{tfa}")
        out.write("")
        if not options["no_serve"]:
            from loa.fleet.demo import start_demo_fleet, stop_demo_fleet

            fleet = [] if options["no_fleet"] else start_demo_fleet(province)
            if fleet:
                out.write(
                    "Cụm loa mô phỏng: 300 cụm ở 3 xã đầu tiên của tỉnh, qua broker MQTT nhúng và gateway "
                    f"(nhật ký: {settings.DATA_DIR / 'demo-fleet.log'}). Nhấn Ctrl-C để dừng tất cả."
                )
                out.write("")
            try:
                call_command("serve", host=options["host"], port=options["port"])
            finally:
                stop_demo_fleet(fleet)
