"""Telling a citizen that their feedback moved (docs/citizen.md, "Báo cho người gửi"): from the tracking page, a
citizen who allowed notifications registers their browser's Web Push subscription with that one feedback; each
later status change made by staff (acknowledged, assigned, answered, answer published, closed…) is pushed to it in a
background job queued when the change commits, through the alerts part's sender (RFC 8030/8291/8292, VAPID).

The payload names the feedback's number and its new status (with the start of the answer once it is public) and
nothing of what the citizen wrote. It carries no link: the tracking link is stored only as a hash, so the page's
script keeps it in the browser (Cache API) and the service worker opens it when the notification is clicked.
Subscriptions answered 404/410 are deleted; all of them go with the feedback's personal data.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from loa.alerts import conf as push_conf
from loa.alerts import keys
from loa.alerts.models import endpoint_hash
from loa.alerts.push import fan_out
from loa.alerts.subscriptions import Subscription
from loa.audit.log import record
from loa.citizen.models import Feedback, FeedbackPush, Status
from loa.errors import Refusal
from loa.jobs.run import enqueue

log = logging.getLogger(__name__)

MAX_BROWSERS = 3  # browsers one feedback may tell (a phone and a computer, say)
ANSWER_CHARS = 240
PUBLIC = (Status.PUBLISHED, Status.CLOSED, Status.NOT_FIXABLE)


class NotifyRefused(Refusal):
    pass


def topic_for(feedback: Feedback) -> str:
    return f"loa-pa-{feedback.pk}"  # a later change replaces a message the phone has not fetched yet


@transaction.atomic
def do_follow_feedback(
    feedback: Feedback, sub: Subscription, *, lang: str = "vi"
) -> tuple[FeedbackPush, bool]:
    """Register (or refresh) this browser for ``feedback``'s changes; returns (row, created)."""
    if feedback.erased_at is not None:
        raise NotifyRefused("erased", _("Dữ liệu của phản ánh này đã bị xoá."), 409)
    h = endpoint_hash(sub.endpoint)
    rows = FeedbackPush.objects.select_for_update().filter(feedback=feedback)
    existing = rows.filter(endpoint_hash=h).first()
    if existing is None and rows.count() >= MAX_BROWSERS:
        raise NotifyRefused(
            "too_many_browsers",
            _("Phản ánh này đã nhận thông báo trên %(n)s trình duyệt: hãy tắt bớt một trình duyệt trước.")
            % {"n": MAX_BROWSERS},
            409,
        )
    key = keys.current()
    row, created = FeedbackPush.objects.update_or_create(
        feedback=feedback, endpoint_hash=h,
        defaults={"endpoint": sub.endpoint, "p256dh": sub.p256dh, "auth": sub.auth, "vapid_key_id": key.id,
                  "lang": "en" if lang == "en" else "vi", "created_at": timezone.now()},
    )  # fmt: skip
    if created:
        record(
            "feedback.push_followed", actor="người gửi phản ánh", obj=feedback, unit=feedback.handling_unit,
            message=f"{feedback.number}: người gửi bật thông báo trên một trình duyệt",
        )  # fmt: skip
    return row, created


@transaction.atomic
def do_unfollow_feedback(feedback: Feedback, endpoint: str) -> int:
    n = int(
        FeedbackPush.objects.filter(
            feedback=feedback, endpoint_hash=endpoint_hash(endpoint.strip())
        ).delete()[0]
    )
    if n:
        record(
            "feedback.push_unfollowed", actor="người gửi phản ánh", obj=feedback, unit=feedback.handling_unit,
            message=f"{feedback.number}: người gửi tắt thông báo trên một trình duyệt",
        )  # fmt: skip
    return n


def payload(feedback: Feedback, status: str, lang: str = "vi") -> bytes:
    """The JSON the service worker receives: ``{"v", "type": "feedback", "id", "number", "tag", "status",
    "title", "body", "sent_at"}`` (no link, no text of the citizen)."""
    with translation.override(lang):
        label = str(Status(status).label)
        title = _("Phản ánh %(number)s: %(status)s") % {"number": feedback.number, "status": label}
        if status in PUBLIC and feedback.published_at is not None and feedback.answer:
            answer = feedback.answer
            body = answer if len(answer) <= ANSWER_CHARS else answer[: ANSWER_CHARS - 1].rstrip() + "…"
        else:
            body = _("%(unit)s đã cập nhật phản ánh của bạn. Mở để xem quá trình xử lý.") % {
                "unit": feedback.handling_unit.name
            }
    data = {
        "v": 1, "type": "feedback", "id": feedback.pk, "number": feedback.number, "tag": topic_for(feedback),
        "status": status, "title": title, "body": body, "sent_at": timezone.now().isoformat(),
    }  # fmt: skip
    return json.dumps(data, ensure_ascii=False).encode()


def notify_on_commit(feedback: Feedback, status: str) -> None:
    """Inside a status change's transaction: when it commits, queue the push to the citizen's browsers."""
    if not FeedbackPush.objects.filter(feedback=feedback).exists():
        return
    pk, unit = feedback.pk, feedback.handling_unit

    def queue() -> None:
        enqueue(
            "citizen.feedback_push", "loa.citizen.feedback_notify.push_job", unit=unit,
            feedback_id=pk, status=status,
        )  # fmt: skip

    transaction.on_commit(queue, robust=True)


def push_job(job_id: int, feedback_id: int, status: str) -> dict[str, Any]:
    """The background job: tell every browser following the feedback (if it still exists and is not erased)."""
    feedback = Feedback.objects.select_related("handling_unit").filter(pk=feedback_id).first()
    if feedback is None or feedback.erased_at is not None:
        return {"browsers": 0, "delivered": 0, "removed": 0}
    rows = list(FeedbackPush.objects.filter(feedback=feedback).order_by("pk"))
    if not rows:
        return {"browsers": 0, "delivered": 0, "removed": 0}
    payloads = {lang: payload(feedback, status, lang) for lang in ("vi", "en")}
    ttl = max(int(push_conf.get("LOA_PUSH_TTL_S")), 24 * 3600)  # not urgent, but worth a day
    tally = fan_out(rows, payloads, topic=topic_for(feedback), ttl=ttl, urgency="normal")
    removed = 0
    with transaction.atomic():
        if tally.gone_ids:
            removed = int(FeedbackPush.objects.filter(pk__in=tally.gone_ids).delete()[0])
        if tally.ok_ids:
            FeedbackPush.objects.filter(pk__in=tally.ok_ids).update(last_success_at=timezone.now())
        record(
            "feedback.pushed", obj=feedback, unit=feedback.handling_unit,
            message=f"{feedback.number}: báo cho người gửi “{Status(status).label}”, đã chuyển "
            f"{tally.delivered}/{len(rows)}",
            data={"status": status, "browsers": len(rows), "delivered": tally.delivered, "failed": tally.failed,
                  "removed": removed},
        )  # fmt: skip
    return {"browsers": len(rows), "delivered": tally.delivered, "removed": removed}
