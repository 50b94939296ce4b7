"""The background worker in the loop (issue 23, item 3; issue 21, item 5): ``loa qcluster`` runs as its own process on
the test database (the SQLite file or PostgreSQL's test_<name>), as in production. An upload goes from the API to
the worker and back to a finished asset with real progress on the way; a worker killed with SIGKILL mid-job has its
job queued again at once ("Đang thử lại…" shown) and finished by another worker, never left "running"; a job whose
last attempt dies is failed with the reason and its uploaded file removed.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation
from django_q.models import OrmQ

from loa.accounts.roles import Role
from loa.jobs import lease
from loa.jobs.models import Job
from loa.media.models import MediaAsset
from loa.media.services import INGEST_TASK, store_root, uploads_dir
from tests.subprocess_db import database_url  # type: ignore[import-not-found]

LOA = str(Path(sys.executable).parent / "loa")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timeout: {what}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def long_audio(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Path]:
    """Minutes of a tone in pink noise as MP3 (a few seconds of work for the pipeline); ``seed`` makes each
    file's bytes differ so that no upload is recognised as one already in the library."""
    directory = tmp_path_factory.mktemp("long-audio")

    def make(seed: int, seconds: int = 200) -> Path:
        path = directory / f"long-{seed}.mp3"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                        f"sine=frequency={400 + seed}:duration={seconds}", "-f", "lavfi", "-i",
                        f"anoisesrc=color=pink:amplitude=0.1:duration={seconds}:seed={seed}", "-filter_complex",
                        "amix=inputs=2", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "48k", str(path)],
                       check=True, timeout=120)  # fmt: skip
        return path

    return make


@pytest.fixture
def worker(transactional_db: None, settings: Any, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``loa qcluster`` on the test database, in a process group of its own (stopped whole at the end)."""
    settings.LOA_JOBS_INLINE = False  # the autouse fixture's inline jobs are what this test must not use
    log = open(tmp_path / "qcluster.log", "ab")
    process = subprocess.Popen([LOA, "qcluster"], env=dict(os.environ, LOA_DATABASE_URL=database_url()),
                               stdout=log, stderr=log, start_new_session=True)  # fmt: skip
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    try:
        # django-q2's cluster never stopped within 20 s here (a minute of the suite for three tests); the test's work
        # is done by now, so a short grace and then the whole group is killed
        process.wait(2)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    log.close()


def upload(client: Client, path: Path, unit: str) -> int:
    with path.open("rb") as fh:
        resp = client.post("/api/v1/media/audio", {"unit_code": unit, "file": fh})
    assert resp.status_code == 202, resp.content
    return int(resp.json()["id"])


RUNNING_FRAGMENT = re.compile(
    r'hx-trigger="every 1s"[^>]*data-job-state="running">\s*<label[^>]*>([^<]+)</label>\s*'
    r'<progress[^>]*value="(\d+)"'
)


def test_an_upload_is_processed_by_the_worker_with_real_progress(
    worker: subprocess.Popen[bytes],
    tree: dict,
    make_user: Any,
    token_for: Any,
    client_for: Any,
    long_audio: Any,
) -> None:
    """The API and the console's job fragment (which polls itself every second while the job runs) show the
    progress the worker writes, never a state the test made up."""
    editor = make_user("bt", Role.EDITOR, tree["a"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(editor)}")
    console = client_for(editor)
    job_id = upload(client, long_audio(1), tree["a"].code)
    upload_file = Path(Job.objects.get(pk=job_id).kwargs["upload_path"])
    assert upload_file.is_file() and upload_file.parent == uploads_dir()  # handed over to the worker by path
    seen: list[tuple[str, int, str]] = []
    shown: list[tuple[int, str]] = []  # (progress, message) of the console's running fragments

    def finished() -> bool:
        body = client.get(f"/api/v1/media/jobs/{job_id}").json()
        seen.append((body["state"], body["progress"], body["message"]))
        fragment = console.get(f"/media/jobs/{job_id}/", HTTP_HX_REQUEST="true").content.decode()
        if match := RUNNING_FRAGMENT.search(fragment):
            shown.append((int(match.group(2)), match.group(1).strip()))
        return body["state"] in ("done", "failed")

    wait_for(finished, 55, "the worker to finish")
    body = client.get(f"/api/v1/media/jobs/{job_id}").json()
    assert body["state"] == "done", (body, seen[-5:])
    running = [p for state, p, _m in seen if state == "running"]
    assert [p for p in running if 0 < p < 100], seen  # progress reported while it ran, by the worker itself
    assert running == sorted(running)  # and never going back
    assert len(set(running)) >= 3
    # the console showed the worker's own progress and messages while it ran, and the asset once done
    assert [p for p, _m in shown if 0 < p < 100], (shown, seen[-5:])
    assert {m for _p, m in shown} & {m for state, _p, m in seen if state == "running" and m}, (shown, seen)
    done = console.get(f"/media/jobs/{job_id}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-job-state="done"' in done and "every 1s" not in done
    asset = MediaAsset.objects.get(pk=body["asset"]["id"])
    assert asset.unit_id == tree["a"].pk and asset.duration_s == pytest.approx(200, abs=1)
    job = Job.objects.get(pk=job_id)
    assert job.attempts == 1 and job.worker == "" and job.finished_at is not None
    assert not upload_file.exists()  # the worker removed the uploaded file


def test_a_bulletins_audio_is_processed_by_the_worker_and_its_fragment_polls_real_progress(
    worker: subprocess.Popen[bytes], tree: dict, make_user: Any, client_for: Any, long_audio: Any
) -> None:
    """The bulletin page's upload: its job fragment polls itself with the worker's own progress while the job runs,
    and once the worker is done the audio is the bulletin's (the page is told to reload to show it)."""
    from loa.content.models import Bulletin

    editor = make_user("bt", Role.EDITOR, tree["a"])
    console = client_for(editor)
    b = Bulletin.objects.create(title="Thông báo lịch tiêm phòng", origin_unit=tree["a"],
                                produced_at=timezone.now(), created_by=editor, updated_by=editor)  # fmt: skip
    with long_audio(3).open("rb") as fh:
        r = console.post(f"/bulletins/{b.pk}/audio/upload/", {"file": fh}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200, r.content[:2000]
    job_id = Job.objects.get(kind="media.ingest", kwargs__bulletin_id=b.pk).pk
    shown: list[tuple[int, str]] = []
    answers: list[Any] = []

    def finished() -> bool:
        answer = console.get(f"/bulletins/{b.pk}/audio/jobs/{job_id}/", HTTP_HX_REQUEST="true")
        answers.append(answer)
        if match := RUNNING_FRAGMENT.search(answer.content.decode()):
            shown.append((int(match.group(2)), match.group(1).strip()))
        return Job.objects.get(pk=job_id).state in ("done", "failed")

    wait_for(finished, 55, "the worker to finish the bulletin's audio")
    job = Job.objects.get(pk=job_id)
    assert job.state == Job.State.DONE, (job.state, job.message)
    assert [p for p, _m in shown if 0 < p < 100], shown  # the worker's progress, polled by the fragment
    assert [p for p, _m in shown] == sorted(p for p, _m in shown)
    last = console.get(f"/bulletins/{b.pk}/audio/jobs/{job_id}/", HTTP_HX_REQUEST="true")
    assert 'data-job-state="done"' in last.content.decode() and last["HX-Refresh"] == "true"
    b.refresh_from_db()
    assert b.audio_asset_id == job.result["asset_id"] and b.duration_s == pytest.approx(200, abs=1)


def test_a_worker_killed_mid_job_has_its_job_retried_at_once(
    worker: subprocess.Popen[bytes],
    tree: dict,
    make_user: Any,
    token_for: Any,
    client_for: Any,
    long_audio: Any,
) -> None:
    editor = make_user("bt", Role.EDITOR, tree["a"])
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(editor)}")
    job_id = upload(client, long_audio(2), tree["a"].code)

    def running_with_progress() -> Job | None:
        job = Job.objects.get(pk=job_id)
        return job if job.state == Job.State.RUNNING and job.progress > 0 else None

    job = wait_for(running_with_progress, 30, "the job running")
    kind, _host, pid, _ticks = job.worker.split(":")
    assert kind == "worker" and int(pid) not in (worker.pid, os.getpid())
    os.kill(int(pid), signal.SIGKILL)  # the worker process, not the cluster: django-q2 starts another
    killed = time.monotonic()
    messages: list[tuple[str, str]] = []

    def retried() -> bool:
        body = client.get(f"/api/v1/media/jobs/{job_id}").json()
        messages.append((body["state"], body["message"]))
        return body["state"] == "done" or "Đang thử lại" in body["message"]

    wait_for(retried, 60, "the job queued again")
    assert time.monotonic() - killed < 60
    assert any("Đang thử lại (lần 2/2)" in m for _s, m in messages), messages
    # the job's page in the console says so too (while the retry runs, its progress messages carry it)
    page = client_for(editor).get(f"/media/jobs/{job_id}/").content.decode()
    if Job.objects.get(pk=job_id).state != Job.State.DONE:
        assert "Đang thử lại (lần 2/2)" in page, page[:3000]
    wait_for(lambda: Job.objects.get(pk=job_id).state in ("done", "failed"), 55, "the retry to finish")
    job = Job.objects.get(pk=job_id)
    assert job.state == Job.State.DONE and job.attempts == 2, (job.state, job.message)
    assert MediaAsset.objects.filter(pk=job.result["asset_id"]).exists()
    assert not Path(job.kwargs["upload_path"]).exists()
    assert not list((store_root() / ".tmp").glob(f"job-{job_id}-*"))  # the dead attempt's working folder too


# --- the reaper on its own (no worker process needed) -----------------------------------------------------------


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def running_job(worker: str, attempts: int, heartbeat_at: dt.datetime, **kwargs: Any) -> Job:
    return Job.objects.create(kind="media.ingest", state=Job.State.RUNNING, progress=29, func=INGEST_TASK,
                              kwargs=kwargs, attempts=attempts, worker=worker,
                              heartbeat_at=heartbeat_at)  # fmt: skip


def test_the_last_attempt_of_a_dead_job_fails_with_the_reason_and_its_upload_goes(
    db: None, settings: Any, tmp_path: Path
) -> None:
    settings.LOA_JOB_MAX_ATTEMPTS = 2
    settings.MEDIA_ROOT = str(tmp_path / "media")  # a store of this test's own
    upload_file = uploads_dir() / "dead-job.mp3"
    upload_file.write_bytes(b"x")
    host = lease.this_worker().split(":")[1]
    now = timezone.now()
    job = running_job(f"worker:{host}:{dead_pid()}:1", 2, now, upload_path=str(upload_file))
    work = store_root() / ".tmp" / f"job-{job.pk}-0a1b2c3d"
    work.mkdir(parents=True)
    (work / "out.mp3").write_bytes(b"half")
    other = store_root() / ".tmp" / f"job-{job.pk}0-0a1b2c3d"  # job 10 when this is job 1: not ours
    other.mkdir()
    alive = running_job(lease.this_worker(), 1, now)  # this process: alive, heartbeat fresh
    inline = running_job(f"inline:{host}:{dead_pid()}:1", 1, now - dt.timedelta(hours=1))
    assert lease.reap_dead_jobs(now) == {"retried": 0, "failed": 1}
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and "dừng đột ngột" in job.message and job.finished_at is not None
    assert not upload_file.exists() and not work.exists()  # its working files cleaned
    assert other.exists()
    assert Job.objects.get(pk=alive.pk).state == Job.State.RUNNING
    assert Job.objects.get(pk=inline.pk).state == Job.State.RUNNING  # inline jobs are never reaped


def test_a_silent_job_of_another_machine_is_queued_again_once(db: None, settings: Any) -> None:
    settings.LOA_JOB_LEASE_S = 30
    now = timezone.now()
    quiet = running_job("worker:other-host:123:1", 1, now - dt.timedelta(seconds=31), upload_path="/x")
    beating = running_job("worker:other-host:124:1", 1, now - dt.timedelta(seconds=10), upload_path="/y")
    before = OrmQ.objects.count()
    assert lease.reap_dead_jobs(now) == {"retried": 1, "failed": 0}
    assert lease.reap_dead_jobs(now) == {"retried": 0, "failed": 0}  # queued once, not twice
    quiet.refresh_from_db()
    assert (
        quiet.state == Job.State.QUEUED and quiet.progress == 0 and "Đang thử lại (lần 2/2)" in quiet.message
    )
    assert OrmQ.objects.count() == before + 1
    assert Job.objects.get(pk=beating.pk).state == Job.State.RUNNING
    # the first attempt's queue message, delivered late, runs nothing: attempt 2 is the one queued
    from loa.jobs.run import run_job

    run_job(quiet.pk, INGEST_TASK, quiet.kwargs, 1)
    quiet.refresh_from_db()
    assert quiet.state == Job.State.QUEUED and quiet.attempts == 1


# --- a job whose worker is gone, shown before any worker takes it again ---------------------------------------

HOST = lease.this_worker().split(":")[1]


@pytest.mark.parametrize(
    ("state", "worker", "heartbeat_ago_s", "stalled"),
    [
        ("running", "dead-here", 0, True),  # its process no longer runs on this host
        ("running", "this-process", 0, False),  # alive and reporting
        ("running", "this-process", 31, True),  # alive but silent past the lease (30 s): hung
        ("running", "other-host", 5, False),  # another machine's worker, reporting
        ("running", "other-host", 31, True),  # another machine's worker, silent
        ("running", "inline-dead", 3600, False),  # inline jobs are never reaped, nor called stalled
        ("queued", "dead-here", 3600, False),  # waiting, not claiming to run
        ("done", "dead-here", 3600, False),
    ],
)
def test_a_running_job_whose_worker_is_gone_says_so(
    state: str, worker: str, heartbeat_ago_s: float, stalled: bool, db: None, settings: Any
) -> None:
    settings.LOA_JOB_LEASE_S = 30
    name = {
        "dead-here": f"worker:{HOST}:{dead_pid()}:1",
        "this-process": lease.this_worker(),
        "other-host": "worker:another-host:4242:1",
        "inline-dead": f"inline:{HOST}:{dead_pid()}:1",
    }[worker]
    job = running_job(name, 1, timezone.now() - dt.timedelta(seconds=heartbeat_ago_s))
    job.state, job.message = state, "Đang đo độ lớn âm thanh 29%"
    note = lease.stalled_note(job)
    assert bool(note) == stalled, note
    if stalled:
        assert "Tiến trình xử lý nền đã dừng" in note and "báo quản trị viên" in note
        shown = timezone.localtime(job.heartbeat_at).strftime("%H:%M:%S %d/%m/%Y")
        assert shown in note  # Asia/Ho_Chi_Minh, not UTC
        with translation.override("en"):
            assert lease.stalled_note(job).startswith(
                "The background worker has stopped (last report at " + shown
            )


def test_the_job_page_and_the_api_say_a_job_is_stalled(
    db: None, tree: dict, make_user: Any, token_for: Any, client_for: Any
) -> None:
    """Every worker killed (a new-user walk of the demo killed django-q2's whole tree): nobody is left to reap the
    job, which said "Đang đo độ lớn âm thanh 5%" for good; the page and the API now say it is waiting for a worker."""
    editor = make_user("bt", Role.EDITOR, tree["a"])
    job = running_job(f"worker:{HOST}:{dead_pid()}:1", 1, timezone.now() - dt.timedelta(seconds=40))
    Job.objects.filter(pk=job.pk).update(
        unit=tree["a"], created_by=editor, message="Đang đo độ lớn âm thanh 5%"
    )
    page = client_for(editor).get(f"/media/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "data-job-stalled" in page and "chưa có tiến trình nào nhận lại tác vụ" in page, page
    assert 'hx-trigger="every 1s"' in page  # still polled: it moves on when a worker takes it
    body = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(editor)}").get(f"/api/v1/media/jobs/{job.pk}").json()
    assert body["state"] == "running" and "chưa có tiến trình nào nhận lại tác vụ" in body["message"], body
