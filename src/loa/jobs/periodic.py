"""Periodic jobs: one table, written to django-q2 ``Schedule`` rows after every ``migrate``.

``loa qcluster`` (started by ``loa serve`` in embedded mode, by ``loa-worker.service`` in production) runs them;
nothing else (cron, systemd timers) is needed, although the ``loa bulletins expire`` / ``loa broadcast …``
commands still work by hand. See docs/adr/0003-task-queue.md.

The rows are created idempotently by :func:`ensure_schedules` (a ``post_migrate`` receiver of the jobs app): a
missing row is created; an existing one gets the function of this table, and keeps the interval and the
repeats an administrator may have changed in the admin (``/admin/django_q/schedule/``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str  # the Schedule row's unique name
    func: str  # dotted path of a function called without arguments
    minutes: int
    label: str  # what the admin shows


PERIODIC: list[Periodic] = [
    Periodic(
        "loa.content.expire_bulletins",
        "loa.jobs.periodic.expire_bulletins",
        1,
        "Bản tin: kết thúc các bản tin hết thời hạn hiệu lực",
    ),
    Periodic(
        "loa.broadcast.handoffs",
        "loa.jobs.periodic.broadcast_handoffs",
        5,
        "Phát thanh: xử lý lại bản tin chuyển sang còn chờ (nếu lần xử lý ngay khi phát hành bị lỡ)",
    ),
    Periodic(
        "loa.broadcast.compile",
        "loa.jobs.periodic.broadcast_compile",
        60,
        "Phát thanh: biên dịch lịch phát 48 giờ cho mọi cụm loa (mốc 48 giờ trôi theo thời gian)",
    ),
]
# Device offline alarms are not here: the gateway raises them in its own loop (loa.gateway.service._periodic),
# since it is the process that sees the heartbeats.


def expire_bulletins() -> dict[str, int]:
    from loa.content.services import expire_due

    return {"expired": expire_due()}


def broadcast_handoffs() -> dict[str, int]:
    from loa.broadcast.handoffs import consume

    return dict(consume())


def broadcast_compile() -> dict[str, Any]:
    from loa.broadcast.compile import compile_manifests

    r = compile_manifests()
    return {"devices": r.devices, "changed": r.changed, "seconds": round(r.seconds, 3)}


def ensure_schedules(**_kwargs: Any) -> int:
    """Create the missing ``Schedule`` rows of :data:`PERIODIC`; returns how many were created."""
    from django_q.models import Schedule

    created = 0
    for p in PERIODIC:
        row = Schedule.objects.filter(name=p.name).first()
        if row is None:
            Schedule.objects.create(
                name=p.name,
                func=p.func,
                schedule_type=Schedule.MINUTES,
                minutes=p.minutes,
                repeats=-1,
                next_run=timezone.now(),
            )
            created += 1
        elif row.func != p.func:
            row.func = p.func
            row.save(update_fields=["func"])
    if created:
        log.info("đã tạo %d tác vụ định kỳ", created)
    return created
