"""Field types shared by the API's input schemas."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from django.utils import timezone
from pydantic import AfterValidator, BeforeValidator

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


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _text_date(value: Any) -> Any:
    """Only ``YYYY-MM-DD`` text: pydantic alone would read a number (``8e-236``) as seconds since 1970."""
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
        raise InvalidValue("phải là ngày dạng YYYY-MM-DD (ví dụ 2026-11-26)")
    return value.strip()


def _text_datetime(value: Any) -> Any:
    """Only ISO 8601 text: a number would be read as seconds since 1970, which no operator means."""
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value.strip()):
        raise InvalidValue("phải là thời điểm dạng ISO 8601 (ví dụ 2026-11-26T08:00:00+07:00)")
    return value


def _text_bool(value: Any) -> Any:
    """Only ``true``/``false``: pydantic alone would take 1, 0, "yes", "off"… for a field the schema types boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidValue("phải là true hoặc false")


ApiBool = Annotated[bool, BeforeValidator(_text_bool)]
"""A yes/no sent by a client: JSON ``true``/``false``, or ``true``/``false`` in a query string."""

ApiDate = Annotated[dt.date, BeforeValidator(_text_date)]
"""A calendar day sent by a client, as ``YYYY-MM-DD`` text (the schema's ``format: date``)."""

ApiDateTime = Annotated[dt.datetime, BeforeValidator(_text_datetime), AfterValidator(_sane_datetime)]
"""A point in time sent by a client: ISO 8601, preferably with its offset (``2026-11-26T08:00:00+07:00``)."""
