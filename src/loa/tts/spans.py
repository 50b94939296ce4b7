"""Which words of a "read as" text differ from the written text, so an officer sees at a glance what changed.

``reading_spans(written, reading)`` cuts ``reading`` into spans, each marked changed or not: the words the
normalizer (or a person) added or replaced are changed; the words the reading shares with the written text, in the
same order, are not. Case and punctuation are not differences a listener hears.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from typing import NamedTuple

_TOKEN = re.compile(r"[^\W_]+|[^\w\s]+|\s+|_+")


class Span(NamedTuple):
    text: str
    changed: bool


def _key(token: str) -> str:
    return unicodedata.normalize("NFC", token).lower()


def reading_spans(written: str, reading: str) -> list[Span]:
    """``reading`` as spans; adjacent spans of the same kind are merged (spaces between changed words stay changed)."""
    heard = [t for t in _TOKEN.findall(written) if t[0].isalnum()]
    tokens = _TOKEN.findall(reading)
    words = [i for i, t in enumerate(tokens) if t[0].isalnum()]
    matcher = difflib.SequenceMatcher(
        a=[_key(t) for t in heard], b=[_key(tokens[i]) for i in words], autojunk=False
    )
    changed = [True] * len(tokens)
    for block in matcher.get_matching_blocks():
        for j in range(block.b, block.b + block.size):
            changed[words[j]] = False
    for i, token in enumerate(tokens):  # spaces and punctuation take the kind of the words around them
        if not token[0].isalnum():
            before = next((changed[k] for k in range(i - 1, -1, -1) if tokens[k][0].isalnum()), False)
            after = next((changed[k] for k in range(i + 1, len(tokens)) if tokens[k][0].isalnum()), False)
            changed[i] = before and after
    spans: list[Span] = []
    for token, flag in zip(tokens, changed, strict=True):
        if spans and spans[-1].changed == flag:
            spans[-1] = Span(spans[-1].text + token, flag)
        else:
            spans.append(Span(token, flag))
    return spans
