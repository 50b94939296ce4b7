"""A command's page on a commune-wide command: the counts cover every cluster, the table shows the first 100
rows, those that need a look (refused, failed, not yet done) first — a province-wide command has thousands of
deliveries and the page is polled while it is on its way (bench/console_pages.py measured 0.5–1 s with 3,000)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.fleet.models import CommandDelivery, Device
from loa.fleet.services import do_send_command
from loa.units.models import Unit
from loa_protocol.topics import new_device_id


def test_the_delivery_table_shows_what_needs_a_look_first(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client], db: Any
) -> None:
    operator = make_user("op", Role.COMMUNE_OPERATOR, tree["a"])
    Device.objects.bulk_create(
        [
            Device(device_id=new_device_id(), unit=tree["a"], serial=f"S-{i}", name=f"Cụm {i:03d}")
            for i in range(150)
        ]
    )
    command = do_send_command(actor=operator, action="stop", target_unit=tree["a"])
    CommandDelivery.objects.filter(command=command).update(state="done")
    refused = CommandDelivery.objects.filter(command=command).order_by("-device_id")[:3]
    refused_ids = {d.device_id for d in refused}
    CommandDelivery.objects.filter(device_id__in=refused_ids, command=command).update(state="refused")
    page = client_for(operator).get(f"/fleet/commands/{command.pk}/").content.decode()
    rows = re.findall(r'<tr><td><a href="/fleet/d/(loa-[0-9a-f]+)/"', page)
    assert len(rows) == 100
    assert set(rows[:3]) == refused_ids  # the refused ones first, although they sort last by id
    assert "… và 50 cụm loa khác" in page
    assert "Đã thực hiện: 147" in page and "Thiết bị từ chối: 3" in page
