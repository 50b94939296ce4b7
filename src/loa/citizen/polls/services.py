"""Polls: ``check_*`` validates, ``do_*`` changes state and writes the audit entry (the caller has authorised
through :mod:`loa.citizen.polls.access`). Voting is anonymous: one ballot per verified phone or per device token,
kept as a keyed hash for that poll only (:func:`voter_key`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loa.audit.log import record
from loa.citizen.polls.models import Answer, Ballot, Choice, PhoneCode, Poll, Question
from loa.errors import Refusal
from loa.units.models import Unit

MAX_QUESTIONS = 30
MAX_CHOICES = 20
MAX_TEXT_ANSWER = 2000
CODE_TTL = dt.timedelta(minutes=15)
CODES_PER_HOUR = 3
CODE_ATTEMPTS = 5
CITIZEN = "người dân (ẩn danh)"  # the audit log's actor: no number, no address, no token


class PollError(Refusal):
    pass


# ---- the poll and its questions ----------------------------------------------------------------------


def check_poll(title: str, opens_at: dt.datetime | None, closes_at: dt.datetime | None, results: str,
               vote_rule: str) -> None:  # fmt: skip
    if not title.strip():
        raise PollError("title_required", "Cần tiêu đề cuộc thăm dò.", field="title")
    if len(title) > 200:
        raise PollError("title_too_long", "Tiêu đề dài quá 200 ký tự.", field="title")
    if opens_at is None:
        raise PollError("opens_at_required", "Cần thời điểm mở (ngày, giờ).", field="opens_at")
    if closes_at is None:
        raise PollError("closes_at_required", "Cần thời điểm đóng (ngày, giờ).", field="closes_at")
    if closes_at <= opens_at:
        raise PollError("closes_before_opens", "Thời điểm đóng phải sau thời điểm mở.", field="closes_at")
    if results not in Poll.Results.values:
        raise PollError("results_invalid", "Chọn cách công khai kết quả.", field="results")
    if vote_rule not in Poll.VoteRule.values:
        raise PollError("vote_rule_invalid", "Chọn cách tính một phiếu.", field="vote_rule")


def _editable(poll: Poll) -> None:
    if poll.state != Poll.State.DRAFT:
        raise PollError(
            "poll_not_draft",
            "Cuộc thăm dò đã công bố: không sửa câu hỏi được nữa (kết quả sẽ sai lệch).",
            409,
        )


@transaction.atomic
def do_create_poll(unit: Unit, *, actor: Any, title: str, description: str = "", opens_at: dt.datetime | None,
                   closes_at: dt.datetime | None, results: str = Poll.Results.AFTER_CLOSE,
                   vote_rule: str = Poll.VoteRule.DEVICE, request: Any = None) -> Poll:  # fmt: skip
    check_poll(title, opens_at, closes_at, results, vote_rule)
    assert opens_at is not None and closes_at is not None  # checked above
    poll = Poll.objects.create(
        unit=unit, title=title.strip(), description=description.strip()[:5000], opens_at=opens_at,
        closes_at=closes_at, results=results, vote_rule=vote_rule, created_by=actor if getattr(actor, "pk", None) else None,
    )  # fmt: skip
    record(
        "polls.created", actor=actor, request=request, obj=poll, message=f"Tạo cuộc thăm dò “{poll.title}”"
    )
    return poll


@transaction.atomic
def do_update_poll(poll: Poll, *, actor: Any, request: Any = None, **fields: Any) -> Poll:
    _editable(poll)
    for k in ("title", "description", "opens_at", "closes_at", "results", "vote_rule"):
        if k in fields:
            setattr(
                poll, k, fields[k].strip() if isinstance(fields[k], str) and k != "results" else fields[k]
            )
    check_poll(poll.title, poll.opens_at, poll.closes_at, poll.results, poll.vote_rule)
    poll.save()
    record("polls.updated", actor=actor, request=request, obj=poll, message=f"Sửa cuộc thăm dò “{poll.title}”",
           data={"fields": sorted(fields)})  # fmt: skip
    return poll


def check_question(kind: str, text: str, choices: Sequence[str], scale_min: int, scale_max: int) -> list[str]:
    if kind not in Question.Kind.values:
        raise PollError("kind_invalid", "Chọn loại câu hỏi.", field="kind")
    if not text.strip():
        raise PollError("question_required", "Cần nội dung câu hỏi.", field="text")
    if len(text) > 500:
        raise PollError("question_too_long", "Câu hỏi dài quá 500 ký tự.", field="text")
    cleaned = [c.strip() for c in choices if c.strip()]
    if kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        if len(cleaned) < 2:
            raise PollError("choices_required", "Câu hỏi lựa chọn cần ít nhất 2 lựa chọn (mỗi dòng một lựa chọn).",
                            field="choices")  # fmt: skip
        if len(cleaned) > MAX_CHOICES or any(len(c) > 200 for c in cleaned):
            raise PollError("choices_too_many", f"Tối đa {MAX_CHOICES} lựa chọn, mỗi lựa chọn không quá 200 ký tự.",
                            field="choices")  # fmt: skip
        if len(set(cleaned)) != len(cleaned):
            raise PollError("choices_duplicate", "Có lựa chọn bị trùng.", field="choices")
        return cleaned
    if kind == Question.Kind.SCALE and not (0 <= scale_min < scale_max <= 10):
        raise PollError("scale_invalid", "Thang điểm phải từ 0 đến 10, điểm thấp nhất nhỏ hơn điểm cao nhất.",
                        field="scale_max")  # fmt: skip
    return []


@transaction.atomic
def do_add_question(poll: Poll, *, actor: Any, kind: str, text: str, choices: Sequence[str] = (),
                    required: bool = True, scale_min: int = 1, scale_max: int = 5, request: Any = None) -> Question:  # fmt: skip
    _editable(poll)
    cleaned = check_question(kind, text, choices, scale_min, scale_max)
    if poll.questions.count() >= MAX_QUESTIONS:
        raise PollError("too_many_questions", f"Một cuộc thăm dò có tối đa {MAX_QUESTIONS} câu hỏi.")
    q = Question.objects.create(
        poll=poll, position=poll.questions.count(), kind=kind, text=text.strip(), required=required,
        scale_min=scale_min, scale_max=scale_max,
    )  # fmt: skip
    Choice.objects.bulk_create([Choice(question=q, position=i, text=c) for i, c in enumerate(cleaned)])
    record("polls.updated", actor=actor, request=request, obj=poll,
           message=f"Thêm câu hỏi “{q.text[:80]}” vào cuộc thăm dò “{poll.title}”")  # fmt: skip
    return q


@transaction.atomic
def do_remove_question(poll: Poll, question: Question, *, actor: Any, request: Any = None) -> None:
    _editable(poll)
    text = question.text
    question.delete()
    record("polls.updated", actor=actor, request=request, obj=poll,
           message=f"Bỏ câu hỏi “{text[:80]}” khỏi cuộc thăm dò “{poll.title}”")  # fmt: skip


@transaction.atomic
def do_publish(poll: Poll, *, actor: Any, request: Any = None) -> Poll:
    _editable(poll)
    questions = list(poll.questions.all())
    if not questions:
        raise PollError("no_questions", "Cuộc thăm dò chưa có câu hỏi nào.")
    if poll.closes_at <= timezone.now():
        raise PollError("already_over", "Thời điểm đóng đã qua: hãy sửa thời điểm đóng trước khi công bố.",
                        field="closes_at")  # fmt: skip
    poll.state = Poll.State.PUBLISHED
    poll.save(update_fields=["state", "updated_at"])
    record("polls.opened", actor=actor, request=request, obj=poll,
           message=f"Công bố cuộc thăm dò “{poll.title}” ({len(questions)} câu hỏi)")  # fmt: skip
    return poll


@transaction.atomic
def do_close(poll: Poll, *, actor: Any, request: Any = None) -> Poll:
    if poll.state != Poll.State.PUBLISHED:
        raise PollError("poll_not_published", "Chỉ đóng được cuộc thăm dò đang công bố.", 409)
    poll.state = Poll.State.CLOSED
    poll.closed_at = timezone.now()
    poll.save(update_fields=["state", "closed_at", "updated_at"])
    record("polls.closed", actor=actor, request=request, obj=poll,
           message=f"Đóng cuộc thăm dò “{poll.title}” ({poll.ballots.count()} phiếu)")  # fmt: skip
    return poll


# ---- voters -------------------------------------------------------------------------------------------------


def _hmac(*parts: object) -> str:
    msg = ":".join(str(p) for p in parts).encode()
    return hmac.new(settings.SECRET_KEY.encode(), msg, hashlib.sha256).hexdigest()


def voter_key(poll: Poll, rule: str, secret: str) -> str:
    """The per-poll hash of a phone number or a device token: the same voter gives the same key in one poll,
    and nothing links it to another poll or back to the number."""
    return _hmac("loa.polls.voter", poll.pk, rule, secret)


PHONE_RE = re.compile(r"^0[35789]\d{8}$")


def normalize_phone(raw: str) -> str:
    """A Vietnamese mobile number as 0xxxxxxxxx (from +84…, 84…, with spaces, dots or dashes)."""
    digits = re.sub(r"[\s.\-()]", "", raw or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not PHONE_RE.match(digits):
        raise PollError(
            "phone_invalid", _("Số điện thoại di động không hợp lệ (ví dụ 0912 345 678)."), field="phone"
        )
    return digits


class LogCodeSender:
    """The demo's sender: the code goes to the log. A province sets ``LOA_POLL_CODE_SENDER`` to its SMS gateway's
    class (the same ``send(kind, contact, code, reference)`` as the feedback's sender)."""

    def send(self, kind: str, contact: str, code: str, reference: str) -> None:
        import logging

        logging.getLogger("loa.citizen.codes").warning(
            "Mã xác minh thăm dò %s gửi tới %s: %s", reference, contact, code
        )


def _sender() -> Any:
    from django.utils.module_loading import import_string

    return import_string(
        getattr(settings, "LOA_POLL_CODE_SENDER", "loa.citizen.polls.services.LogCodeSender")
    )()


def check_open(poll: Poll) -> None:
    now = timezone.now()
    if poll.state == Poll.State.PUBLISHED and now < poll.opens_at:
        raise PollError("poll_not_open_yet", _("Cuộc thăm dò chưa mở."), 409)
    if not poll.is_open(now):
        raise PollError("poll_closed", _("Cuộc thăm dò đã đóng: không nhận thêm ý kiến."), 409)


@transaction.atomic
def do_send_phone_code(poll: Poll, phone: str) -> str:
    """Send a one-time code to ``phone`` for this poll; returns the normalised number. At most
    :data:`CODES_PER_HOUR` codes per number and poll in an hour."""
    check_open(poll)
    phone = normalize_phone(phone)
    key = voter_key(poll, Poll.VoteRule.PHONE, phone)
    if Ballot.objects.filter(poll=poll, voter_key=key).exists():
        raise PollError(
            "already_voted", _("Số điện thoại này đã trả lời cuộc thăm dò này: mỗi số chỉ một lần."), 409
        )
    since = timezone.now() - dt.timedelta(hours=1)
    if PhoneCode.objects.filter(poll=poll, phone_key=key, created_at__gte=since).count() >= CODES_PER_HOUR:
        raise PollError("too_many_codes", _("Đã gửi quá nhiều mã tới số này: hãy thử lại sau một giờ."), 429)
    # codes are kept a day at most (a keyed hash of the number is still about a person)
    PhoneCode.objects.filter(created_at__lt=timezone.now() - dt.timedelta(days=1)).delete()
    code = f"{secrets.randbelow(1_000_000):06d}"
    PhoneCode.objects.create(poll=poll, phone_key=key, code_hash=_hmac("loa.polls.code", key, code))
    _sender().send("phone", phone, code, f"#{poll.pk}")
    record("polls.code_sent", actor=CITIZEN, obj=poll, message=f"Gửi mã xác minh để trả lời “{poll.title}”")
    return phone


def check_phone_code(poll: Poll, phone: str, code: str) -> str:
    """The voter key of a phone whose code is right (the code is used up)."""
    phone = normalize_phone(phone)
    key = voter_key(poll, Poll.VoteRule.PHONE, phone)
    live = list(
        PhoneCode.objects.filter(poll=poll, phone_key=key, used_at__isnull=True,
                                 created_at__gte=timezone.now() - CODE_TTL)
        .order_by("-created_at")
    )  # fmt: skip
    if not live:
        raise PollError("code_missing", _("Chưa có mã xác minh còn hiệu lực cho số này: hãy bấm “Gửi mã”."),
                        field="code")  # fmt: skip
    latest = live[0]
    if latest.attempts >= CODE_ATTEMPTS:
        raise PollError("code_locked", _("Nhập sai mã quá nhiều lần: hãy xin mã mới."), 429, field="code")
    given = _hmac("loa.polls.code", key, (code or "").strip())
    row = next((r for r in live if hmac.compare_digest(r.code_hash, given)), None)  # any code still valid
    if row is None:
        PhoneCode.objects.filter(pk=latest.pk).update(attempts=latest.attempts + 1)
        raise PollError("code_wrong", _("Mã xác minh không đúng."), field="code")
    PhoneCode.objects.filter(pk=row.pk).update(used_at=timezone.now())
    return key


# ---- ballots ------------------------------------------------------------------------------------------------


@dataclass
class Parsed:
    question: Question
    choices: list[Choice]
    value: int | None
    text: str


def check_ballot(poll: Poll, data: Mapping[str, Any]) -> list[Parsed]:
    """Read the answers (``q<id>`` fields: a choice id, several for a multiple choice, a number, a text);
    refuse a missing required answer or a value that is not offered, naming the question."""
    out = []
    for q in poll.questions.prefetch_related("choices"):
        name = f"q{q.pk}"
        raw = data.getlist(name) if hasattr(data, "getlist") else data.get(name, [])
        values = [str(v).strip() for v in (raw if isinstance(raw, list) else [raw]) if str(v).strip()]
        label = _("Câu %(n)s (“%(text)s”)") % {"n": q.position + 1, "text": q.text[:60]}
        if not values:
            if q.required:
                raise PollError(
                    "answer_required", _("%(label)s: cần trả lời.") % {"label": label}, field=name
                )
            continue
        if q.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
            offered = {str(c.pk): c for c in q.choices.all()}
            if any(v not in offered for v in values) or len(set(values)) != len(values):
                raise PollError(
                    "choice_invalid",
                    _("%(label)s: lựa chọn không có trong câu hỏi.") % {"label": label},
                    field=name,
                )
            if q.kind == Question.Kind.SINGLE and len(values) > 1:
                raise PollError(
                    "one_choice_only", _("%(label)s: chỉ chọn một.") % {"label": label}, field=name
                )
            out.append(Parsed(q, [offered[v] for v in values], None, ""))
        elif q.kind == Question.Kind.SCALE:
            if (
                len(values) > 1
                or not re.fullmatch(r"-?\d{1,2}", values[0])
                or not (q.scale_min <= int(values[0]) <= q.scale_max)
            ):
                raise PollError("scale_out_of_range", _("%(label)s: chọn một điểm từ %(low)s đến %(high)s.")
                                % {"label": label, "low": q.scale_min, "high": q.scale_max},
                                field=name)  # fmt: skip
            out.append(Parsed(q, [], int(values[0]), ""))
        else:
            text = "\n".join(values)
            if len(text) > MAX_TEXT_ANSWER:
                raise PollError(
                    "text_too_long",
                    _("%(label)s: câu trả lời dài quá %(n)s ký tự.") % {"label": label, "n": MAX_TEXT_ANSWER},
                    field=name,
                )
            out.append(Parsed(q, [], None, text))
    return out


def do_cast_ballot(poll: Poll, *, key: str, rule: str, answers: list[Parsed]) -> Ballot:
    """One ballot per voter key: a second one is refused (the first counts)."""
    check_open(poll)
    if rule != poll.vote_rule:
        raise PollError(
            "vote_rule_mismatch", _("Cuộc thăm dò này cần xác minh số điện thoại trước khi trả lời."), 403
        )
    try:
        with transaction.atomic():
            ballot = Ballot.objects.create(poll=poll, voter_key=key, rule=rule)
            rows = []
            for a in answers:
                if a.choices:
                    rows += [Answer(ballot=ballot, question=a.question, choice=c) for c in a.choices]
                else:
                    rows.append(Answer(ballot=ballot, question=a.question, value=a.value, text=a.text))
            Answer.objects.bulk_create(rows)
            record("polls.ballot_cast", actor=CITIZEN, obj=poll, message=f"Một người dân trả lời “{poll.title}”",
                   data={"ballot": ballot.pk, "rule": rule})  # fmt: skip
    except IntegrityError:
        message = (
            _("Số điện thoại này đã trả lời cuộc thăm dò này: mỗi người chỉ một lần.")
            if rule == Poll.VoteRule.PHONE
            else _("Thiết bị này đã trả lời cuộc thăm dò này: mỗi người chỉ một lần.")
        )
        raise PollError("already_voted", message, 409) from None
    return ballot
