"""Queueing jobs and reporting their progress.

A job queued on django-q2 is run by :func:`run_job` in a worker process. The worker claims the attempt (a
conditional UPDATE, so a late re-delivery of the same queue message runs nothing), records who it is
(``host:pid:start``) and renews a heartbeat every few seconds while the task runs. A worker that dies (SIGKILL,
out of memory, a machine that stops) is found by :mod:`loa.jobs.lease`, which queues the job again or fails it with
the reason, so no job is left "running" by a dead process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.translation import gettext as _

from loa.jobs import lease
from loa.jobs.models import Job

log = logging.getLogger(__name__)


def retry_note(attempt: int) -> str:
    """What a retried job's message starts with while it runs again."""
    return _("Đang thử lại (lần %(n)d/%(max)d) vì tiến trình xử lý trước đã dừng đột ngột") % {
        "n": attempt,
        "max": lease.max_attempts(),
    }


def set_progress(job_id: int, progress: int, message: str = "") -> None:
    attempts = Job.objects.filter(pk=job_id).values_list("attempts", flat=True).first() or 0
    if attempts > 1:
        message = f"{retry_note(attempts)}: {message}" if message else retry_note(attempts)
    Job.objects.filter(pk=job_id).update(
        state=Job.State.RUNNING,
        progress=max(0, min(100, progress)),
        message=message[:500],
        heartbeat_at=timezone.now(),
    )


class _Heartbeat:
    """Renews ``heartbeat_at`` every :data:`lease.HEARTBEAT_S` from a thread of the worker while the task runs."""

    def __init__(self, job_id: int, worker: str) -> None:
        self.job_id = job_id
        self.worker = worker
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"job-{job_id}-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        try:
            while not self.stop.wait(lease.heartbeat_s()):
                try:
                    Job.objects.filter(pk=self.job_id, worker=self.worker).update(heartbeat_at=timezone.now())
                except Exception:  # a busy database must not end the task; the next beat tries again
                    log.warning("job %s: heartbeat failed", self.job_id, exc_info=True)
        finally:
            connection.close()


def run_job(
    job_id: int, func_path: str, kwargs: dict[str, Any], attempt: int = 1, heartbeat: bool = True
) -> None:
    """Run one attempt of a job (inside a worker, or inline): claim it, call the task, record how it ended."""
    from django.utils.module_loading import import_string

    func: Callable[..., dict[str, Any] | None] = import_string(func_path)
    worker = lease.this_worker(inline=not heartbeat)
    claimed = Job.objects.filter(pk=job_id, state=Job.State.QUEUED, attempts=attempt - 1).update(
        state=Job.State.RUNNING,
        progress=0,
        attempts=attempt,
        worker=worker,
        heartbeat_at=timezone.now(),
        message=retry_note(attempt) if attempt > 1 else "",
    )
    if not claimed:
        log.warning("job %s: attempt %s already claimed or ended; not run again", job_id, attempt)
        return
    try:
        if heartbeat:
            with _Heartbeat(job_id, worker):
                result = func(job_id=job_id, **kwargs) or {}
        else:
            result = func(job_id=job_id, **kwargs) or {}
    except Exception as exc:
        log.exception("job %s failed", job_id)
        message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
        Job.objects.filter(pk=job_id, worker=worker).update(
            state=Job.State.FAILED, message=str(message)[:500], finished_at=timezone.now(), worker=""
        )
        return
    finally:
        if heartbeat:
            close_old_connections()
    Job.objects.filter(pk=job_id, worker=worker).update(
        state=Job.State.DONE,
        progress=100,
        result=result,
        finished_at=timezone.now(),
        worker="",
        message="",
    )


def enqueue(kind: str, func_path: str, *, user: Any = None, unit: Any = None, **kwargs: Any) -> Job:
    """Create a job and queue it on django-q2 (or run it at once when ``LOA_JOBS_INLINE`` is set)."""
    job = Job.objects.create(
        kind=kind,
        created_by=user if getattr(user, "pk", None) else None,
        unit=unit,
        func=func_path,
        kwargs=kwargs,
    )
    if getattr(settings, "LOA_JOBS_INLINE", False):
        run_job(job.pk, func_path, kwargs, 1, heartbeat=False)
    else:
        lease.queue(job, 1)
    job.refresh_from_db()
    return job
