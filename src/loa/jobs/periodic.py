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
        "loa.jobs.reap",
        "loa.jobs.lease.reap_dead_jobs",
        1,
        "Tác vụ nền: thử lại hoặc kết thúc tác vụ của tiến trình xử lý đã dừng đột ngột",
    ),
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
        "loa.broadcast.orphaned_emergencies",
        "loa.jobs.periodic.orphaned_emergencies",
        1,
        "Phát khẩn cấp: gỡ khỏi bảng tin phát khẩn cấp chưa từng gửi được tới cụm loa (máy chủ dừng giữa chừng)",
    ),
    Periodic(
        "loa.broadcast.compile",
        "loa.jobs.periodic.broadcast_compile",
        60,
        "Phát thanh: biên dịch lịch phát 48 giờ cho mọi cụm loa (mốc 48 giờ trôi theo thời gian)",
    ),
    Periodic(
        "loa.citizen.feedback_sla",
        "loa.jobs.periodic.feedback_sla",
        5,
        "Phản ánh: nhắc hạn xử lý và chuyển phản ánh quá hạn lên đơn vị cấp trên",
    ),
    Periodic(
        "loa.citizen.feedback_retention",
        "loa.jobs.periodic.feedback_retention",
        60,
        "Phản ánh: xoá dữ liệu cá nhân hết thời hạn lưu trữ và liên hệ không được xác minh",
    ),
    Periodic(
        "loa.alerts.requeue",
        "loa.alerts.push.requeue_stale",
        1,
        "Cảnh báo Web Push: gửi cảnh báo khẩn cấp chưa được đưa vào hàng đợi (tiến trình dừng ngay sau khi phát)",
    ),
    Periodic(
        "loa.analytics.rollup",
        "loa.jobs.periodic.analytics_rollup",
        15,
        "Thống kê: tổng hợp số liệu hôm qua, hôm nay và những ngày có nhật ký phát gửi muộn",
    ),
    Periodic(
        "loa.analytics.monthly_reports",
        "loa.jobs.periodic.analytics_monthly_reports",
        60,
        "Thống kê: lập báo cáo tháng trước của các xã có cụm loa và của tỉnh (từ ngày 2), báo cho người phụ trách",
    ),
]
# Device offline alarms are not here: the gateway raises them in its own loop (loa.gateway.service._periodic),
# since it is the process that sees the heartbeats.


def expire_bulletins() -> dict[str, int]:
    from loa.content.workflow import expire_due

    return {"expired": expire_due()}


def broadcast_handoffs() -> dict[str, int]:
    from loa.broadcast.handoffs import consume

    return dict(consume())


def orphaned_emergencies() -> dict[str, int]:
    from loa.broadcast.emergency import do_withdraw_orphaned

    return {"withdrawn": do_withdraw_orphaned()}


def broadcast_compile() -> dict[str, Any]:
    from loa.broadcast.compile import compile_manifests

    r = compile_manifests()
    return {"devices": r.devices, "changed": r.changed, "seconds": round(r.seconds, 3)}


def analytics_rollup() -> dict[str, Any]:
    from loa.analytics.rollup import rollup_recent

    r = rollup_recent()
    return {"days": r.days, "rows": r.rows, "seconds": round(r.seconds, 3)}


def analytics_monthly_reports() -> dict[str, int]:
    from loa.analytics.reports import do_schedule_monthly_reports

    return do_schedule_monthly_reports()


def feedback_sla() -> dict[str, int]:
    from loa.citizen.feedback_workflow import do_sla_sweep

    r = do_sla_sweep()
    return {"reminded": r.reminded, "escalated": r.escalated}


def feedback_retention() -> dict[str, int]:
    from loa.citizen.feedback_privacy import run_retention

    return run_retention()


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
