"""English is available: every source string is translated, the compiled catalogue matches its source,
and every translation is used."""

from __future__ import annotations

from pathlib import Path

import polib
from django.utils import translation

import loa

LOCALE = Path(loa.__file__).parent / "locale" / "en" / "LC_MESSAGES"


def test_compiled_english_catalogue_matches_its_source() -> None:
    po = polib.pofile(str(LOCALE / "django.po"))
    mo = {(e.msgctxt, e.msgid): e.msgstr for e in polib.mofile(str(LOCALE / "django.mo"))}
    translated = {
        (e.msgctxt, e.msgid): e.msgstr for e in po if e.msgstr and not e.obsolete and "fuzzy" not in e.flags
    }
    assert translated, "there are English translations"
    stale = [k for k, v in translated.items() if mo.get(k) != v]
    assert not stale, f"django.mo is older than django.po (run msgfmt); e.g. {stale[:3]}"


REGENERATE = (
    "Regenerate and translate the English catalogue: "
    "cd src/loa && LOA_DATA_DIR=$(mktemp -d) ../../.venv/bin/loa makemessages -l en "
    '--ignore "*/migrations/*" --no-location; then give every empty msgstr an English translation, '
    "check and fix each '#, fuzzy' entry and remove its flag, and compile: "
    "msgfmt --check -o src/loa/locale/en/LC_MESSAGES/django.mo src/loa/locale/en/LC_MESSAGES/django.po"
)


def test_every_source_string_has_a_checked_english_translation() -> None:
    po = polib.pofile(str(LOCALE / "django.po"))
    live = [e for e in po if not e.obsolete]
    untranslated = [
        e.msgid for e in live if not (all(e.msgstr_plural.values()) if e.msgid_plural else e.msgstr)
    ]
    fuzzy = [e.msgid for e in live if "fuzzy" in e.flags]
    assert not untranslated, (
        f"{len(untranslated)} strings have no English, e.g. {untranslated[:5]}. {REGENERATE}"
    )
    assert not fuzzy, f"{len(fuzzy)} English translations are fuzzy guesses, e.g. {fuzzy[:5]}. {REGENERATE}"


def test_english_is_served() -> None:
    with translation.override("en"):
        assert translation.gettext("Tổng quan") == "Overview"
        assert translation.gettext("Tên đăng nhập hoặc mật khẩu không đúng.") == "Wrong username or password."
    with translation.override("vi"):
        assert translation.gettext("Tổng quan") == "Tổng quan"
