"""Every literal string a template translates has an entry in the English catalogue (issue 19's one language).

Django's ``{% translate %}`` doubles a ``%`` before it looks the string up (``0–100 %`` is looked up as ``0–100 %%``)
and ``{% blocktranslate %}`` turns ``{{ n }}`` into ``%(n)s``; an entry written by hand without that is never found
and the English page shows Vietnamese. This reads the templates and the .po file the way Django does."""

from __future__ import annotations

import re
from pathlib import Path

import loa

SRC = Path(loa.__file__).parent
PO = SRC / "locale" / "en" / "LC_MESSAGES" / "django.po"
TRANSLATE = re.compile(r"""{%\s*translate\s+(?:"([^"]*)"|'([^']*)')(?:\s+context\s+"([^"]*)")?[^%]*%}""")
BLOCK = re.compile(r"{%\s*blocktranslate\b([^%]*)%}(.*?){%\s*(?:plural|endblocktranslate)\s*%}", re.S)


def _catalogue() -> set[tuple[str | None, str]]:
    text = PO.read_text(encoding="utf-8")
    entries = set()
    for m in re.finditer(r'(?:msgctxt "((?:[^"\\]|\\.)*)"\n)?msgid ((?:"(?:[^"\\]|\\.)*"\n?)+)', text):
        msgid = (
            "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(2))).replace('\\"', '"').replace("\\n", "\n")
        )
        entries.add((m.group(1), msgid))
    return entries


def test_every_template_string_has_an_english_entry() -> None:
    entries = _catalogue()
    missing = []
    for template in sorted(SRC.rglob("templates/**/*.html")):
        source = template.read_text(encoding="utf-8")
        for m in TRANSLATE.finditer(source):
            msgid = (m.group(1) if m.group(1) is not None else m.group(2)).replace("%", "%%")
            if (m.group(3), msgid) not in entries:
                missing.append(f"{template.relative_to(SRC)}: {msgid}")
        for m in BLOCK.finditer(source):
            body = " ".join(m.group(2).split()) if "trimmed" in m.group(1) else m.group(2)
            msgid = re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", body.replace("%", "%%"))
            context = re.search(r'context\s+"([^"]*)"', m.group(1))
            if (context.group(1) if context else None, msgid) not in entries:
                missing.append(f"{template.relative_to(SRC)}: {msgid}")
    assert not missing, "strings with no English entry (add them to django.po, then msgfmt):\n" + "\n".join(
        missing
    )
