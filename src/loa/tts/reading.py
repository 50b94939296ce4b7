"""Reading tables and readers: digits, integers, decimals, ordinals, Roman numerals, letter names, units, months.

Shared by the normalization passes (:mod:`loa.tts.normalize`) and the written-form rules (:mod:`loa.tts.written`).
Integers are read with ``vn-numberwords``; we correct "lăm" and "tư" after the tens.
"""

from __future__ import annotations

import re

from vn_numberwords import number_to_words

DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_MAX_INT_DIGITS = 15  # beyond "nghìn tỷ" nobody says the number: read it digit by digit

# Letter names used when an unknown acronym is spelled out (the way broadcasters spell "ATM", "VTV").
LETTER_NAMES = {
    "A": "a",
    "Ă": "á",
    "Â": "ớ",
    "B": "bê",
    "C": "xê",
    "D": "dê",
    "Đ": "đê",
    "E": "e",
    "Ê": "ê",
    "F": "ép",
    "G": "giê",
    "H": "hát",
    "I": "i",
    "J": "gi",
    "K": "ca",
    "L": "e lờ",
    "M": "em",
    "N": "en",
    "O": "o",
    "Ô": "ô",
    "Ơ": "ơ",
    "P": "pê",
    "Q": "quy",
    "R": "e rờ",
    "S": "ét",
    "T": "tê",
    "U": "u",
    "Ư": "ư",
    "V": "vê",
    "W": "vê kép",
    "X": "ích",
    "Y": "i",
    "Z": "dét",
}

# Units, read after a number. Longest first when compiled. "/" between two units is read "trên".
UNITS = {
    "mm": "mi li mét",
    "cm": "xăng ti mét",
    "dm": "đề xi mét",
    "m": "mét",
    "km": "ki lô mét",
    "m2": "mét vuông",
    "m²": "mét vuông",
    "km2": "ki lô mét vuông",
    "km²": "ki lô mét vuông",
    "m3": "mét khối",
    "cm3": "xăng ti mét khối",
    "cm³": "xăng ti mét khối",
    "m³": "mét khối",
    "ha": "héc ta",
    "kg": "ki lô gam",
    "g": "gam",
    "mg": "mi li gam",
    "ml": "mi li lít",
    "l": "lít",
    "h": "giờ",
    "s": "giây",
    "ph": "phút",
    "kW": "ki lô oát",
    "kWh": "ki lô oát giờ",
    "MW": "mê ga oát",
    "W": "oát",
    "V": "vôn",
    "kV": "ki lô vôn",
    "kVA": "ki lô vôn ampe",
    "MVA": "mê ga vôn ampe",
    "MHz": "mê ga héc",
    "kHz": "ki lô héc",
    "hPa": "héc tô pát xcan",
    "mb": "mi li ba",
    "dB": "đề xi ben",
    "°C": "độ xê",
    "℃": "độ xê",
    "°": "độ",
    "%": "phần trăm",
    "mmHg": "mi li mét thủy ngân",
    "mmol/l": "mi li mon trên lít",
    "‰": "phần nghìn",
}
# Money: after a number (and "nghìn/triệu/tỷ"); "/kg" after money is read "một ki lô gam".
CURRENCIES = {"đồng": "đồng", "đ": "đồng", "VNĐ": "đồng", "VND": "đồng", "vnđ": "đồng", "USD": "đô la Mỹ"}
# Words a price can be "per".
PER_WORDS = {
    **UNITS,
    "tháng": "tháng",
    "năm": "năm",
    "ngày": "ngày",
    "người": "người",
    "hộ": "hộ",
    "con": "con",
    "lượt": "lượt",
    "tấn": "tấn",
    "lít": "lít",
    "giờ": "giờ",
    "suất": "suất",
    "khẩu": "khẩu",
    "lần": "lần",
    "buổi": "buổi",
    "tạ": "tạ",
    "sào": "sào",
    "bao": "bao",
    "chiếc": "chiếc",
    "liều": "liều",
    "viên": "viên",
    "cái": "cái",
    "bộ": "bộ",
    "bữa": "bữa",
    "ca": "ca",
    "gói": "gói",
    "chai": "chai",
    "cây": "cây",
    "quyển": "quyển",
    "học sinh": "học sinh",
    "hồ sơ": "hồ sơ",
    "m²": "mét vuông",
    "công": "công",
    "ngày đêm": "ngày đêm",
}

MONTHS = {
    1: "một",
    2: "hai",
    3: "ba",
    4: "tư",
    5: "năm",
    6: "sáu",
    7: "bảy",
    8: "tám",
    9: "chín",
    10: "mười",
    11: "mười một",
    12: "mười hai",
}

_WORD = r"[^\W\d_]"  # a letter (any script), used for "not followed by a letter"

# ---- reading numbers -----------------------------------------------------------------------------------


def read_digits(digits: str) -> str:
    """``"0912"`` → "không chín một hai"."""
    return " ".join(DIGITS[int(d)] for d in digits if d.isdigit())


def read_int(text: str) -> str:
    """An integer as written (``"1.500.000"``, ``"2025"``, ``"05"``) in words."""
    digits = text.replace(".", "")
    if len(digits) > 1 and digits.startswith("0"):
        return read_digits(digits)
    if len(digits) > _MAX_INT_DIGITS:
        return read_digits(digits)
    words = str(number_to_words(int(digits)))
    # vn-numberwords 0.2.0 says "sáu mươi năm" for 65, 75, 85, 95: after the tens a 5 is always "lăm".
    words = re.sub(r"\b(mươi|mười) năm\b", r"\1 lăm", words)
    # "hai mươi tư", "ba mươi tư nghìn": after the tens a 4 is read "tư" (vn-numberwords says "bốn").
    return re.sub(r"\bmươi bốn\b", "mươi tư", words)


def read_decimal(text: str) -> str:
    """``"98,5"`` → "chín mươi tám phẩy năm"; ``"0,05"`` → "không phẩy không năm"; ``"1.250,75"`` too."""
    whole, _, frac = text.partition(",")
    words = read_int(whole)
    if not frac:
        return words
    frac_words = read_digits(frac) if frac.startswith("0") or len(frac) > 3 else read_int(frac)
    return f"{words} phẩy {frac_words}"


def read_number(text: str) -> str:
    return read_decimal(text) if "," in text else read_int(text)


def read_ordinal(n: int) -> str:
    """After "thứ": "thứ nhất", "thứ tư", otherwise the number."""
    if n == 1:
        return "nhất"
    if n == 4:
        return "tư"
    return read_int(str(n))


_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
_ROMAN_RE = re.compile(r"^M{0,3}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3})$")


def roman_to_int(text: str) -> int | None:
    if not text or not _ROMAN_RE.match(text):
        return None
    total = 0
    for i, ch in enumerate(text):
        value = _ROMAN[ch]
        if i + 1 < len(text) and _ROMAN[text[i + 1]] > value:
            total -= value
        else:
            total += value
    return total or None
