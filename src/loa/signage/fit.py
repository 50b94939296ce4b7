"""Auto-fit of Vietnamese text to a zone, on the server, with the font the player draws with (Be Vietnam Pro
SemiBold from the ``fontpkg-be-vietnam-pro`` wheel, docs/adr/0015).

:func:`fit` finds the largest font size at which the text, wrapped at spaces, fits the zone (inner padding
included); a text that does not fit even at the smallest readable size is refused with a sentence saying so and how
much of it would fit. Measurement uses Pillow's FreeType with the real glyph advances (diacritics included: the
line height is 1.3× the font size, which holds the stacked marks of "Ặ", "Ữ").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import fontpkg_be_vietnam_pro
from PIL import ImageFont

from loa.errors import Refusal

FONT_FILE = "BeVietnamPro-SemiBold.ttf"
LINE_HEIGHT = 1.3
PADDING = 0.04  # of the zone's smaller side, on every edge
MAX_TEXT = 5000


def font_path() -> Path:
    return Path(fontpkg_be_vietnam_pro.ROOT) / "files" / FONT_FILE


@lru_cache(maxsize=256)
def _font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path()), px)


def min_px(width: int, height: int) -> int:
    """The smallest size still readable from a few metres: 1/30 of the zone's reference side, never under 8 px."""
    return max(8, round(min(width, height) / 30)) if max(width, height) > 512 else 8


@dataclass(frozen=True)
class Fit:
    font_px: int
    lines: list[str]
    width: int
    height: int

    def as_dict(self) -> dict[str, object]:
        return {"font_px": self.font_px, "lines": self.lines, "width": self.width, "height": self.height}


def wrap(text: str, px: int, max_width: float) -> list[str] | None:
    """``text`` wrapped at spaces to ``max_width`` at ``px``; ``None`` when one word alone is wider."""
    font = _font(px)
    out: list[str] = []
    for paragraph in text.split("\n"):
        words = paragraph.split()
        if not words:
            out.append("")
            continue
        line = words[0]
        if font.getlength(line) > max_width:
            return None
        for word in words[1:]:
            if font.getlength(word) > max_width:
                return None
            candidate = f"{line} {word}"
            if font.getlength(candidate) <= max_width:
                line = candidate
            else:
                out.append(line)
                line = word
        out.append(line)
    return out


def _fits(text: str, px: int, inner_w: float, inner_h: float) -> list[str] | None:
    lines = wrap(text, px, inner_w)
    if lines is None or len(lines) * px * LINE_HEIGHT > inner_h:
        return None
    return lines


def normalise(text: str) -> str:
    lines = [" ".join(line.split()) for line in (text or "").replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()


def fit(text: str, width: int, height: int, *, where: str = "", max_px: int | None = None) -> Fit:
    """The largest size at which ``text`` fits a ``width``×``height`` zone, or a refusal (``text_does_not_fit``)."""
    text = normalise(text)
    if not text:
        raise Refusal("text_required", "Cần nội dung chữ cho trang trình chiếu.", field="text")
    if len(text) > MAX_TEXT:
        raise Refusal(
            "text_too_long", f"Nội dung chữ dài quá {MAX_TEXT:,} ký tự.".replace(",", "."), field="text"
        )
    pad = round(min(width, height) * PADDING)
    inner_w, inner_h = width - 2 * pad, height - 2 * pad
    low = min_px(width, height)
    high = max(low, min(max_px or height, int(inner_h / LINE_HEIGHT)))
    best = _fits(text, low, inner_w, inner_h)
    if best is None:
        raise _does_not_fit(text, low, inner_w, inner_h, where or f"{width}×{height}")
    best_px = low
    while low < high:  # the largest px that fits: fitting is monotone in px
        mid = (low + high + 1) // 2
        lines = _fits(text, mid, inner_w, inner_h)
        if lines is None:
            high = mid - 1
        else:
            low, best_px, best = mid, mid, lines
    return Fit(best_px, best, width, height)


def _does_not_fit(text: str, px: int, inner_w: float, inner_h: float, where: str) -> Refusal:
    words = text.split()
    lo, hi = 0, len(words)
    while lo < hi:  # how many words would fit, to say by how much the text is too long
        mid = (lo + hi + 1) // 2
        if _fits(" ".join(words[:mid]), px, inner_w, inner_h) is not None:
            lo = mid
        else:
            hi = mid - 1
    if lo == 0:
        detail = "có một từ quá dài so với chiều ngang của vùng"
    else:
        detail = f"chỉ vừa khoảng {lo} trên {len(words)} từ"
    return Refusal(
        "text_does_not_fit",
        f"Nội dung chữ không vừa vùng hiển thị của {where} ngay cả với cỡ chữ nhỏ nhất đọc được ({px} px): "
        f"{detail}. Hãy rút ngắn nội dung hoặc chia thành nhiều trang.",
        field="text",
        details=[{"field": "text", "code": "text_does_not_fit", "where": where, "fits_words": lo}],
    )
