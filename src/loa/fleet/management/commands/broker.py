"""``loa broker files`` regenerates Mosquitto's password and ACL files; ``loa broker run`` runs the embedded broker."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from loa.fleet import broker


class Command(BaseCommand):
    help = (
        "Broker MQTT: 'files' tạo lại tệp mật khẩu và ACL (rồi báo broker nạp lại); 'run' chạy broker nhúng."
    )
    requires_system_checks: list[str] = []  # runs without loading the web URL tree

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["files", "run"])
        parser.add_argument("--port", type=int, default=0, help="cổng của broker nhúng (mặc định 18830)")
        parser.add_argument("--no-reload", action="store_true", help="không gửi SIGHUP cho broker")

    def handle(self, *args: Any, **options: Any) -> None:
        passwd, acl = broker.write_broker_files(
            reload=not options["no_reload"] and options["what"] == "files"
        )
        self.stdout.write(f"Đã ghi {passwd} và {acl}.")
        if options["what"] == "files":
            return
        port = options["port"] or int(getattr(settings, "LOA_MQTT_EMBEDDED_PORT", 18830))
        embedded = broker.EmbeddedBroker(broker.mqtt_dir(), port=port).start()
        self.stdout.write(f"Broker nhúng đang chạy tại {embedded.url} (Ctrl-C để dừng).")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(1):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            embedded.stop()
