"""A unit's abbreviation table, kept by its editors: ``check_abbreviation`` validates, ``do_*`` changes and audits.

Who may keep which unit's table is decided by :mod:`loa.tts.access`; these functions trust their caller (ADR 0009).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from loa.audit.log import record
from loa.errors import Refusal
from loa.tts.models import Abbreviation

MAX_NEAR_WORDS = 20


class AbbreviationRefused(Refusal):
    pass


@dataclass(frozen=True)
class AbbreviationEntry:
    text: str
    reading: str
    near: str  # words, comma-separated, normalised ("quân sự, PCTT")


def _clean(value: str | None) -> str:
    return unicodedata.normalize("NFC", " ".join((value or "").split()))


def check_abbreviation(text: str | None, reading: str | None, near: str | None) -> AbbreviationEntry:
    text, reading = _clean(text), _clean(reading)
    if not text:
        raise AbbreviationRefused(
            "abbreviation_text_missing", "Hãy nhập chữ viết tắt (ví dụ BCH).", field="text"
        )
    if len(text) > 50 or " " in text:
        raise AbbreviationRefused(
            "abbreviation_text_invalid",
            "Chữ viết tắt là một cụm liền, không có dấu cách, tối đa 50 ký tự (ví dụ BCH, Đ/c, PCTT&TKCN).",
            field="text",
        )
    if not re.search(r"[^\W\d_]", text):
        raise AbbreviationRefused(
            "abbreviation_text_invalid", "Chữ viết tắt phải có ít nhất một chữ cái.", field="text"
        )
    if not reading:
        raise AbbreviationRefused(
            "abbreviation_reading_missing", "Hãy nhập cách đọc (ví dụ: ban chỉ huy).", field="reading"
        )
    if len(reading) > 300 or re.search(r"\d", reading):
        raise AbbreviationRefused(
            "abbreviation_reading_invalid",
            "Cách đọc viết bằng chữ, không dùng chữ số, tối đa 300 ký tự (ví dụ: quốc lộ mười tám).",
            field="reading",
        )
    words = [w.strip() for w in _clean(near).split(",") if w.strip()]
    if len(words) > MAX_NEAR_WORDS or any(len(w) > 40 for w in words):
        raise AbbreviationRefused(
            "abbreviation_near_invalid",
            f"Tối đa {MAX_NEAR_WORDS} từ ngữ cảnh, mỗi từ tối đa 40 ký tự, ngăn nhau bằng dấu phẩy.",
            field="near",
        )
    return AbbreviationEntry(text, reading, ", ".join(dict.fromkeys(words)))


def do_save_abbreviation(
    entry: AbbreviationEntry, *, unit: Any, actor: Any, request: Any = None
) -> Abbreviation:
    """Add the unit's entry, or change the reading of the one with the same text and context words."""
    with transaction.atomic():
        row, created = Abbreviation.objects.update_or_create(
            unit=unit, text=entry.text, near=entry.near, defaults={"reading": entry.reading, "active": True}
        )
        record(
            "tts.abbreviation_saved",
            actor=actor,
            request=request,
            unit=unit,
            obj=row,
            message=f"{entry.text} → {entry.reading}" + (f" (khi gần: {entry.near})" if entry.near else ""),
            data={"created": created, "text": entry.text, "reading": entry.reading, "near": entry.near},
        )
    return row


def do_delete_abbreviation(row: Abbreviation, *, actor: Any, request: Any = None) -> None:
    with transaction.atomic():
        record(
            "tts.abbreviation_deleted",
            actor=actor,
            request=request,
            unit=row.unit,
            obj=row,
            message=f"{row.text} → {row.reading}",
            data={"text": row.text, "reading": row.reading, "near": row.near},
        )
        row.delete()
