"""``loa gateway``: run the MQTT gateway (ingest, presence, offline alarms, command outbox)."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from loa.fleet import broker
from loa.gateway.identity import IdentityTaken
from loa.gateway.service import GatewayOptions, run_forever


def _reachable(url: str) -> bool:
    target = broker.parse_mqtt_url(url)
    with contextlib.suppress(OSError), socket.create_connection((target.host, target.port), timeout=0.5):
        return True
    return False


class Command(BaseCommand):
    help = "Cổng MQTT: nhận trạng thái và nhật ký phát của cụm loa, gửi lệnh từ hàng đợi, báo mất kết nối."
    requires_system_checks: list[str] = []  # runs without loading the web URL tree

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="", help="địa chỉ broker (mặc định LOA_MQTT_URL)")
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument("--flush-interval", type=float, default=1.0, help="giây giữa hai lần ghi lô")
        parser.add_argument("--ca-file", default=None, help="chứng chỉ CA của broker (mqtts://)")
        parser.add_argument(
            "--client-id",
            default=os.environ.get("LOA_GATEWAY_CLIENT_ID", "loa-gateway"),
            help="mã phiên MQTT bền vững của gateway (mặc định loa-gateway)",
        )
        parser.add_argument(
            "--health-port",
            type=int,
            default=int(os.environ.get("LOA_GATEWAY_HEALTH_PORT", "0") or 0),
            help="cổng trên 127.0.0.1 trả lời GET /health (JSON, 200 khi khỏe, 503 khi mất broker hoặc cơ sở dữ liệu); "
            "0: không mở (mặc định LOA_GATEWAY_HEALTH_PORT)",
        )
        parser.add_argument(
            "--no-embedded-broker",
            action="store_true",
            help="không tự chạy broker nhúng khi LOA_MQTT_URL=embedded",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        logging.getLogger("loa").setLevel(logging.INFO)
        url = options["url"] or broker.server_mqtt_url()
        embedded = None
        if (
            not options["url"]
            and settings.LOA_MQTT_URL == "embedded"
            and not options["no_embedded_broker"]
            and not _reachable(url)
        ):
            broker.write_broker_files(reload=False)
            port = int(getattr(settings, "LOA_MQTT_EMBEDDED_PORT", 0) or broker.parse_mqtt_url(url).port)
            embedded = broker.EmbeddedBroker(broker.mqtt_dir(), port=port).start()
            url = embedded.url
            self.stdout.write(f"Đã chạy broker nhúng tại {url}")
        try:
            run_forever(
                GatewayOptions(
                    url=url,
                    batch_size=options["batch_size"],
                    flush_interval=options["flush_interval"],
                    ca_file=options["ca_file"],
                    client_id=options["client_id"],
                    check_identity=True,
                    health_port=options["health_port"],
                )
            )
        except IdentityTaken as exc:
            raise CommandError(exc.message, returncode=3) from None
        finally:
            if embedded is not None:
                embedded.stop()
