"""The schedule form in the officer's words, turned into the parts of a :class:`~loa.broadcast.services.ScheduleSpec`.

The officer says: "mỗi ngày lúc 06:00 và 17:30", "thứ Hai, thứ Năm lúc 06:00", "một lần vào ngày 24/12/2026 lúc
19:00", "phát 2 lần, cách nhau 5 phút", "từ ngày … đến hết ngày …". "Cách nhau 5 phút" is the pause between the
end of one play and the start of the next, so the rule's "every X minutes" is the programme's length (rounded
up to whole minutes) plus the pause. RRULE, a list of dates and the raw repeat parameters stay in the
"Nâng cao" part of the form (``adv_*`` fields), which wins when it is filled.

Nothing here touches the database: the caller gives the programme's item durations.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from loa.broadcast.recurrence import LOCAL_TZ, Recurrence, hhmm, session_plan, session_seconds, session_starts
from loa.console.dates import date_problem
from loa.errors import Refusal

WHEN = ("daily", "weekly", "once", "advanced")
_TIME = re.compile(r"^(\d{1,2})(?:[:hH.](\d{2})?)?$")
_SPLIT = re.compile(r"\s*(?:,|;|\bvà\b|\band\b|\s)\s*", re.IGNORECASE)
MAX_PLAYS = 10
MAX_GAP_MIN = 180


class FormRefusal(Refusal):
    """A field the officer must correct (a date that is not dd/mm/yyyy, a count that is not a number)."""


def parse_times(raw: str) -> list[str]:
    """ "06:00 và 17:30", "6h, 17h30", "06:00, 17:30" → ["06:00", "17:30"]; anything else is kept as typed so the
    recurrence check names it ("Giờ “x” không hợp lệ")."""
    out = []
    for token in _SPLIT.split(raw or ""):
        token = token.strip()
        if not token:
            continue
        m = _TIME.match(token)
        out.append(f"{int(m.group(1)):02d}:{m.group(2) or '00'}" if m else token)
    return out


def parse_date(raw: str, label: str) -> dt.date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    for fmt in ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise FormRefusal("date_invalid", f"{label}: “{raw}” — {date_problem(raw)}.")


def parse_dates(raw: str, label: str) -> list[dt.date]:
    out = []
    for part in re.split(r"[,;\s]+", raw or ""):
        day = parse_date(part, label)
        if day is not None:
            out.append(day)
    return out


def _number(raw: Any, label: str, default: int, lo: int, hi: int) -> int:
    text = str(raw if raw is not None else "").strip()
    if not text:
        return default
    if not text.isdecimal() or not lo <= int(text) <= hi:
        raise FormRefusal("number_invalid", f"{label} phải là số từ {lo} đến {hi}.")
    return int(text)


@dataclass
class Rule:
    """The recurrence parts of a ScheduleSpec (keyword arguments), and what the officer chose."""

    when: str
    parts: dict[str, Any] = field(default_factory=dict)


def rule_from_form(post: Mapping[str, Any], getlist: Any, durations: Sequence[float]) -> Rule:
    """The recurrence keyword arguments of :class:`ScheduleSpec` from the simple form (and "Nâng cao")."""
    when = str(post.get("when") or "daily")
    if when not in WHEN:
        when = "daily"
    times = parse_times(str(post.get("times", "")))
    parts: dict[str, Any] = {
        "times": times,
        "valid_from": parse_date(str(post.get("valid_from", "")), "Áp dụng từ ngày"),
        "valid_until": parse_date(str(post.get("valid_until", "")), "Đến hết ngày"),
        "weekdays": [],
        "dates": [],
        "start_date": None,
        "rrule": "",
        "exdates": parse_dates(str(post.get("adv_exdates", "")), "Trừ các ngày"),
    }
    if when == "daily":
        parts["kind"] = "daily"
    elif when == "weekly":
        parts["kind"] = "weekly"
        parts["weekdays"] = sorted(
            {int(d) for d in getlist("weekdays") if str(d).isdecimal() and int(d) <= 6}
        )
    elif when == "once":
        parts["kind"] = "once"
        parts["start_date"] = parse_date(str(post.get("once_date", "")), "Ngày phát")
    else:
        kind = str(post.get("adv_kind") or "rrule")
        parts["kind"] = kind
        parts["rrule"] = str(post.get("adv_rrule", ""))
        parts["dates"] = parse_dates(str(post.get("adv_dates", "")), "Danh sách ngày")
        parts["start_date"] = (
            parse_date(str(post.get("adv_start_date", "")), "Ngày bắt đầu") or parts["valid_from"]
        )
    # "phát 2 lần, cách nhau 5 phút"
    plays = _number(post.get("plays"), "Số lần phát mỗi buổi", 1, 1, MAX_PLAYS)
    gap = _number(post.get("gap_min"), "Số phút giữa hai lần phát", 0, 0, MAX_GAP_MIN)
    mode, count, every, span = "none", 1, 0, 0
    if plays > 1 and gap == 0:
        mode, count = "times", plays
    elif plays > 1:
        length_min = max(1, math.ceil(sum(durations) / 60)) if durations else 1
        every = length_min + gap
        mode, span = "every", every * (plays - 1) + 1
    raw_mode = str(post.get("adv_repeat_mode") or "")
    if raw_mode:  # "Nâng cao": the raw parameters, as typed
        mode = raw_mode
        count = _number(post.get("adv_repeat_count"), "Số lần liên tiếp", 1, 1, MAX_PLAYS)
        every = _number(post.get("adv_repeat_every_min"), "Lặp mỗi (phút)", 0, 0, 24 * 60)
        span = _number(post.get("adv_repeat_span_min"), "Trong khoảng (phút)", 0, 0, 24 * 60)
    parts.update(repeat_mode=mode, repeat_count=count, repeat_every_min=every, repeat_span_min=span)
    return Rule(when=when, parts=parts)


def _weekday(n: int) -> str:
    return [_("Thứ Hai"), _("Thứ Ba"), _("Thứ Tư"), _("Thứ Năm"), _("Thứ Sáu"), _("Thứ Bảy"), _("Chủ nhật")][
        n
    ]


def rule_text(rec: Recurrence) -> str:
    """The rule in a short sentence in the reader's language (the audit log keeps
    :func:`loa.broadcast.recurrence.describe`, always Vietnamese)."""
    times = ", ".join(hhmm(t) for t in rec.times)
    if rec.kind == "once" and rec.start_date:
        text = _("Một lần, %(day)s lúc %(times)s") % {"day": f"{rec.start_date:%d/%m/%Y}", "times": times}
    elif rec.kind == "daily":
        text = _("Mỗi ngày lúc %(times)s") % {"times": times}
    elif rec.kind == "weekly":
        days = ", ".join(_weekday(d) for d in rec.weekdays)
        text = _("Hằng tuần vào %(days)s lúc %(times)s") % {"days": days, "times": times}
    elif rec.kind == "dates":
        shown = ", ".join(f"{d:%d/%m}" for d in rec.dates[:6]) + ("…" if len(rec.dates) > 6 else "")
        text = _("Các ngày %(days)s lúc %(times)s") % {"days": shown, "times": times}
    else:
        text = _("Theo quy tắc %(rule)s lúc %(times)s") % {"rule": rec.rrule, "times": times}
    if rec.repeat_mode == "times" and rec.repeat_count > 1:
        text += ", " + _("phát %(n)s lần liên tiếp") % {"n": rec.repeat_count}
    if rec.repeat_mode == "every":  # in the form's words: "phát 2 lần", not the raw every/span minutes
        plays = max(1, math.ceil(rec.repeat_span_min / rec.repeat_every_min)) if rec.repeat_every_min else 1
        text += ", " + _("phát %(n)s lần, các lần bắt đầu cách nhau %(every)s phút") % {
            "n": plays,
            "every": rec.repeat_every_min,
        }
    if rec.exdates:
        text += ", " + _("trừ %(n)s ngày") % {"n": len(rec.exdates)}
    return text


@dataclass(frozen=True)
class NextPlay:
    start: dt.datetime  # local
    end: dt.datetime  # local
    plays: int


def next_plays(
    rec: Recurrence, durations: Sequence[float], now: dt.datetime, *, limit: int = 6, days: int = 60
) -> list[NextPlay]:
    """The next sessions from ``now`` (local start and end, and how many times the content plays in it)."""
    length = session_seconds(rec, list(durations))
    out = []
    for start in session_starts(rec, now, now + dt.timedelta(days=days), length):
        if start < now:
            continue
        slots = session_plan(rec, start, list(durations))
        out.append(NextPlay(start.astimezone(LOCAL_TZ), slots[-1].end.astimezone(LOCAL_TZ), rec.repeat_count))
        if len(out) >= limit:
            break
    return out
