"""``loa serve``: the web process (ASGI, uvicorn) plus, in embedded mode, one background-job worker."""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from loa.console.served import use_served_url
from loa.processes import Supervised, stop_on_sigterm


class Command(BaseCommand):
    help = "Chạy máy chủ web (và một tiến trình tác vụ nền ở chế độ nhúng)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--no-worker", action="store_true", help="không chạy tiến trình tác vụ nền kèm theo"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        import uvicorn

        use_served_url(options["host"], options["port"])
        call_command("collectstatic", interactive=False, verbosity=0)
        stop_on_sigterm()
        worker = None
        try:
            if settings.LOA_MODE == "embedded" and not options["no_worker"]:
                # restarted if it dies (kill -9, out of memory): its jobs are then taken again (loa.jobs.lease)
                worker = Supervised([sys.executable, "-m", "loa.cli", "qcluster"], "tiến trình tác vụ nền")
            uvicorn.run(
                "loa.asgi:application",
                host=options["host"],
                port=options["port"],
                log_level="warning",
                lifespan="off",
                http="httptools",  # the C parser, not h11: docs/adr/0020-httptools-for-the-web-process.md
                # no "server: uvicorn" header; the client address is Loa's own rule (LOA_TRUSTED_PROXIES)
                server_header=False,
                proxy_headers=False,
            )
        finally:
            if worker is not None:
                worker.stop()
