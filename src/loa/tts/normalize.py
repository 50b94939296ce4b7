"""Vietnamese text normalization for speech: numbers, dates, times, units, phones, abbreviations to words.

``normalize_vi`` turns the written text of a notice into the text a reader would say aloud, so that a
formant or neural TTS engine (which reads ``22/5`` as "hai mươi hai năm") says "ngày hai mươi hai tháng năm".

It is a sequence of passes over the text. Each pass turns some written forms into words; a pass never
leaves digits behind for the ones it handles, so later passes cannot read the same thing twice. The order
matters: document numbers before abbreviations, phones before dates (``0203.3825.123``), dates before times
and ranges (``22-5-2025`` is a date, ``20-25`` a range), units before plain numbers.

Integers are read with ``vn-numberwords`` (it is right about "linh", "mốt", "lăm", "không trăm"); we add
"tư" for a 4 after the tens ("hai mươi tư"). Words that are not Vietnamese (``online``, ``wifi``) are read with
the dictionary bundled in ``vietnormalizer``. The rest — dates with or without "ngày", time ranges, money per
unit, phones, Roman numerals in context and the administrative abbreviation table — are our own rules,
because those are exactly where the libraries are wrong (docs/tts.md).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# the readers were defined here: re-exported for the callers that import them from this module
from loa.tts import written
from loa.tts.reading import (  # noqa: F401
    _WORD,
    CURRENCIES,
    DIGITS,
    LETTER_NAMES,
    MONTHS,
    PER_WORDS,
    UNITS,
    read_decimal,
    read_digits,
    read_int,
    read_number,
    read_ordinal,
    roman_to_int,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
ABBREVIATIONS_FILE = DATA_DIR / "abbreviations.tsv"
CONTEXT_FILE = DATA_DIR / "abbreviations_context.tsv"

# ---- the abbreviation table ----------------------------------------------------------------------------


def load_abbreviation_file(path: Path = ABBREVIATIONS_FILE) -> dict[str, str]:
    """The bundled table: ``text<TAB>reading`` lines, ``#`` comments."""
    table: dict[str, str] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            text, sep, reading = line.rstrip("\n").partition("\t")
            if sep and text.strip() and reading.strip():
                table[unicodedata.normalize("NFC", text.strip())] = unicodedata.normalize(
                    "NFC", reading.strip()
                )
    return table


@lru_cache(maxsize=1)
def bundled_abbreviations() -> dict[str, str]:
    return load_abbreviation_file()


@lru_cache(maxsize=64)
def _abbreviation_regex(keys: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    # Not inside a word; an entry may be glued to digits ("QL18") but not to letters.
    return re.compile(rf"(?<![\w.])(?:{alternatives})(?!{_WORD})")


@lru_cache(maxsize=1)
def _foreign_words() -> dict[str, str]:
    """vietnormalizer's dictionary of non-Vietnamese words (``online`` → "on lai"), hyphens read as spaces."""
    try:
        import vietnormalizer
    except ImportError:  # pragma: no cover - a declared dependency
        return {}
    path = Path(vietnormalizer.__file__).parent / "data" / "non-vietnamese-words.csv"
    words: dict[str, str] = {}
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            for row in csv.reader(fh):
                if len(row) >= 2 and row[0].strip() and row[1].strip():
                    words[row[0].strip().lower()] = row[1].strip().replace("-", " ")
    return words


def _is_vietnamese_word(word: str) -> bool:
    try:
        from vietnormalizer.detector import is_vietnamese_word
    except ImportError:  # pragma: no cover
        return True
    return bool(is_vietnamese_word(word))


# ---- the passes ----------------------------------------------------------------------------------------

_NUM = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?"
_CODE = r"[A-ZĐ][A-Za-zĐđ&]*\d*(?:-[A-ZĐ][A-Za-zĐđ&]*\d*)*"  # "QĐ-TTg", "NQ/TW", "QH15" (the 15th assembly)
_DASH = r"\s*-\s*"


def _sub(
    pattern: str | re.Pattern[str], repl: Callable[[re.Match[str]], str], text: str, flags: int = 0
) -> str:
    return re.sub(pattern, repl, text, flags=flags)


def _read_code(code: str, table: Mapping[str, str]) -> str:
    """``NĐ-CP`` → "nghị định chính phủ": the whole code from the table, else each part, else spelled."""
    if code in table:
        return table[code]
    parts = []
    for part in code.split("-"):
        letters, number = re.fullmatch(r"(.*?)(\d*)", part).groups()  # type: ignore[union-attr]
        if part in table:
            parts.append(table[part])
        elif letters in table:
            parts.append(table[letters])
        else:
            parts.append(_spell(letters))
        if number and part not in table:
            parts.append(read_int(number))
    return " ".join(parts)


def _spell(word: str) -> str:
    return " ".join(LETTER_NAMES.get(ch.upper(), ch) for ch in word if ch.isalnum())


def _document_numbers(text: str, table: Mapping[str, str]) -> str:
    """``49/2024/NĐ-CP`` → "bốn mươi chín năm hai nghìn … nghị định chính phủ"; ``135/QĐ-TTg``."""

    def full(m: re.Match[str]) -> str:
        return f" {read_int(m[1])} năm {read_int(m[2])} {_read_code(m[3], table)} "

    def short(m: re.Match[str]) -> str:
        return f" {read_int(m[1])} {_read_code(m[2], table)} "

    def dashed(m: re.Match[str]) -> str:
        return f" {read_int(m[1])} {_read_code(m[2], table)} {_read_code(m[3], table)} "

    text = _sub(rf"(?<![\d/])(\d+)-({_CODE})/({_CODE})(?!\w)", dashed, text)
    text = _sub(rf"(?<![\d/])(\d+)/(\d{{4}})/({_CODE})(?!\w)", full, text)
    return _sub(rf"(?<![\d/])(\d+)/({_CODE})(?!\w)", short, text)


@dataclass(frozen=True)
class ContextRule:
    """An abbreviation read ``reading`` when one of ``near`` is among the few words around it.

    ``BCH`` is "ban chấp hành" (of the Party, the Youth Union) but "ban chỉ huy" next to "quân sự" or "PCTT"; a rule
    that does not match leaves the abbreviation to the plain table.
    """

    text: str
    reading: str
    near: tuple[str, ...]


CONTEXT_WINDOW_WORDS = 4  # how many words before and after an abbreviation its context rules look at


def load_context_file(path: Path = CONTEXT_FILE) -> list[ContextRule]:
    """The bundled context rules: ``text<TAB>reading<TAB>word, word, …`` lines, ``#`` comments."""
    rules = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            cells = [unicodedata.normalize("NFC", c.strip()) for c in line.rstrip("\n").split("\t")]
            if len(cells) >= 3 and all(cells[:3]):
                near = tuple(w.strip() for w in cells[2].split(",") if w.strip())
                rules.append(ContextRule(cells[0], cells[1], near))
    return rules


@lru_cache(maxsize=1)
def bundled_context_rules() -> tuple[ContextRule, ...]:
    return tuple(load_context_file())


@lru_cache(maxsize=256)
def _near_regex(near: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w) for w in sorted(near, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _window(text: str, start: int, end: int) -> str:
    before = text[max(0, start - 80) : start].split()[-CONTEXT_WINDOW_WORDS:]
    after = text[end : end + 80].split()[:CONTEXT_WINDOW_WORDS]
    return " ".join([*before, "|", *after])


def _context(text: str, rules: Sequence[ContextRule]) -> str:
    """Apply context rules in order: the first rule whose words are near an abbreviation gives its reading."""
    by_text: dict[str, list[ContextRule]] = {}
    for rule in rules:
        by_text.setdefault(rule.text, []).append(rule)
    if not by_text:
        return text
    regex = _abbreviation_regex(tuple(by_text))

    def read(m: re.Match[str]) -> str:
        window = _window(m.string, m.start(), m.end())
        for rule in by_text[m[0]]:
            if _near_regex(rule.near).search(window):
                return f" {rule.reading} "
        return m[0]

    return regex.sub(read, text)


# Abbreviations written glued to the number they name ("QL18", "ĐT337", "KP3"); any other glued to digits is a code
# ("TB1", "A2") and is spelled, not expanded.
NUMBER_PREFIXES = frozenset({"QL", "ĐT", "TL", "ĐH", "HL", "KP", "TDP", "P", "Q", "BĐ", "QH"})


def _abbreviations(text: str, table: Mapping[str, str]) -> str:
    if not table:
        return text
    regex = _abbreviation_regex(tuple(table))

    def expand(m: re.Match[str]) -> str:
        glued = m.end() < len(m.string) and m.string[m.end()].isdigit()
        if glued and m[0] not in NUMBER_PREFIXES:
            return m[0]
        return f" {table[m[0]]} "

    return regex.sub(expand, text)


_HOTLINE = r"11[1-5]|1022|1[89]00[ .]?\d{4}|1[89]00[ .]?\d{2}[ .]?\d{2}"
_AFTER_HOTLINE = {"hoặc", "và", "để", "khi", "nếu", "miễn", "ngay", "trong", "của", "hay", "được", "khẩn"}
_PHONE_CONTEXT = re.compile(
    r"(?i:gọi|tổng đài|đường dây|hotline|điện thoại|đt|sđt|liên hệ|liên lạc|báo|số khẩn cấp|khẩn cấp|"
    r"cấp cứu|cứu hỏa|cứu nạn|công an|số khẩn|số máy)[^.;\n]{0,60}$"
)


def _phones(text: str) -> str:
    def mobile(m: re.Match[str]) -> str:
        raw = m[0]
        digits = re.sub(r"\D", "", raw)
        if raw.startswith("+84"):
            return f" cộng tám bốn {read_digits(digits[2:])} "
        if not 10 <= len(digits) <= 11:
            return raw
        return f" {read_digits(digits)} "

    text = _sub(r"(?<![\d.,])(?:\+84[ .]?|0)\d{2,4}(?:[ .]?\d{2,4}){1,3}(?![\d]|[.,]\d)", mobile, text)

    def hotlines(m: re.Match[str]) -> str:
        before = text[max(0, m.start() - 70) : m.start()]
        after = re.match(rf"\s*({_WORD}+)", text[m.end() :])
        near = _PHONE_CONTEXT.search(before[-20:])
        if not near and after and after[1].lower() not in _AFTER_HOTLINE:
            return m[0]  # "115 hộ dân": a count, not a number to call
        if not near and not _PHONE_CONTEXT.search(before) and not re.match(r"1[89]00", m[0]):
            return m[0]
        return _sub(rf"{_HOTLINE}", lambda h: read_digits(h[0]), m[0])

    return _sub(
        rf"(?<![\d.,])(?:{_HOTLINE})(?:\s*(?:,|và|hoặc|/)\s*(?:{_HOTLINE}))*(?![\d%]|[.,]\d)",
        hotlines,
        text,
    )


_DAY_BEFORE = re.compile(r"(?<![\d/.,:])\d{1,2}\s*(?:,|và|đến|hoặc|tới)\s*$")


def _valid_date(d: int, m: int) -> bool:
    return 1 <= d <= 31 and 1 <= m <= 12


def _dates(text: str) -> str:
    """Dates, with or without "ngày" before them (never "ngày ngày"), day ranges and month/year."""
    ngay = r"(?:(?P<ngay>(?i:ngày|mùng|hôm))\s+)?"

    def prefix(m: re.Match[str]) -> str:
        if m["ngay"]:
            return f"{m['ngay']} "
        # "các ngày 22 và 23/5", "từ 16 đến 17/6": the second day of a list shares the month and gets no "ngày"
        # of its own (a reader says "hai mươi hai và hai mươi ba tháng năm")
        if _DAY_BEFORE.search(m.string, 0, m.start()):
            return ""
        return "ngày "

    def year_part(y: str | None) -> str:
        return f" năm {read_int(y)}" if y else ""

    # 20/5 - 25/5/2025, 20/5-25/5
    def date_range(m: re.Match[str]) -> str:
        d1, m1, y1, d2, m2, y2 = (m[i] for i in ("d1", "m1", "y1", "d2", "m2", "y2"))
        if not (_valid_date(int(d1), int(m1)) and _valid_date(int(d2), int(m2))):
            return m[0]
        return (
            f" {prefix(m)}{read_int(str(int(d1)))} tháng {MONTHS[int(m1)]}{year_part(y1)} đến ngày "
            f"{read_int(str(int(d2)))} tháng {MONTHS[int(m2)]}{year_part(y2)} "
        )

    text = _sub(
        rf"{ngay}(?<!\d)(?P<d1>\d{{1,2}})/(?P<m1>\d{{1,2}})(?:/(?P<y1>\d{{4}}))?{_DASH}"
        rf"(?P<d2>\d{{1,2}})/(?P<m2>\d{{1,2}})(?:/(?P<y2>\d{{4}}))?(?![\d/])",
        date_range,
        text,
    )

    # 20-22/5, ngày 20-22/5/2025, 20 - 22.5.2025
    def day_range(m: re.Match[str]) -> str:
        d1, d2, mo, y = int(m["d1"]), int(m["d2"]), int(m["m"]), m["y"]
        if not (_valid_date(d1, mo) and _valid_date(d2, mo)) or d1 >= d2:
            return m[0]
        return f" {prefix(m)}{read_int(str(d1))} đến {read_int(str(d2))} tháng {MONTHS[mo]}{year_part(y)} "

    text = _sub(
        rf"{ngay}(?<!\d)(?P<d1>\d{{1,2}}){_DASH}(?P<d2>\d{{1,2}})/(?P<m>\d{{1,2}})(?:/(?P<y>\d{{4}}))?(?![\d/])",
        day_range,
        text,
    )

    # 22/5/2025, 22-5-2025, 22.5.2025, 01/7/2025
    def full(m: re.Match[str]) -> str:
        d, mo = int(m["d"]), int(m["m"])
        if not _valid_date(d, mo):
            return m[0]
        return f" {prefix(m)}{read_int(str(d))} tháng {MONTHS[mo]} năm {read_int(m['y'])} "

    text = _sub(
        rf"{ngay}(?<![\d.,/])(?P<d>\d{{1,2}})(?P<sep>[/.-])(?P<m>\d{{1,2}})(?P=sep)(?P<y>\d{{4}})(?!\d)",
        full,
        text,
    )

    # tháng 7/2025, 7/2025
    def month_year(m: re.Match[str]) -> str:
        mo = int(m["m"])
        if not 1 <= mo <= 12:
            return m[0]
        return f" {m['thang'] or 'tháng'} {MONTHS[mo]} năm {read_int(m['y'])} "

    text = _sub(
        r"(?:(?P<thang>(?i:tháng))\s+)?(?<![\d.,/])(?P<m>\d{1,2})/(?P<y>\d{4})(?![\d/])", month_year, text
    )

    # 22/5, ngày 22/5
    def day_month(m: re.Match[str]) -> str:
        d, mo = int(m["d"]), int(m["m"])
        if not _valid_date(d, mo):
            return m[0]
        return f" {prefix(m)}{read_int(str(d))} tháng {MONTHS[mo]} "

    text = _sub(rf"{ngay}(?<![\d.,/])(?P<d>\d{{1,2}})/(?P<m>\d{{1,2}})(?![\d/]|[.,]\d)", day_month, text)

    # tháng 7, tháng 4 → "tháng tư"
    def month(m: re.Match[str]) -> str:
        mo = int(m[2])
        return f"{m[1]} {MONTHS[mo]}" if 1 <= mo <= 12 else m[0]

    return _sub(r"\b((?i:tháng))\s+(\d{1,2})(?![\d,.]\d|\s*(?:-|đến)\s*\d)(?!\d)", month, text)


_TIME = r"(?P<{0}h>\d{{1,2}})(?:(?:h|g|giờ)(?P<{0}m>\d{{2}})?|:(?P<{0}c>\d{{2}}))"


def _read_time(h: str, mins: str | None) -> str | None:
    hour, minute = int(h), int(mins or 0)
    if hour > 24 or minute > 59:
        return None
    words = f"{read_int(str(hour))} giờ"
    if minute:
        words += f" {read_int(str(minute))} phút"
    return words


def _times(text: str) -> str:
    def time_range(m: re.Match[str]) -> str:
        a = _read_time(m["ah"], m["am"] or m["ac"])
        b = _read_time(m["bh"], m["bm"] or m["bc"])
        if a is None or b is None:
            return m[0]
        return f" {a} đến {b} "

    text = _sub(rf"(?<![\d.,:]){_TIME.format('a')}{_DASH}{_TIME.format('b')}(?!{_WORD}|\d)", time_range, text)

    # 7-11h → "bảy đến mười một giờ"
    def bare_range(m: re.Match[str]) -> str:
        if int(m[1]) > 24 or int(m[2]) > 24:
            return m[0]
        return f" {read_int(str(int(m[1])))} đến {read_int(str(int(m[2])))} giờ "

    text = _sub(rf"(?<![\d.,:])(\d{{1,2}}){_DASH}(\d{{1,2}})h(?!{_WORD}|\d)", bare_range, text)

    def one(m: re.Match[str]) -> str:
        words = _read_time(m["th"], m["tm"] or m["tc"])
        return m[0] if words is None else f" {words} "

    text = _sub(rf"(?<![\d.,:]){_TIME.format('t')}(?!{_WORD}|\d|:\d)", one, text)
    # "14 giờ 30" → minutes after "giờ" are minutes; plain number pass reads them.
    return text


def _roman_and_ordinals(text: str) -> str:
    keywords = (
        r"khóa|khoá|thế kỷ|thế kỉ|quý|đại hội|kỳ|kì|phần|chương|mục|tập|lần thứ|thứ|lần|"
        r"hội nghị|phiên|giai đoạn|cấp độ|cấp|vòng|báo động"
    )

    def roman(m: re.Match[str]) -> str:
        n = roman_to_int(m[2])
        if n is None:
            return m[0]
        word = read_ordinal(n) if m[1].lower().endswith("thứ") else read_int(str(n))
        year = f" năm {read_int(m[3])}" if m[3] else ""
        return f"{m[1]} {word}{year}"

    text = _sub(rf"\b((?i:{keywords}))\s+([IVXLCDM]+)(?:/(\d{{4}}))?(?!\w)", roman, text)

    # quý 3/2025 → "quý ba năm …" (not a month)
    text = _sub(
        r"\b((?i:quý))\s+(\d)/(\d{4})(?!\d)", lambda m: f"{m[1]} {read_int(m[2])} năm {read_int(m[3])}", text
    )

    def ordinal(m: re.Match[str]) -> str:
        return f"{m[1]} {read_ordinal(int(m[2]))}"

    return _sub(r"\b((?i:thứ))\s+(\d{1,3})(?![\d,.]\d|\s*-\s*\d)(?!\d)", ordinal, text)


def _alternatives(words: Mapping[str, str]) -> str:
    return "|".join(re.escape(k) for k in sorted(words, key=len, reverse=True))


_UNIT_ALT = _alternatives(UNITS)
_PER_ALT = _alternatives(PER_WORDS)
_CUR_ALT = _alternatives(CURRENCIES)
_MAGNITUDE = r"nghìn|ngàn|triệu|tỷ|tỉ|trăm"
_QTY = rf"(?P<a>{_NUM})(?:{_DASH}(?P<b>{_NUM}))?"


def _read_qty(m: re.Match[str]) -> str:
    a = read_number(m["a"])
    return f"{a} đến {read_number(m['b'])}" if m["b"] else a


def _per(chain: str | None, joiner: str) -> str:
    if not chain:
        return ""
    parts = [p.strip() for p in chain.split("/") if p.strip()]
    return "".join(f" {joiner} {PER_WORDS.get(p) or CURRENCIES.get(p) or p}" for p in parts)


def _quantities(text: str) -> str:
    """Money (with "/kg" read "một ki lô gam"), percentages, degrees and units after a number or a range."""

    def money(m: re.Match[str]) -> str:
        magnitude = f" {m['mag']}" if m["mag"] else ""
        return f" {_read_qty(m)}{magnitude} {CURRENCIES[m['cur']]}{_per(m['per'], 'một')} "

    text = _sub(
        rf"(?<![\d.,]){_QTY}(?:\s*(?P<mag>{_MAGNITUDE}))?\s*(?P<cur>{_CUR_ALT})"
        rf"(?P<per>(?:\s*/\s*(?:{_PER_ALT}|{_CUR_ALT}|{_WORD}+))*)(?!{_WORD}|\d)",
        money,
        text,
    )
    # "… triệu đồng" where the number is already words (29 tỷ đồng is fine as is); "đ" after a magnitude word.
    text = _sub(rf"\b({_MAGNITUDE})\s*(?:đ|VNĐ|VND|vnđ)(?!{_WORD})", lambda m: f"{m[1]} đồng", text)

    def unit(m: re.Match[str]) -> str:
        # a unit per unit is "trên" ("kg/ha", "m3/s", "km/h"); per anything else "một" ("6,6%/năm", "m2/hộ")
        per = "".join(
            _per(f"/{p}", "trên" if p.strip() in UNITS and m["unit"] != "%" else "một")
            for p in (m["per"] or "").split("/")
            if p.strip()
        )
        return f" {_read_qty(m)} {UNITS[m['unit']]}{per} "

    text = _sub(
        rf"(?<![\d.,]){_QTY}\s?(?P<unit>{_UNIT_ALT})(?P<per>(?:/(?:{_PER_ALT}|ngày đêm))*)(?!{_WORD}|\d|²|³)",
        unit,
        text,
    )
    # road markers: "Km 5" → "ki lô mét năm"
    text = _sub(r"(?<!\w)[Kk]m\s*(?=\d)", lambda m: "ki lô mét ", text)
    # "35 độ C" → "độ xê"
    return _sub(r"\bđộ\s*C\b", lambda m: "độ xê", text)


def _numbers(text: str) -> str:
    def number_range(m: re.Match[str]) -> str:
        return f" {read_number(m[1])} đến {read_number(m[2])} "

    text = _sub(rf"(?<![\d.,/-])({_NUM}){_DASH}({_NUM})(?![\d/]|[.,]\d)", number_range, text)
    return _sub(rf"(?<![\d.,])({_NUM})(?![\d]|[.,]\d)", lambda m: f" {read_number(m[1])} ", text)


def _foreign(text: str) -> str:
    words = _foreign_words()

    def word(m: re.Match[str]) -> str:
        w = m[0]
        reading = words.get(w.lower())
        if reading is None or _is_vietnamese_word(w):
            return w
        return reading

    return _sub(r"(?<![\w-])[A-Za-z]{2,}(?![\w-])", word, text)


def _unknown_acronyms(text: str) -> str:
    def spell(m: re.Match[str]) -> str:
        token = m[0]
        if roman_to_int(token) is not None:
            return token
        return f" {_spell(token)} "

    # a code of letters and digits ("TB1", "A2"): letters spelled, digits one by one
    text = _sub(
        r"(?<![\w])([A-ZĐ]{1,6})(\d{1,4})(?![\w])", lambda m: f" {_spell(m[1])} {read_digits(m[2])} ", text
    )
    return _sub(r"(?<![\w])[A-ZĐ]{2,6}(?![\w])", spell, text)


def _symbols(text: str) -> str:
    text = text.replace("&", " và ")
    text = re.sub(r"(?<=\S)\s*\+\s*(?=\S)", " cộng ", text)
    # "nước sạch/ngày" → "một ngày"; "24/24 giờ" → "hai mươi tư trên hai mươi tư giờ"
    text = re.sub(r"(?<=\w)\s*/\s*(?=(?:ngày|tháng|năm|tuần|người|hộ|giờ|lượt|lần)\b)", " một ", text)
    text = re.sub(r"(?<=\w)\s*/\s*(?=\w)", " trên ", text)
    return text


def _cleanup(text: str) -> str:
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" +([,.;:!?)\]…])", r"\1", text)
    text = re.sub(r"([(\[]) +", r"\1", text)
    text = re.sub(r"\b((?i:ngày))\s+ngày\b", r"\1", text)
    text = re.sub(r"\b((?i:tháng))\s+tháng\b", r"\1", text)
    text = re.sub(r" *\n *", "\n", text)
    return text.strip()


def prepare(text: str) -> str:
    """NFC, one kind of space and of dash, no zero-width characters."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\u00a0", " ").replace("\u202f", " ").replace("\u200b", "").replace("\ufeff", "")
    text = re.sub(r"[–—−‐‑]", "-", text)
    return re.sub(r"[ \t]+", " ", text)


def normalize_vi(
    text: str,
    extra_abbreviations: Mapping[str, str] | None = None,
    context_rules: Sequence[ContextRule] | None = None,
) -> str:
    """The text a Vietnamese reader would say aloud for ``text`` (NFC, diacritics kept).

    ``extra_abbreviations`` (``{"text": "reading"}``) extend and override the bundled table; ``context_rules`` are
    tried before the bundled ones (an abbreviation whose reading depends on the words around it). The service layer
    passes the entries editors keep for their unit and the units above it (:func:`loa.tts.services.reading_tables`).
    """
    table = dict(bundled_abbreviations())
    if extra_abbreviations:
        table.update(
            {
                unicodedata.normalize("NFC", k): unicodedata.normalize("NFC", v)
                for k, v in extra_abbreviations.items()
                if k and v
            }
        )
    rules = [*(context_rules or ()), *bundled_context_rules()]
    text = written.tilde_ranges(prepare(text))
    text = written.web_addresses(text)
    text = written.plates(text)
    text = written.id_numbers(text)
    text = _document_numbers(text, table)
    text = written.context_abbreviations(text)
    text = _context(text, rules)
    text = _abbreviations(text, table)
    text = written.word_slashes(text)  # before numbers become words: "24/24" is not "tư/hai"
    text = _phones(text)
    text = _roman_and_ordinals(text)
    text = written.house_numbers(text)
    text = written.counts_out_of(text)
    text = written.lunar_dates(text)
    text = _dates(text)
    text = _times(text)
    text = _quantities(text)
    text = _numbers(text)
    text = _foreign(text)
    text = _unknown_acronyms(text)
    text = _symbols(text)
    return unicodedata.normalize("NFC", _cleanup(text))
