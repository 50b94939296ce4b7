from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_schedules(sender: Any, **kwargs: Any) -> None:
    from loa.jobs.periodic import ensure_schedules

    ensure_schedules()


class JobsConfig(AppConfig):
    name = "loa.jobs"
    label = "jobs"

    def ready(self) -> None:
        # after every `loa migrate` (and the test database's creation): the periodic jobs' Schedule rows
        post_migrate.connect(_ensure_schedules, sender=self, dispatch_uid="loa.jobs.periodic")
        # a worker that starts (perhaps in place of a killed one) looks for jobs left by dead workers
        from django_q.signals import post_spawn

        from loa.jobs.lease import on_worker_start

        post_spawn.connect(on_worker_start, dispatch_uid="loa.jobs.lease")
