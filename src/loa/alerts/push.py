"""Sending an emergency to every browser subscribed in its area (Web Push: RFC 8030 message, RFC 8291 payload,
RFC 8292 VAPID), in a background job that the emergency queues when its transaction commits, after the command
to the loudspeakers (the gateway's poke is registered first), so it never delays the loudspeaker fan-out.

Each message: TTL ``LOA_PUSH_TTL_S``, ``Urgency: high``, and ``Topic: loa-em-<id>`` so that the cancel of the
emergency replaces, at the push service, an alert a phone has not fetched yet. A 429 or 5xx answer or a network
error is retried (``Retry-After`` honoured); 404 and 410 mean the subscription is gone: it is deleted. The counts
are kept on :class:`~loa.alerts.models.EmergencyPush` (the progress page and the API show them) and written to
the audit log when the fan-out ends.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import certifi
import httpx
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from pywebpush import WebPusher

from loa.alerts import conf, keys
from loa.alerts.models import EmergencyPush, PushSubscription
from loa.audit.log import record
from loa.jobs.run import enqueue, set_progress
from loa.units.models import Level, Unit

log = logging.getLogger(__name__)

MAX_PAYLOAD = 3800  # bytes of JSON: RFC 8291 leaves 3,993 of the 4,096 a push service must accept
GONE = {404, 410}


def retryable(status: int) -> bool:
    return status == 429 or status >= 500


@dataclass
class Outcome:
    status: int  # the last HTTP status, 0 for a network error
    attempts: int

    @property
    def delivered(self) -> bool:
        return 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status in GONE


@dataclass
class Tally:
    delivered: int = 0
    failed: int = 0
    retried: int = 0
    gone_ids: list[int] = field(default_factory=list)
    ok_ids: list[int] = field(default_factory=list)
    failed_ids: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sub_id: int, o: Outcome) -> None:
        with self.lock:
            self.retried += o.attempts - 1
            if o.delivered:
                self.delivered += 1
                self.ok_ids.append(sub_id)
            elif o.gone:
                self.gone_ids.append(sub_id)
            else:
                self.failed += 1
                self.failed_ids.append(sub_id)


def _ssl_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=certifi.where())
    extra = str(conf.get("LOA_PUSH_CA_FILE") or "")
    if extra:
        ctx.load_verify_locations(cafile=extra)
    return ctx


class Sender:
    """Encrypts and POSTs push messages; one per fan-out (a pooled HTTP client shared by its threads)."""

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep) -> None:
        threads = int(conf.get("LOA_PUSH_THREADS"))
        self.client = httpx.Client(
            verify=_ssl_context(),
            timeout=float(conf.get("LOA_PUSH_TIMEOUT_S")),
            limits=httpx.Limits(max_connections=threads, max_keepalive_connections=threads),
        )
        self.retries = int(conf.get("LOA_PUSH_RETRIES"))
        self.base = float(conf.get("LOA_PUSH_RETRY_BASE_S"))
        self.sleep = sleep
        self._vapid: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def authorization(self, key_id: str, endpoint: str) -> str:
        """``vapid t=<JWT>, k=<public key>`` for the endpoint's origin, signed once per hour and origin."""
        parts = urlsplit(endpoint)
        origin = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        with self._lock:
            cached = self._vapid.get((key_id, origin))
            if cached and cached[1] > now + 60:
                return cached[0]
        key = keys.by_id(key_id) or keys.current()
        exp = int(now) + 12 * 3600  # RFC 8292: at most 24 hours ahead
        header = key.vapid.sign({"aud": origin, "sub": conf.contact(), "exp": exp})["Authorization"]
        with self._lock:
            self._vapid[(key_id, origin)] = (header, now + 3600)
        return header

    def send(self, sub: Any, payload: bytes, *, ttl: int, topic: str, urgency: str = "high") -> Outcome:
        """POST one message to ``sub`` (a :class:`PushSubscription` or any row with ``endpoint``, ``p256dh``,
        ``auth`` and ``vapid_key_id``, such as a feedback's :class:`~loa.citizen.models.FeedbackPush`)."""
        info = {"endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}
        attempt = 0
        while True:
            attempt += 1
            body = WebPusher(info).encode(payload, "aes128gcm")["body"]  # a fresh salt and key every attempt
            headers = {
                "TTL": str(ttl),
                "Urgency": urgency,
                "Topic": topic,
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
                "Authorization": self.authorization(sub.vapid_key_id, sub.endpoint),
            }
            retry_after = None
            try:
                r = self.client.post(sub.endpoint, content=body, headers=headers)
                status = r.status_code
                retry_after = r.headers.get("Retry-After")
            except httpx.HTTPError as exc:
                log.info("push to %s…: %s", sub.endpoint[:40], exc)
                status = 0
            if not (status == 0 or retryable(status)) or attempt > self.retries:
                return Outcome(status, attempt)
            delay = self.base * (2 ** (attempt - 1))
            if retry_after and retry_after.strip().isdigit():
                delay = min(30.0, float(retry_after))
            self.sleep(delay)


def fan_out(
    subscriptions: Iterable[Any],
    payloads: dict[str, bytes],
    *,
    topic: str,
    ttl: int | None = None,
    urgency: str = "high",
    progress: Callable[[int], None] | None = None,
    sender: Sender | None = None,
    tally: Tally | None = None,
) -> Tally:
    """Send to every subscription (``payloads`` by language) in parallel threads; returns what happened."""
    own = sender is None
    sender = sender or Sender()
    ttl = int(conf.get("LOA_PUSH_TTL_S")) if ttl is None else ttl
    tally = tally or Tally()

    def one(sub: Any) -> None:
        try:
            outcome = sender.send(
                sub, payloads.get(sub.lang) or payloads["vi"], ttl=ttl, topic=topic, urgency=urgency
            )
        except Exception:  # a malformed stored key must not stop the others
            log.exception("push to subscription %s failed", sub.pk)
            outcome = Outcome(0, 1)
        tally.add(sub.pk, outcome)

    try:
        with ThreadPoolExecutor(max_workers=int(conf.get("LOA_PUSH_THREADS"))) as pool:
            futures = [pool.submit(one, sub) for sub in subscriptions]
            for n, _done in enumerate(as_completed(futures), start=1):
                if progress is not None and n % 500 == 0:
                    progress(n)  # in the calling thread: the threads touch no database
    finally:
        if own:
            sender.close()
    return tally


# ---- the emergency's fan-out ---------------------------------------------------------------------------


def area_commune_root(unit: Unit) -> Unit:
    """Subscriptions are per commune: a zone's emergency reaches the subscriptions of its commune."""
    while unit.level > Level.COMMUNE and unit.parent is not None:
        unit = unit.parent
    return unit


def subscriptions_in(unit: Unit) -> Any:
    root = area_commune_root(unit)
    return PushSubscription.objects.filter(unit__path__startswith=root.path)


def topic_for(emergency: Any) -> str:
    return f"loa-em-{emergency.pk}"  # RFC 8030 §5.4: at most 32 characters of the base64url alphabet


def _truncate(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: max(0, limit - 3)].decode(errors="ignore").rstrip() + "…"


def payload(emergency: Any, kind: str, lang: str = "vi") -> bytes:
    """The JSON the service worker receives (docs/citizen.md, "Cảnh báo")."""
    unit = emergency.unit
    commune = area_commune_root(unit)
    with translation.override(lang):
        if kind == "cancel":
            title = _("Đã hủy cảnh báo khẩn cấp")
            body = _("Cảnh báo “%(title)s” tại %(unit)s đã được hủy.") % {
                "title": emergency.title,
                "unit": unit.name,
            }
        else:
            title = _("Cảnh báo khẩn cấp: %(unit)s") % {"unit": unit.name}
            body = emergency.text or emergency.title
    data: dict[str, Any] = {
        "v": 1,
        "type": "emergency_cancelled" if kind == "cancel" else "emergency",
        "id": emergency.pk,
        "tag": topic_for(emergency),
        "title": title,
        "body": "",
        "unit": unit.code,
        "unit_name": unit.name,
        "url": f"/congdan/xa/{commune.code}/",
        "sent_at": timezone.now().isoformat(),
    }
    room = MAX_PAYLOAD - len(json.dumps(data, ensure_ascii=False).encode())
    data["body"] = _truncate(body, room - 16)
    return json.dumps(data, ensure_ascii=False).encode()


def prepare_emergency_push(emergency: Any) -> EmergencyPush:
    """Inside the emergency's transaction: the row the progress page shows, and the job queued on commit."""
    n = subscriptions_in(emergency.unit).count()
    if n == 0:  # nobody to tell: nothing to queue, the page shows 0
        now = timezone.now()
        return EmergencyPush.objects.create(
            emergency=emergency,
            unit=emergency.unit,
            state=EmergencyPush.State.DONE,
            started_at=now,
            finished_at=now,
        )
    push = EmergencyPush.objects.create(emergency=emergency, unit=emergency.unit, subscriptions=n)
    transaction.on_commit(lambda: _queue(push.pk, "alert"), robust=True)
    return push


def prepare_cancel_push(emergency: Any) -> None:
    """Inside the cancel's transaction: tell the same browsers, on commit, that the alert is cancelled."""
    push = EmergencyPush.objects.filter(emergency=emergency).first()
    if push is not None and subscriptions_in(emergency.unit).exists():
        transaction.on_commit(lambda: _queue(push.pk, "cancel"), robust=True)


def _queue(push_id: int, kind: str) -> None:
    push = EmergencyPush.objects.select_related("unit").get(pk=push_id)
    job = enqueue("alerts.push", "loa.alerts.push.push_job", unit=push.unit, push_id=push_id, what=kind)
    if kind == "alert":
        EmergencyPush.objects.filter(pk=push_id, job__isnull=True).update(job=job)


def requeue_stale(now: Any = None) -> dict[str, int]:
    """The periodic job (every minute): an alert whose job was never queued (the process stopped between the
    emergency's commit and its on-commit hook) is queued now, while the push services would still keep it (TTL)."""
    now = now or timezone.now()
    stale = EmergencyPush.objects.filter(
        state=EmergencyPush.State.QUEUED, job__isnull=True, created_at__lt=now - dt.timedelta(seconds=60),
        created_at__gte=now - dt.timedelta(seconds=int(conf.get("LOA_PUSH_TTL_S"))),
    ).values_list("pk", flat=True)  # fmt: skip
    ids = list(stale)
    for push_id in ids:
        _queue(push_id, "alert")
    return {"queued": len(ids)}


def push_job(job_id: int, push_id: int, what: str = "alert") -> dict[str, Any]:
    """The background job: push the emergency (or its cancel) to every subscription of its area."""
    kind = what
    push = EmergencyPush.objects.select_related("emergency__unit", "unit").get(pk=push_id)
    emergency = push.emergency
    subs = list(subscriptions_in(emergency.unit).order_by("pk"))
    total = len(subs)
    if kind == "alert":
        EmergencyPush.objects.filter(pk=push_id).update(
            state=EmergencyPush.State.SENDING, started_at=timezone.now(), subscriptions=total
        )
    payloads = {lang: payload(emergency, kind, lang) for lang in ("vi", "en")}

    def progress(n: int) -> None:
        set_progress(job_id, int(100 * n / max(1, total)), f"Đã gửi {n}/{total}")
        if kind == "alert":
            EmergencyPush.objects.filter(pk=push_id).update(delivered=tally.delivered)

    tally = Tally()
    started = time.monotonic()
    fan_out(subs, payloads, topic=topic_for(emergency), progress=progress, tally=tally)
    seconds = round(time.monotonic() - started, 3)
    now = timezone.now()
    with transaction.atomic():
        removed = PushSubscription.objects.filter(pk__in=tally.gone_ids).delete()[0] if tally.gone_ids else 0
        if tally.ok_ids:
            PushSubscription.objects.filter(pk__in=tally.ok_ids).update(last_success_at=now, failures=0)
        if tally.failed_ids:
            PushSubscription.objects.filter(pk__in=tally.failed_ids).update(failures=F("failures") + 1)
        if kind == "alert":
            EmergencyPush.objects.filter(pk=push_id).update(
                state=EmergencyPush.State.DONE if tally.delivered or not tally.failed else EmergencyPush.State.FAILED,
                delivered=tally.delivered, failed=tally.failed, removed=F("removed") + removed,
                retried=tally.retried, finished_at=now,
            )  # fmt: skip
        else:
            EmergencyPush.objects.filter(pk=push_id).update(
                cancel_delivered=tally.delivered, removed=F("removed") + removed
            )
        label = "Hủy cảnh báo" if kind == "cancel" else "Cảnh báo"
        record(
            "alerts.cancel_pushed" if kind == "cancel" else "alerts.pushed",
            unit=emergency.unit,
            obj=emergency,
            message=(
                f"{label} qua Web Push “{emergency.title}” tới {emergency.unit.name}: đã chuyển {tally.delivered}/"
                f"{total}, lỗi {tally.failed}, xóa {removed} đăng ký hết hạn"
            ),
            data={"subscriptions": total, "delivered": tally.delivered, "failed": tally.failed,
                  "removed": removed, "retried": tally.retried, "seconds": seconds},
        )  # fmt: skip
    return {"subscriptions": total, "delivered": tally.delivered, "failed": tally.failed, "removed": removed,
            "retried": tally.retried, "seconds": seconds}  # fmt: skip
