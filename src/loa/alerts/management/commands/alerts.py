"""``loa alerts public-key`` / ``loa alerts rotate-vapid`` / ``loa alerts stats``."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from loa.alerts import keys
from loa.alerts.models import PushSubscription
from loa.audit.log import record


class Command(BaseCommand):
    help = "Cảnh báo qua Web Push: khóa VAPID (public-key, rotate-vapid) và số đăng ký (stats)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["public-key", "rotate-vapid", "stats"])

    def handle(self, *args: Any, **options: Any) -> None:
        what = options["what"]
        if what == "public-key":
            k = keys.current()
            self.stdout.write(json.dumps({"id": k.id, "public_key": k.public_key}))
        elif what == "stats":
            self.stdout.write(json.dumps({"subscriptions": PushSubscription.objects.count()}))
        else:
            try:
                old, new = keys.rotate()
            except RuntimeError as exc:
                raise CommandError(
                    "Khóa VAPID được cấu hình bằng LOA_VAPID_PRIVATE_KEY: hãy thay nó ở nơi cấu hình."
                ) from exc
            with transaction.atomic():
                record(
                    "alerts.vapid_rotated",
                    message=f"Thay khóa VAPID {old.id} bằng {new.id}; đăng ký cũ vẫn được ký bằng khóa cũ",
                    data={"old": old.id, "new": new.id,
                          "subscriptions_on_old_keys": PushSubscription.objects.exclude(vapid_key_id=new.id).count()},
                )  # fmt: skip
            self.stdout.write(json.dumps({"old": old.id, "new": new.id, "public_key": new.public_key}))
