"""English is available: the compiled catalogue matches its source, and every translation is used."""

from __future__ import annotations

from pathlib import Path

import polib
from django.utils import translation

import loa

LOCALE = Path(loa.__file__).parent / "locale" / "en" / "LC_MESSAGES"


def test_compiled_english_catalogue_matches_its_source() -> None:
    po = polib.pofile(str(LOCALE / "django.po"))
    mo = {e.msgid: e.msgstr for e in polib.mofile(str(LOCALE / "django.mo"))}
    translated = {e.msgid: e.msgstr for e in po if e.msgstr and not e.obsolete and "fuzzy" not in e.flags}
    assert translated, "there are English translations"
    stale = [k for k, v in translated.items() if mo.get(k) != v]
    assert not stale, f"django.mo is older than django.po (run msgfmt); e.g. {stale[:3]}"


def test_english_is_served() -> None:
    with translation.override("en"):
        assert translation.gettext("Tổng quan") == "Overview"
        assert translation.gettext("Tên đăng nhập hoặc mật khẩu không đúng.") == "Wrong username or password."
    with translation.override("vi"):
        assert translation.gettext("Tổng quan") == "Tổng quan"
