"""One date format in the console: dd/mm/yyyy (and dd/mm/yyyy hh:mm), typed or chosen with the one date picker
(console.js puts a calendar button beside every ``data-date``/``data-datetime`` field). Links and older forms in
ISO form (yyyy-mm-dd, yyyy-mm-ddThh:mm) are still read."""

from __future__ import annotations

import datetime as dt
import re

from django.utils.translation import gettext as _

DAY_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d")
MOMENT_FORMATS = (
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
)


def parse_day(raw: str | None) -> dt.date | None:
    """The day typed as dd/mm/yyyy (or yyyy-mm-dd); None when empty or not a day."""
    raw = (raw or "").strip()
    for fmt in DAY_FORMATS:
        try:
            return dt.datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    return None


def parse_moment(raw: str | None) -> dt.datetime | None:
    """A local (naive) time typed as dd/mm/yyyy hh:mm (or ISO); a day alone is its 00:00; None if not a time."""
    raw = " ".join((raw or "").split())
    for fmt in MOMENT_FORMATS:
        try:
            return dt.datetime.strptime(raw, fmt)
        except ValueError:
            continue
    day = parse_day(raw)
    return dt.datetime.combine(day, dt.time.min) if day else None


_TYPED = re.compile(
    r"^(?:(?P<d>\d{1,2})[/-](?P<m>\d{1,2})[/-](?P<y>\d{4})|(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2}))"
    r"(?:[ T](?P<hh>\d{1,2}):(?P<mm>\d{2})(?::(?P<ss>\d{2}))?)?$"
)


def date_problem(raw: str | None, *, with_time: bool = False) -> str:
    """Why ``raw`` is not a day (or, ``with_time``, a moment), in plain words: the day is not in the calendar
    (31/02/2026), the hour is not one (25:00), or the form is not dd/mm/yyyy [hh:mm]. Empty when it is fine."""
    raw = " ".join((raw or "").split())
    if not raw or (parse_moment(raw) if with_time else parse_day(raw)):
        return ""
    m = _TYPED.match(raw)
    if not m or (m["hh"] and not with_time):
        return _("cần dạng dd/mm/yyyy hh:mm") if with_time else _("cần dạng dd/mm/yyyy")
    day, month, year = (
        (int(m["d"]), int(m["m"]), int(m["y"])) if m["d"] else (int(m["id"]), int(m["im"]), int(m["iy"]))
    )
    try:
        dt.date(year, month, day)
    except ValueError:
        return _("Ngày %(day)s không có trong lịch") % {"day": f"{day:02d}/{month:02d}/{year}"}
    return _("Giờ %(time)s không hợp lệ") % {"time": f"{int(m['hh']):02d}:{m['mm']}"}


def day_text(value: dt.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def moment_text(value: dt.datetime | None) -> str:
    return value.strftime("%d/%m/%Y %H:%M") if value else ""
