"""Field types shared by the API's input schemas."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.utils import timezone
from pydantic import AfterValidator

MAX_OFFSET = dt.timedelta(hours=14)


class InvalidValue(ValueError):
    """Raised by our own validators; its text is Vietnamese and is shown to the client as it is."""


# the widest real UTC offset (Kiribati); databases refuse more


def _sane_datetime(value: dt.datetime) -> dt.datetime:
    """Naive times are read in the deployment's time zone; offsets and years no clock shows are refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        value = timezone.make_aware(value, timezone.get_default_timezone())
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_OFFSET:
        raise InvalidValue("múi giờ không hợp lệ (lệch quá 14 giờ so với UTC)")
    if not 1900 <= value.year <= 2200:
        raise InvalidValue("năm phải nằm trong khoảng 1900–2200")
    return value


ApiDateTime = Annotated[dt.datetime, AfterValidator(_sane_datetime)]
"""A point in time sent by a client: ISO 8601, preferably with its offset (``2026-11-26T08:00:00+07:00``)."""
