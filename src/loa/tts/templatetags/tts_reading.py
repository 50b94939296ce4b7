"""``{% reading_marked read_as title body %}``: the "read as" text with what differs from the written text marked."""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from loa.tts.spans import reading_spans

register = template.Library()

MAX_WORDS = 5000  # beyond this the comparison costs more than it helps: the text is shown unmarked


@register.simple_tag
def reading_marked(read_as: str | None, *written_parts: str | None) -> SafeString:
    read_as = read_as or ""
    written = ".\n".join(p for p in written_parts if p and p.strip())
    if len(read_as.split()) > MAX_WORDS or len(written.split()) > MAX_WORDS:
        return format_html("{}", read_as)
    return format_html_join(
        "",
        "<{}>{}</{}>",
        (
            ("mark", s.text, "mark") if s.changed else ("span", s.text, "span")
            for s in reading_spans(written, read_as)
        ),
    )
