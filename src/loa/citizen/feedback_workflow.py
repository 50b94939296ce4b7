"""Feedback from submission to closing: ``check_*`` validates, ``do_*`` changes state (audited, in one transaction).

Every status change goes through :func:`do_feedback_transition`, the one table of :data:`TRANSITIONS`:
received → acknowledged → classified → assigned → in progress → answered → published → closed, or closed as not
fixable (with the reason) from any step before the answer; the citizen may reopen a published or closed item once.
Who may act is decided before, by :mod:`loa.citizen.feedback_access`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from loa.audit.log import record
from loa.citizen.feedback_calendar import add_working_hours, working_hours_between
from loa.citizen.feedback_photos import CleanPhoto, max_photos, remove_photo_file, store_photo
from loa.citizen.feedback_senders import get_sender
from loa.citizen.feedback_settings import categories_for
from loa.citizen.models import (
    ContactCode,
    Feedback,
    FeedbackCategory,
    FeedbackEvent,
    FeedbackPhoto,
    RoutingRule,
    Status,
)
from loa.errors import Refusal
from loa.fleet.models import Device
from loa.units.models import Level, Unit

log = logging.getLogger(__name__)

CONSENT_VERSION = "2026-01"
MIN_TEXT = 10
MAX_TEXT = 4000
MIN_ANSWER = 30  # "Đã xử lý." is not an answer (iHanoi: 34 % unhappy with vague answers)
CODE_MINUTES = 30
CODE_ATTEMPTS = 5

OPEN = (Status.RECEIVED, Status.ACKNOWLEDGED, Status.CLASSIFIED, Status.ASSIGNED, Status.IN_PROGRESS)
DONE = (Status.ANSWERED, Status.PUBLISHED, Status.CLOSED, Status.NOT_FIXABLE)

# to-status: the statuses it may be reached from
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.ACKNOWLEDGED: frozenset({Status.RECEIVED}),
    Status.CLASSIFIED: frozenset({Status.ACKNOWLEDGED, Status.CLASSIFIED}),
    Status.ASSIGNED: frozenset({Status.RECEIVED, Status.ACKNOWLEDGED, Status.CLASSIFIED, Status.ASSIGNED}),
    Status.IN_PROGRESS: frozenset({Status.ASSIGNED, Status.ANSWERED, Status.PUBLISHED, Status.CLOSED}),
    Status.ANSWERED: frozenset({Status.ASSIGNED, Status.IN_PROGRESS}),
    Status.PUBLISHED: frozenset({Status.ANSWERED}),
    Status.CLOSED: frozenset({Status.PUBLISHED}),
    Status.NOT_FIXABLE: frozenset(OPEN),
}


class FeedbackRefused(Refusal):
    """A feedback or a step of its workflow refused, with a Vietnamese message."""


# ---- submission -----------------------------------------------------------------------------------------------
@dataclass
class Draft:
    """What the form sent, before checks."""

    unit_code: str = ""
    category_code: str = ""
    text: str = ""
    address: str = ""
    latitude: str = ""
    longitude: str = ""
    cluster_id: str = ""
    cluster_issue: str = ""
    contact: str = ""
    consent: bool = False
    photos: list[CleanPhoto] = field(default_factory=list)


@dataclass
class Checked:
    unit: Unit
    category: FeedbackCategory
    text: str
    address: str
    latitude: float | None
    longitude: float | None
    cluster: Device | None
    cluster_issue: str
    contact_kind: str
    contact: str
    photos: list[CleanPhoto]


def _keyed(purpose: str, value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def client_key(address: str) -> str:
    return _keyed("feedback-client", address)


def tracking_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_text(text: str) -> str:
    """Lower case, no diacritics, no punctuation, one space: the same complaint typed twice looks the same."""
    plain = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


PHONE = re.compile(r"^(?:\+?84|0)([35789]\d{8})$")


def check_contact(raw: str) -> tuple[str, str]:
    """("phone", "0912345678") / ("email", "a@b.vn") / ("", "") or a refusal."""
    value = raw.strip()
    if not value:
        return "", ""
    digits = re.sub(r"[\s.()-]", "", value)
    if m := PHONE.match(digits):
        return "phone", "0" + m.group(1)
    if "@" in value:
        try:
            validate_email(value)
        except ValidationError:
            pass
        else:
            return "email", value.lower()
    raise FeedbackRefused(
        "bad_contact",
        _("Số điện thoại hoặc e-mail không hợp lệ (ví dụ 0912 345 678 hoặc ten@example.vn)."),
        field="contact",
    )


def _coordinate(raw: str, low: float, high: float, name: str) -> float | None:
    if not str(raw).strip():
        return None
    try:
        value = float(str(raw).replace(",", "."))
    except ValueError:
        value = float("nan")
    if not (low <= value <= high):
        raise FeedbackRefused("bad_position", _("Vị trí trên bản đồ không hợp lệ."), field=name)
    return round(value, 6)


def check_draft(draft: Draft) -> Checked:
    unit = Unit.objects.filter(code=draft.unit_code.strip(), level=Level.COMMUNE, is_active=True).first()
    if unit is None:
        raise FeedbackRefused("no_commune", _("Hãy chọn xã, phường nơi cần phản ánh."), field="unit")
    category = categories_for(unit).filter(code=draft.category_code, is_active=True).first()
    if category is None:
        raise FeedbackRefused("no_category", _("Hãy chọn lĩnh vực phản ánh."), field="category")
    text = draft.text.strip()
    if len(text) < MIN_TEXT:
        raise FeedbackRefused(
            "text_too_short",
            _("Hãy viết nội dung phản ánh (ít nhất %(n)s ký tự): việc gì, ở đâu, từ khi nào.")
            % {"n": MIN_TEXT},
            field="text",
        )
    if len(text) > MAX_TEXT:
        raise FeedbackRefused(
            "text_too_long",
            _("Nội dung dài %(n)s ký tự, vượt giới hạn %(max)s ký tự.") % {"n": len(text), "max": MAX_TEXT},
            field="text",
        )
    latitude = _coordinate(draft.latitude, 8.0, 24.0, "latitude")
    longitude = _coordinate(draft.longitude, 102.0, 118.0, "longitude")
    if (latitude is None) != (longitude is None):
        raise FeedbackRefused("bad_position", _("Vị trí trên bản đồ không hợp lệ."), field="latitude")
    address = draft.address.strip()[:300]
    if latitude is None and not address:
        raise FeedbackRefused(
            "no_place", _("Hãy chấm vị trí trên bản đồ hoặc ghi địa chỉ nơi cần phản ánh."), field="address"
        )
    cluster = None
    if draft.cluster_id.strip():
        cluster = Device.objects.filter(
            device_id=draft.cluster_id.strip(), unit__path__startswith=unit.path, revoked_at__isnull=True
        ).first()
        if cluster is None:
            raise FeedbackRefused(
                "bad_cluster", _("Không có cụm loa này ở xã, phường đã chọn."), field="cluster"
            )
    issue = draft.cluster_issue.strip()
    if issue and issue not in {"noise", "fault", "wrong_hours"}:
        raise FeedbackRefused(
            "bad_cluster_issue", _("Vấn đề của cụm loa không hợp lệ."), field="cluster_issue"
        )
    if len(draft.photos) > max_photos():
        raise FeedbackRefused(
            "too_many_photos", _("Gửi tối đa %(n)s ảnh.") % {"n": max_photos()}, field="photos"
        )
    kind, contact = check_contact(draft.contact)
    if not draft.consent:
        raise FeedbackRefused(
            "no_consent",
            _("Hãy đọc và đồng ý với mục đích sử dụng thông tin trước khi gửi."),
            field="consent",
        )
    return Checked(
        unit=unit, category=category, text=text, address=address, latitude=latitude, longitude=longitude,
        cluster=cluster, cluster_issue=issue, contact_kind=kind, contact=contact, photos=draft.photos,
    )  # fmt: skip


def _limits() -> tuple[int, int]:
    hour, day = getattr(settings, "LOA_FEEDBACK_RATE", (5, 20))
    return int(hour), int(day)


def check_rate(key: str, now: dt.datetime) -> None:
    """Flooding from one address: at most N per hour and M per day."""
    per_hour, per_day = _limits()
    recent = Feedback.objects.filter(client_key=key, created_at__gte=now - dt.timedelta(days=1))
    times = sorted(recent.values_list("created_at", flat=True))
    last_hour = [t for t in times if t >= now - dt.timedelta(hours=1)]
    if len(last_hour) >= per_hour:
        wait = max(1, int((last_hour[0] + dt.timedelta(hours=1) - now).total_seconds() // 60) + 1)
        raise FeedbackRefused(
            "too_many",
            _("Bạn đã gửi %(n)s phản ánh trong một giờ qua. Vui lòng thử lại sau %(wait)s phút.")
            % {"n": len(last_hour), "wait": wait},
            429,
        )
    if len(times) >= per_day:
        raise FeedbackRefused(
            "too_many",
            _("Bạn đã gửi %(n)s phản ánh trong 24 giờ qua. Vui lòng thử lại vào ngày mai.")
            % {"n": len(times)},
            429,
        )


def check_duplicate(checked: Checked, key: str, now: dt.datetime) -> None:
    """The same text in the same commune within a week, or the same pin and category from the same address
    within a day: already received."""
    text_key = _keyed("feedback-text", normalise_text(checked.text))
    same = (
        Feedback.objects.filter(
            unit=checked.unit, text_key=text_key, created_at__gte=now - dt.timedelta(days=7)
        )
        .order_by("-created_at")
        .first()
    )
    if same is None and checked.latitude is not None and checked.longitude is not None:
        near = 0.0003  # about 30 m
        same = (
            Feedback.objects.filter(
                client_key=key,
                category=checked.category,
                latitude__range=(checked.latitude - near, checked.latitude + near),
                longitude__range=(checked.longitude - near, checked.longitude + near),
                created_at__gte=now - dt.timedelta(days=1),
            )
            .order_by("-created_at")
            .first()
        )
    if same is not None:
        local = timezone.localtime(same.created_at)
        raise FeedbackRefused(
            "duplicate",
            _(
                "Phản ánh này trùng với phản ánh %(number)s đã nhận lúc %(time)s ngày %(date)s; đơn vị đang xử lý, "
                "bạn không cần gửi lại."
            )
            % {"number": same.number, "time": f"{local:%H:%M}", "date": f"{local:%d/%m/%Y}"},
            409,
        )


def route(category: FeedbackCategory, unit: Unit) -> Unit:
    """The competent unit: the routing rule of the nearest area (the commune, then its province), else the commune."""
    rules = {r.area_id: r for r in RoutingRule.objects.filter(category=category).select_related("target")}
    for area in reversed(list(unit.ancestors())):
        if area.pk in rules:
            return rules[area.pk].target
    return unit


def _event(
    feedback: Feedback,
    to: str,
    actor: Any,
    now: dt.datetime,
    note: str = "",
    internal: bool = False,
    **kw: Any,
) -> FeedbackEvent:
    return FeedbackEvent.objects.create(
        feedback=feedback, at=now, actor=actor if getattr(actor, "pk", None) else None,
        from_status=kw.get("from_status", ""), to_status=to, unit=kw.get("unit"), note=note, internal=internal,
    )  # fmt: skip


def _new_code(feedback: Feedback, now: dt.datetime) -> str:
    code = f"{secrets.randbelow(1_000_000):06d}"
    ContactCode.objects.create(
        feedback=feedback,
        code_hash=_keyed("feedback-code", f"{feedback.pk}:{code}"),
        created_at=now,
        expires_at=now + dt.timedelta(minutes=CODE_MINUTES),
    )
    return code


def _send_on_commit(feedback: Feedback, code: str) -> None:
    kind, contact, number = feedback.contact_kind, feedback.contact, feedback.number
    transaction.on_commit(lambda: get_sender().send(kind, contact, code, number))


def do_submit(
    draft: Draft, *, client_address: str, request: HttpRequest | None = None
) -> tuple[Feedback, str]:
    """Check, then store the feedback, its photos and its first event in one transaction; returns the feedback
    and its tracking token (shown once, stored as a hash)."""
    now = timezone.now()
    checked = check_draft(draft)
    key = client_key(client_address)
    check_rate(key, now)
    check_duplicate(checked, key, now)
    token = secrets.token_urlsafe(24)
    stored: list[str] = []
    try:
        for photo in checked.photos:
            stored.append(store_photo(photo))
        with transaction.atomic():
            category = checked.category
            feedback = Feedback.objects.create(
                unit=checked.unit, handling_unit=route(category, checked.unit), category=category,
                text=checked.text, address=checked.address, latitude=checked.latitude,
                longitude=checked.longitude, cluster=checked.cluster, cluster_issue=checked.cluster_issue,
                contact_kind=checked.contact_kind, contact=checked.contact, consent_version=CONSENT_VERSION,
                consent_at=now, client_key=key, text_key=_keyed("feedback-text", normalise_text(checked.text)),
                tracking_hash=tracking_hash(token), created_at=now,
                due_ack_at=add_working_hours(now, category.ack_hours),
                due_at=add_working_hours(now, category.answer_hours),
            )  # fmt: skip
            for position, (photo, path) in enumerate(zip(checked.photos, stored, strict=True), start=1):
                FeedbackPhoto.objects.create(
                    feedback=feedback, position=position, path=path, sha256=photo.sha256,
                    width=photo.width, height=photo.height, size=len(photo.data),
                )  # fmt: skip
            _event(feedback, Status.RECEIVED, None, now, unit=feedback.handling_unit)
            record(
                "feedback.submitted", request=request, obj=feedback, unit=feedback.handling_unit,
                message=f"{feedback.number}: {category.name}",
                data={"photos": len(stored), "contact": checked.contact_kind or "anonymous"},
            )  # fmt: skip
            if feedback.contact:
                _send_on_commit(feedback, _new_code(feedback, now))
    except BaseException:
        for path in stored:
            remove_photo_file(path)
        raise
    return feedback, token


# ---- the workflow -------------------------------------------------------------------------------------------
def check_transition(feedback: Feedback, to: str) -> None:
    if feedback.erased_at is not None:
        raise FeedbackRefused("erased", _("Phản ánh này đã bị người gửi xoá."), 409)
    allowed = TRANSITIONS.get(to)
    if allowed is None:
        raise FeedbackRefused("bad_status", _("Bước xử lý không hợp lệ."))
    if feedback.status not in allowed:
        raise FeedbackRefused(
            "bad_transition",
            _("Phản ánh đang ở bước “%(now)s”, không thể chuyển sang “%(to)s”.")
            % {"now": Status(feedback.status).label, "to": Status(to).label},
            409,
        )


@transaction.atomic
def do_feedback_transition(
    feedback: Feedback,
    to: str,
    *,
    actor: Any,
    request: HttpRequest | None = None,
    note: str = "",
    answer: str = "",
    reason: str = "",
    category: FeedbackCategory | None = None,
    unit: Unit | None = None,
    public_summary: str = "",
) -> Feedback:
    """Move ``feedback`` to ``to`` (a :class:`Status`): the one home of every status change, audited.
    ``actor`` None is the citizen (reopening) or the system (escalation is not a status change)."""
    feedback = Feedback.objects.select_for_update().get(pk=feedback.pk)
    check_transition(feedback, to)
    now = timezone.now()
    before = feedback.status
    fields = ["status"]
    if to == Status.ACKNOWLEDGED:
        feedback.acknowledged_at = now
        fields.append("acknowledged_at")
    elif to == Status.CLASSIFIED:
        if category is not None and category.pk != feedback.category_id:
            feedback.category = category
            feedback.handling_unit = route(category, feedback.unit)
            feedback.due_at = add_working_hours(feedback.created_at, category.answer_hours)
            fields += ["category", "handling_unit", "due_at"]
    elif to == Status.ASSIGNED:
        if unit is None:
            raise FeedbackRefused("no_unit", _("Hãy chọn đơn vị xử lý."), field="unit")
        feedback.handling_unit = unit
        fields.append("handling_unit")
        if feedback.acknowledged_at is None:
            feedback.acknowledged_at = now
            fields.append("acknowledged_at")
    elif to == Status.ANSWERED:
        text = answer.strip()
        if len(text) < MIN_ANSWER:
            raise FeedbackRefused(
                "answer_too_short",
                _("Câu trả lời quá ngắn (ít nhất %(n)s ký tự): nói rõ đã làm gì, ở đâu, khi nào.")
                % {"n": MIN_ANSWER},
                field="answer",
            )
        feedback.answer, feedback.answered_at = text, now
        feedback.answered_by = actor if getattr(actor, "pk", None) else None
        fields += ["answer", "answered_at", "answered_by"]
    elif to == Status.PUBLISHED:
        feedback.public_summary = public_summary.strip() or feedback.text
        feedback.published_at = now
        fields += ["public_summary", "published_at"]
    elif to in (Status.CLOSED, Status.NOT_FIXABLE):
        if to == Status.NOT_FIXABLE:
            if len(reason.strip()) < 10:
                raise FeedbackRefused(
                    "no_reason", _("Hãy ghi rõ lý do không xử lý được (ít nhất 10 ký tự)."), field="reason"
                )
            feedback.close_reason = reason.strip()
            feedback.answer = feedback.answer or reason.strip()
            feedback.answered_at = feedback.answered_at or now
            feedback.published_at = now
            feedback.public_summary = feedback.public_summary or feedback.text
            fields += ["close_reason", "answer", "answered_at", "published_at", "public_summary"]
        feedback.closed_at = now
        fields.append("closed_at")
    elif to == Status.IN_PROGRESS and before in (Status.PUBLISHED, Status.CLOSED):
        if actor is not None:
            raise FeedbackRefused(
                "bad_transition", _("Chỉ người gửi mới mở lại được phản ánh đã trả lời."), 409
            )
        if feedback.reopened_count >= 1:
            raise FeedbackRefused("reopened_once", _("Phản ánh chỉ được mở lại một lần."), 409)
        feedback.reopened_count += 1
        feedback.closed_at = None
        feedback.due_at = add_working_hours(now, feedback.category.answer_hours)
        feedback.reminded_at = None
        fields += ["reopened_count", "closed_at", "due_at", "reminded_at"]
    feedback.status = to
    feedback.save(update_fields=fields)
    reopened = to == Status.IN_PROGRESS and before in (Status.PUBLISHED, Status.CLOSED)
    _event(feedback, to, actor, now, note=note.strip(), from_status=before, unit=feedback.handling_unit)
    if not reopened:  # the citizen is told of what staff did (not of their own reopening)
        from loa.citizen.feedback_notify import notify_on_commit

        notify_on_commit(feedback, to)
    record(
        "feedback.reopened" if reopened else f"feedback.{to}",
        actor=actor, request=request, obj=feedback, unit=feedback.handling_unit,
        message=f"{feedback.number}: {Status(before).label} → {Status(to).label}",
        data={"from": before, "to": to, "unit": feedback.handling_unit.code},
    )  # fmt: skip
    return feedback


def do_bulk_assign(
    feedbacks: Iterable[Feedback], unit: Unit, *, actor: Any, request: HttpRequest | None = None
) -> int:
    """Assign several at once (each through :func:`do_feedback_transition`); those that cannot be assigned are skipped."""
    done = 0
    for feedback in feedbacks:
        if feedback.status in TRANSITIONS[Status.ASSIGNED] and feedback.erased_at is None:
            do_feedback_transition(feedback, Status.ASSIGNED, actor=actor, request=request, unit=unit)
            done += 1
    return done


@transaction.atomic
def do_add_note(
    feedback: Feedback, text: str, *, actor: Any, request: HttpRequest | None = None
) -> FeedbackEvent:
    note = text.strip()
    if not note:
        raise FeedbackRefused("empty_note", _("Ghi chú trống."), field="note")
    event = _event(feedback, "", actor, timezone.now(), note=note[:2000], internal=True)
    record("feedback.note_added", actor=actor, request=request, obj=feedback, unit=feedback.handling_unit)
    return event


def do_record_contact_view(feedback: Feedback, *, actor: Any, request: HttpRequest | None = None) -> str:
    """The citizen's phone or e-mail for a member of staff allowed to see it: every look is audited."""
    record(
        "feedback.contact_viewed", actor=actor, request=request, obj=feedback, unit=feedback.handling_unit,
        message=feedback.number,
    )  # fmt: skip
    return feedback.contact


def do_record_photo_view(
    feedback: Feedback, position: int, *, actor: Any, request: HttpRequest | None = None
) -> None:
    """A member of staff allowed to see it opens one of the citizen's photos: every look is audited."""
    record(
        "feedback.photos_viewed", actor=actor, request=request, obj=feedback, unit=feedback.handling_unit,
        message=f"{feedback.number}: ảnh {position}", data={"photo": position},
    )  # fmt: skip


# ---- the citizen's own actions -----------------------------------------------------------------------------
@transaction.atomic
def do_verify_contact(feedback: Feedback, code: str, *, request: HttpRequest | None = None) -> None:
    now = timezone.now()
    pending = (
        ContactCode.objects.select_for_update()
        .filter(feedback=feedback, used_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )
    if not feedback.contact or feedback.contact_verified_at is not None:
        raise FeedbackRefused("nothing_to_verify", "Không có liên hệ nào cần xác minh.", 409)
    if pending is None:
        raise FeedbackRefused("code_expired", _("Mã đã hết hạn. Hãy bấm “Gửi lại mã”."), field="code")
    if pending.attempts >= CODE_ATTEMPTS:
        raise FeedbackRefused("code_attempts", _("Đã nhập sai quá nhiều lần. Hãy bấm “Gửi lại mã”."), 429)
    wanted = _keyed("feedback-code", f"{feedback.pk}:{code.strip()}")
    if not hmac.compare_digest(wanted, pending.code_hash):
        pending.attempts += 1
        pending.save(update_fields=["attempts"])
        raise FeedbackRefused("code_wrong", _("Mã xác minh không đúng."), field="code")
    pending.used_at = now
    pending.save(update_fields=["used_at"])
    feedback.contact_verified_at = now
    feedback.save(update_fields=["contact_verified_at"])
    record("feedback.contact_verified", request=request, obj=feedback, unit=feedback.handling_unit)


@transaction.atomic
def do_resend_code(feedback: Feedback, *, request: HttpRequest | None = None) -> None:
    now = timezone.now()
    if not feedback.contact or feedback.contact_verified_at is not None:
        raise FeedbackRefused("nothing_to_verify", "Không có liên hệ nào cần xác minh.", 409)
    if (
        ContactCode.objects.filter(feedback=feedback, created_at__gte=now - dt.timedelta(hours=1)).count()
        >= 3
    ):
        raise FeedbackRefused(
            "too_many_codes", _("Đã gửi 3 mã trong một giờ qua. Vui lòng thử lại sau."), 429
        )
    _send_on_commit(feedback, _new_code(feedback, now))
    record("feedback.code_sent", request=request, obj=feedback, unit=feedback.handling_unit)


@transaction.atomic
def do_rate(
    feedback: Feedback, rating: int, comment: str = "", *, request: HttpRequest | None = None
) -> None:
    if feedback.status not in (Status.PUBLISHED, Status.CLOSED, Status.NOT_FIXABLE):
        raise FeedbackRefused("not_answered", _("Chỉ đánh giá được khi đã có trả lời công khai."), 409)
    if rating not in range(1, 6):
        raise FeedbackRefused("bad_rating", _("Hãy chọn từ 1 đến 5 sao."), field="rating")
    feedback.rating, feedback.rating_comment = rating, comment.strip()[:500]
    feedback.save(update_fields=["rating", "rating_comment"])
    record(
        "feedback.rated", request=request, obj=feedback, unit=feedback.handling_unit, data={"rating": rating}
    )


# ---- deadlines: reminders and escalation (a periodic job) -----------------------------------------------------
@dataclass
class SlaResult:
    reminded: int = 0
    escalated: int = 0


def do_sla_sweep(now: dt.datetime | None = None) -> SlaResult:
    """Remind the handling unit a few working hours before the deadline; past it, hand the item to the parent
    unit (commune → province) with a new deadline. Each step is audited as the system."""
    now = now or timezone.now()
    result = SlaResult()
    due = Feedback.objects.filter(
        status__in=OPEN, erased_at__isnull=True, due_at__isnull=False
    ).select_related("category", "handling_unit__parent")
    for feedback in due.filter(due_at__lte=now):
        parent = feedback.handling_unit.parent
        if parent is None:
            continue
        with transaction.atomic():
            before = feedback.handling_unit
            Feedback.objects.filter(pk=feedback.pk).update(
                handling_unit=parent, escalations=feedback.escalations + 1, reminded_at=None,
                due_at=add_working_hours(now, feedback.category.answer_hours),
            )  # fmt: skip
            feedback.refresh_from_db()
            _event(
                feedback, "", None, now, internal=True, unit=parent,
                note=f"Quá hạn xử lý tại {before.name}: chuyển lên {parent.name}.",
            )  # fmt: skip
            record(
                "feedback.escalated", obj=feedback, unit=parent,
                message=f"{feedback.number}: {before.name} → {parent.name}",
                data={"from": before.code, "to": parent.code},
            )  # fmt: skip
        result.escalated += 1
    for feedback in due.filter(due_at__gt=now, reminded_at__isnull=True):
        assert feedback.due_at is not None
        if working_hours_between(now, feedback.due_at) > feedback.category.remind_hours:
            continue
        with transaction.atomic():
            Feedback.objects.filter(pk=feedback.pk).update(reminded_at=now)
            record(
                "feedback.reminded", obj=feedback, unit=feedback.handling_unit,
                message=f"{feedback.number}: hạn {timezone.localtime(feedback.due_at):%H:%M %d/%m/%Y}",
            )  # fmt: skip
        log.warning("Phản ánh %s sắp đến hạn xử lý tại %s", feedback.number, feedback.handling_unit.name)
        result.reminded += 1
    return result
