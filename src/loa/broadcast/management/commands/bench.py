"""``loa bench <name>``: run a benchmark and print one JSON object.

Benchmarks are registered in ``BENCHMARKS`` (name → dotted path of a function, label); each function takes the
options that were given on the command line as keyword arguments (the others keep the function's defaults) and
returns a JSON-serialisable dict. Other domains add their own line here (and their options to ``OPTIONS``).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string

BENCHMARKS: dict[str, tuple[str, str]] = {
    "compile": ("loa.broadcast.bench.compile_bench", "Biên dịch lịch phát 48 giờ cho N cụm loa"),
    "emergency": (
        "loa.broadcast.bench.emergency_bench",
        "Phát khẩn cấp tới N cụm loa mô phỏng (broker thật)",
    ),
    "fanout": (
        "loa.fleet.bench.fanout_bench",
        "Một lệnh phát ngay qua API tới N cụm loa mô phỏng: từ lúc gọi API tới lúc thiết bị nhận lệnh",
    ),
    "ingest": ("loa.gateway.bench.run_ingest", "Gateway: trạng thái/giây, nhật ký phát/giây, đúng một lần"),
}
# option → help; every option is an integer, passed on only when given
OPTIONS: dict[str, str] = {
    "devices": "số cụm loa",
    "hours": "số giờ của lịch (compile)",
    "repeat": "số lần đo",
    "processes": "số tiến trình mô phỏng thiết bị (emergency, fanout)",
    "heartbeats": "số bản tin trạng thái (ingest)",
    "playlogs": "số sự kiện nhật ký phát (ingest)",
    "publishers": "số luồng gửi song song (ingest)",
}


class Command(BaseCommand):
    help = "Chạy một phép đo hiệu năng và in kết quả JSON (compile, emergency, …)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", choices=sorted(BENCHMARKS), help="phép đo")
        for option, text in OPTIONS.items():
            parser.add_argument(f"--{option}", type=int, default=None, help=text)
        parser.add_argument(
            "--download", action="store_true",
            help="mọi cụm loa mô phỏng tải âm thanh qua HTTP và kiểm tra sha256 trước khi phát (emergency)",
        )  # fmt: skip
        parser.add_argument(
            "--transport", choices=["lean", "aiomqtt"], default=None,
            help="kết nối MQTT của cụm loa mô phỏng: lean (mặc định, ADR 0021) hoặc aiomqtt (của agent tham chiếu)",
        )  # fmt: skip
        parser.add_argument(
            "--web", action="store_true",
            help="với --download: tải từ tiến trình web thật (loa serve) thay cho máy chủ tệp tĩnh",
        )  # fmt: skip
        parser.add_argument(
            "--nginx", action="store_true",
            help="với --download --web: nginx với bộ đệm tệp âm thanh của deploy/nginx/loa.conf đứng trước tiến trình web",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        path, _label = BENCHMARKS[name]
        kwargs = {k: options[k] for k in OPTIONS if options.get(k) is not None}
        for flag in ("download", "web", "nginx"):
            if options.get(flag):
                kwargs[flag] = True
        if options.get("transport"):
            kwargs["transport"] = options["transport"]
        if kwargs.get("nginx") and not (kwargs.get("download") and kwargs.get("web")):
            raise CommandError("--nginx chỉ dùng cùng --download --web (nginx đứng trước tiến trình web).")
        if "devices" in kwargs and not 1 <= kwargs["devices"] <= 100_000:
            raise CommandError("Số cụm loa phải từ 1 đến 100000.")
        try:
            func = import_string(path)
        except ImportError as exc:
            raise CommandError(f"Không tải được phép đo {name}: {exc}") from exc
        try:
            result = func(**kwargs)
        except TypeError as exc:
            raise CommandError(f"Phép đo {name} không nhận tham số này: {exc}") from exc
        except (RuntimeError, OSError) as exc:  # a process of the benchmark did not start, a limit too low, …
            raise CommandError(f"Phép đo {name} không chạy được: {exc}") from exc
        self.stdout.write(json.dumps(result, ensure_ascii=False))
