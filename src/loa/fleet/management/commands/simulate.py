"""``loa simulate --devices N --unit CODE``: enrol N simulated loudspeaker clusters and run them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from loa.fleet import broker
from loa.fleet.services import FleetError, credentials_for, do_provision_device
from loa.units.models import Unit

if TYPE_CHECKING:
    from loa_agent.media import MediaFetcher


class Command(BaseCommand):
    help = "Mô phỏng N cụm loa: đăng ký chúng vào một xã/thôn rồi chạy chúng (bộ mô phỏng của loa_agent)."
    requires_system_checks: list[str] = []  # runs without loading the web URL tree

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--devices", type=int, default=10)
        parser.add_argument("--unit", default="", help="mã xã/phường hoặc thôn/bản")
        parser.add_argument(
            "--credentials-in", default="", help="chạy lại các thiết bị đã đăng ký (tệp JSON)"
        )
        parser.add_argument(
            "--broker", default="", help="địa chỉ broker cho thiết bị (mặc định như khi đăng ký)"
        )
        parser.add_argument("--heartbeat", type=float, default=60.0, help="giây giữa hai bản tin trạng thái")
        parser.add_argument(
            "--duration", type=float, default=0.0, help="chạy bao nhiêu giây (0 = tới khi Ctrl-C)"
        )
        parser.add_argument("--credentials-out", default="", help="ghi danh tính thiết bị (JSON) ra tệp này")
        parser.add_argument("--enrol-only", action="store_true", help="chỉ đăng ký, không chạy mô phỏng")
        parser.add_argument(
            "--trust-media",
            action="store_true",
            help="không tải tệp âm thanh (mọi tệp coi như có sẵn): chỉ để đo kênh điều khiển",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["credentials_in"]:
            from loa_agent.simulator import load_credentials

            self._run(load_credentials(Path(options["credentials_in"])), options)
            return
        unit = Unit.objects.filter(code=options["unit"]).first()
        if unit is None:
            raise CommandError(f"Không có đơn vị mã {options['unit']!r}.")
        n = options["devices"]
        if not 1 <= n <= 100_000:
            raise CommandError("Số thiết bị phải từ 1 đến 100000.")
        creds = []
        try:
            for i in range(n):
                device, password = do_provision_device(
                    unit, actor="loa simulate", serial=f"SIM-{unit.code}-{i:05d}-{time.time_ns() % 10**6}"
                )
                response = credentials_for(device, password)
                if options["broker"]:
                    response = response.model_copy(update={"mqtt_url": options["broker"]})
                creds.append(response)
        except FleetError as exc:
            raise CommandError(exc.message) from exc
        broker.write_broker_files()
        self.stdout.write(f"Đã đăng ký {len(creds)} cụm loa mô phỏng vào {unit.name}.")
        if options["credentials_out"]:
            path = Path(options["credentials_out"])
            path.write_text(json.dumps([c.model_dump(mode="json") for c in creds]))
            path.chmod(0o600)
        if options["enrol_only"]:
            return
        self._run(creds, options)

    def _run(self, creds: list[Any], options: dict[str, Any]) -> None:
        from loa_agent.runtime import RuntimeOptions
        from loa_agent.simulator import Simulator

        sim = Simulator(
            creds,
            options=RuntimeOptions(heartbeat_s=options["heartbeat"]),
            media_fetcher=media_fetcher(options),
        )
        sim.start(wait_connected=120)
        self.stdout.write(f"{sim.connected_count()} cụm loa mô phỏng đã kết nối tới {creds[0].mqtt_url}.")
        try:
            deadline = time.monotonic() + options["duration"] if options["duration"] else None
            while deadline is None or time.monotonic() < deadline:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            sim.stop()


def media_fetcher(options: dict[str, Any]) -> MediaFetcher:
    """What the simulated clusters fetch media with: by default the agent's own cache (HTTP with the device's
    credentials, sha256 checked), so a cluster that cannot download its audio acks ``failed`` with the reason
    instead of ``done`` ('done' means played, protocol.md §4); ``--trust-media`` downloads nothing."""
    from loa_agent.media import MediaCache, NullFetcher

    if options.get("trust_media"):
        return NullFetcher()
    return MediaCache(Path(settings.DATA_DIR) / "simulator-media")
