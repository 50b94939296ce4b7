"""Finding jobs whose worker died, and what happens to them (issue 21, item 5).

A running job names its worker (``worker:<host>:<pid>:<start ticks>``) and renews ``heartbeat_at`` every
:func:`heartbeat_s` seconds (``loa.jobs.run``). A job is dead when that process no longer exists on this host (a
new worker checks at once when it starts: django-q2 starts one in place of a killed one), or when its heartbeat is
older than :func:`lease_s` (a worker on another machine, a machine that stopped; checked every minute by the
periodic job ``loa.jobs.reap``). A dead job is queued again (its message says "Đang thử lại (lần 2/2)…") until
``LOA_JOB_MAX_ATTEMPTS`` attempts have run, then failed with the reason. The task may clean what a dead attempt
left (a function attribute ``on_abandon(job_id=, final=, **kwargs)``: the media job removes the attempt's working
folder, and after the last attempt the uploaded file). Jobs run inline
(``LOA_JOBS_INLINE``, tests and development) are never reaped.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)


def heartbeat_s() -> float:
    return float(getattr(settings, "LOA_JOB_HEARTBEAT_S", 5))


def lease_s() -> float:
    return float(getattr(settings, "LOA_JOB_LEASE_S", 30))


def max_attempts() -> int:
    return int(getattr(settings, "LOA_JOB_MAX_ATTEMPTS", 2))


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks (/proc/<pid>/stat field 22): tells a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":  # a zombie has finished
        return None
    return fields[19]


def this_worker(inline: bool = False) -> str:
    pid = os.getpid()
    kind = "inline" if inline else "worker"
    return f"{kind}:{socket.gethostname()}:{pid}:{_start_ticks(pid) or '?'}"


def worker_gone(worker: str) -> bool:
    """True when ``worker`` names a process of this host that no longer runs; False when unknown."""
    try:
        kind, host, pid, ticks = worker.split(":")
    except ValueError:
        return False
    if kind != "worker" or host != socket.gethostname() or not pid.isdigit():
        return False
    now = _start_ticks(int(pid))
    return now is None or (ticks != "?" and now != ticks)


def reap_dead_jobs(now: Any = None) -> dict[str, int]:
    """Queue again or fail every running job whose worker is gone or silent past the lease."""
    from loa.jobs.models import Job

    now = now or timezone.now()
    silent_before = now - timedelta(seconds=lease_s())
    retried = failed = 0
    for job in Job.objects.filter(state=Job.State.RUNNING, worker__startswith="worker:"):
        silent = job.heartbeat_at is None or job.heartbeat_at < silent_before
        if not (silent or worker_gone(job.worker)):
            continue
        same = Job.objects.filter(
            pk=job.pk, state=Job.State.RUNNING, worker=job.worker, attempts=job.attempts
        )
        if job.func and job.attempts < max_attempts():
            if same.update(
                state=Job.State.QUEUED, progress=0, worker="", message=_retry_waiting(job.attempts + 1)
            ):
                log.warning(
                    "job %s: worker %s died; queued again (attempt %s)", job.pk, job.worker, job.attempts + 1
                )
                _abandon(job, final=False)
                job.refresh_from_db()
                queue(job, job.attempts + 1)
                retried += 1
            continue
        reason = _(
            "Tiến trình xử lý đã dừng đột ngột (đã chạy %(n)d lần); tác vụ không được thử lại nữa. "
            "Hãy thử tải lên lại."
        ) % {"n": job.attempts}
        if same.update(state=Job.State.FAILED, worker="", message=reason[:500], finished_at=now):
            log.warning("job %s: worker %s died; failed after %s attempts", job.pk, job.worker, job.attempts)
            failed += 1
            _abandon(job, final=True)
    return {"retried": retried, "failed": failed}


def _abandon(job: Any, final: bool) -> None:
    """Let the task clean what its dead attempt left (``on_abandon(job_id=, final=, **kwargs)``)."""
    from django.utils.module_loading import import_string

    try:
        cleanup = getattr(import_string(job.func), "on_abandon", None) if job.func else None
        if cleanup is not None:
            cleanup(job_id=job.pk, final=final, **job.kwargs)
    except Exception:
        log.exception("job %s: cleaning its working files failed", job.pk)


TASK = "loa.jobs.run.run_job"


def queue(job: Any, attempt: int) -> None:
    """Put attempt ``attempt`` of ``job`` on django-q2's queue (run by :func:`loa.jobs.run.run_job`)."""
    from django_q.tasks import async_task

    async_task(TASK, job.pk, job.func, job.kwargs, attempt, task_name=f"{job.kind}-{job.pk}-{attempt}")


def _retry_waiting(attempt: int) -> str:
    return _("Đang thử lại (lần %(n)d/%(max)d): chờ tiến trình xử lý") % {"n": attempt, "max": max_attempts()}


def on_worker_start(sender: Any = None, proc_name: str = "", **kwargs: Any) -> None:
    """django-q2's ``post_spawn``: a worker (re)started, perhaps in place of one that was killed."""
    try:
        reap_dead_jobs()
    except Exception:  # never keep a worker from starting
        log.exception("reaping dead jobs failed")


def stalled_note(job: Any) -> str:
    """What the person waiting on ``job`` should know when it shows as running but its worker is gone (its process
    no longer runs on this host, or it has not reported for :func:`lease_s`) and no worker has taken it again — every
    worker stopped, so nobody reaps it yet. Empty otherwise. The job is taken again, at once, when a worker starts."""
    if job.state != "running" or not job.worker or job.worker.startswith("inline:"):
        return ""
    last = job.heartbeat_at
    if (
        not worker_gone(job.worker)
        and last is not None
        and last >= timezone.now() - timedelta(seconds=lease_s())
    ):
        return ""
    at = timezone.localtime(last or job.created_at).strftime("%H:%M:%S %d/%m/%Y")
    return _(
        "Tiến trình xử lý nền đã dừng (báo hoạt động lần cuối lúc %(at)s) và chưa có tiến trình nào nhận lại tác vụ "
        "này. Tác vụ sẽ tự chạy lại khi tiến trình xử lý nền chạy lại; nếu quá vài phút, hãy báo quản trị viên."
    ) % {"at": at}
