"""Queueing jobs and reporting their progress."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils import timezone

from loa.jobs.models import Job

log = logging.getLogger(__name__)


def set_progress(job_id: int, progress: int, message: str = "") -> None:
    Job.objects.filter(pk=job_id).update(
        state=Job.State.RUNNING, progress=max(0, min(100, progress)), message=message[:500]
    )


def run_job(job_id: int, func_path: str, kwargs: dict[str, Any]) -> None:
    """Run one job (inside a worker, or inline): mark it running, call the task, record how it ended."""
    from django.utils.module_loading import import_string

    func: Callable[..., dict[str, Any] | None] = import_string(func_path)
    Job.objects.filter(pk=job_id).update(state=Job.State.RUNNING, progress=0)
    try:
        result = func(job_id=job_id, **kwargs) or {}
    except Exception as exc:
        log.exception("job %s failed", job_id)
        message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
        Job.objects.filter(pk=job_id).update(
            state=Job.State.FAILED, message=str(message)[:500], finished_at=timezone.now()
        )
        return
    Job.objects.filter(pk=job_id).update(
        state=Job.State.DONE, progress=100, result=result, finished_at=timezone.now()
    )


def enqueue(kind: str, func_path: str, *, user: Any = None, unit: Any = None, **kwargs: Any) -> Job:
    """Create a job and queue it on django-q2 (or run it at once when ``LOA_JOBS_INLINE`` is set)."""
    job = Job.objects.create(kind=kind, created_by=user if getattr(user, "pk", None) else None, unit=unit)
    if getattr(settings, "LOA_JOBS_INLINE", False):
        run_job(job.pk, func_path, kwargs)
    else:
        from django_q.tasks import async_task

        async_task("loa.jobs.run.run_job", job.pk, func_path, kwargs, task_name=f"{kind}-{job.pk}")
    job.refresh_from_db()
    return job
