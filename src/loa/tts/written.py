"""Written forms that a reader says differently from the way they are written (issue 22).

Each rule reads one kind of written form by its context, not by its digits alone:

- vehicle plates (``51G-678.90``): the province code as a number, the series letter by letter, the rest digit by digit;
- web and e-mail addresses: dots read "chấm", ``@`` "a còng", known words of a domain as words;
- a slash between numbers that is not a date: a house number (``số 45/2`` → "bốn mươi lăm xuyệt hai"), a count out of
  a total (``3/5 thôn`` → "ba trên năm thôn"); a date keeps its reading after "ngày", "sáng", "từ" …;
- a slash between words: alternatives (``anh/chị`` → "anh hoặc chị"), a unit after a slash (``tạ/ha`` → "tạ trên héc ta");
- abbreviations read by what follows them: ``BĐ2`` (báo động), ``KP 3`` (khu phố), ``Q.1``/``P.5`` (quận, phường),
  ``P.201`` (phòng);
- ``~`` between numbers as a range; a day-month with a hyphen before "âm lịch" as a lunar date.

Every function takes text and returns text; :func:`loa.tts.normalize.normalize_vi` calls them in its pass order.
"""

from __future__ import annotations

import re

from loa.tts.reading import (
    _WORD,
    CURRENCIES,
    DIGITS,
    LETTER_NAMES,
    MONTHS,
    PER_WORDS,
    UNITS,
    read_digits,
    read_int,
)

# ---- web and e-mail addresses --------------------------------------------------------------------------

# Words of a domain or a mailbox a reader says as words; anything else is read by syllables or spelled.
WEB_WORDS = {
    "www": "vê kép vê kép vê kép",
    "vn": "vê en",
    "com": "com",
    "net": "nét",
    "org": "o rờ gờ",
    "gov": "gốp",
    "edu": "e đu",
    "info": "in phô",
    "io": "i o",
    "gmail": "gờ meo",
    "mail": "meo",
    "email": "i meo",
    "yahoo": "da hu",
    "outlook": "ao lúc",
    "hotmail": "hót meo",
    "facebook": "phây búc",
    "fb": "ép bê",
    "zalo": "da lô",
    "youtube": "diu túp",
    "google": "gu gồ",
    "chinhphu": "chính phủ",
    "baochinhphu": "báo chính phủ",
    "dichvucong": "dịch vụ công",
    "vneid": "vê en ê ai đi",
    "thuvienphapluat": "thư viện pháp luật",
    "baohiemxahoi": "bảo hiểm xã hội",
    "tiemchung": "tiêm chủng",
    "suckhoe": "sức khỏe",
    "moh": "em o hát",
    "mic": "em i xê",
    "mard": "em a e rờ đê",
    "nchmf": "en xê hát em ép",
    "kttv": "ca tê tê vê",
    "ubnd": "u bê en đê",
    "tinhuy": "tỉnh ủy",
    "congan": "công an",
    "thue": "thuế",
    "gdt": "giê đê tê",
    "phongchongthientai": "phòng chống thiên tai",
    "thoitiet": "thời tiết",
    "tintuc": "tin tức",
    "lienhe": "liên hệ",
    "hotro": "hỗ trợ",
    "home": "hôm",
    "index": "in đéc",
    "html": "hát tê em e lờ",
    "php": "pê hát pê",
    "admin": "át min",
    "support": "xờ po",
    "contact": "con tắc",
    "news": "niu",
    # mailbox names government offices use
    "hoidap": "hỏi đáp",
    "tiepdan": "tiếp dân",
    "phananh": "phản ánh",
    "gopy": "góp ý",
    "vanthu": "văn thư",
    "tiepnhan": "tiếp nhận",
    "motcua": "một cửa",
}

_ONSET = r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|[bcdghklmnprstvx])?"
_VOWELS = r"(?:[aeiouy]{1,3})"
_CODA = r"(?:ng|nh|ch|[cmnpt])?"
_SYLLABLE = re.compile(rf"{_ONSET}{_VOWELS}{_CODA}")
_SEPARATORS = {
    ".": "chấm",
    "@": "a còng",
    "/": "gạch chéo",
    "-": "gạch ngang",
    "_": "gạch dưới",
    ":": "hai chấm",
}
_TLD = r"(?:vn|com|net|org|gov|edu|info|io)"
_HOST = rf"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+{_TLD}(?![a-z0-9])"
_EMAIL = re.compile(rf"(?<![\w.+-])[a-z0-9](?:[a-z0-9._+-]*[a-z0-9])?@{_HOST}", re.IGNORECASE)
_URL = re.compile(rf"(?<![\w@./-])(?:https?://)?{_HOST}(?:/[\w\-./%?=&#~]*[\w/=])?(?![\w@])", re.IGNORECASE)


def _syllables(word: str) -> list[str] | None:
    """``"quangninh"`` → ``["quang", "ninh"]``: a word of unaccented Vietnamese syllables, or None."""
    best: list[list[str] | None] = [None] * (len(word) + 1)
    best[0] = []
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 7), end):
            head = best[start]
            if head is not None and _SYLLABLE.fullmatch(word, start, end):
                candidate = [*head, word[start:end]]
                if best[end] is None or len(candidate) < len(best[end] or []):
                    best[end] = candidate
    return best[len(word)]


def _read_web_part(part: str) -> str:
    lower = part.lower()
    if lower in WEB_WORDS:
        return WEB_WORDS[lower]
    if lower.isdigit():
        return read_digits(lower) if len(lower) > 2 else read_int(lower)
    pieces = re.findall(r"[a-z]+|\d+", lower)
    if len(pieces) > 1:
        return " ".join(_read_web_part(p) for p in pieces)
    syllables = _syllables(lower)
    if syllables:  # "halong" → "ha long", "tin" → "tin": read as the syllables they are
        return " ".join(syllables)
    return " ".join(LETTER_NAMES.get(ch.upper(), ch) for ch in lower)


def read_address(address: str) -> str:
    """``"ubnd@quangninh.gov.vn"`` → "u bê en đê a còng quang ninh chấm gốp chấm vê en"."""
    address = re.sub(r"^https?://", "", address, flags=re.IGNORECASE)
    words = []
    for token in re.split(r"([.@/_:-])", address.rstrip("/")):
        if not token:
            continue
        words.append(_SEPARATORS[token] if token in _SEPARATORS else _read_web_part(token))
    return " ".join(words)


def web_addresses(text: str) -> str:
    text = _EMAIL.sub(lambda m: f" {read_address(m[0])} ", text)
    return _URL.sub(lambda m: f" {read_address(m[0])} ", text)


# ---- vehicle plates ------------------------------------------------------------------------------------

_PLATE = re.compile(
    r"(?<![\w.,/-])(?P<province>\d{2})\s?-?\s?(?P<series>[A-ZĐ]{1,2})(?P<series_digit>\d?)"
    r"\s?[-\s]\s?(?P<number>\d{3}\.\d{2}|\d{4,5})(?![\w]|[.,]\d)"
)


_VESSEL = re.compile(
    r"(?<![\w-])(?P<province>[A-ZĐ]{2,3})-(?P<number>\d{4,5})-(?P<kind>TS|KT|ĐL|BV)(?![\w-])"
)


def plates(text: str) -> str:
    """``51G-678.90`` → "năm mươi mốt giê sáu bảy tám chín không" (``29A1-123.45``, ``30E-12345`` too)."""

    def plate(m: re.Match[str]) -> str:
        series = " ".join(LETTER_NAMES.get(ch, ch) for ch in m["series"])
        if m["series_digit"]:
            series += f" {DIGITS[int(m['series_digit'])]}"
        return f" {read_int(m['province'])} {series} {read_digits(m['number'])} "

    def vessel(m: re.Match[str]) -> str:  # a fishing vessel's registration: QN-90123-TS
        province = " ".join(LETTER_NAMES.get(ch, ch) for ch in m["province"])
        kind = " ".join(LETTER_NAMES.get(ch, ch) for ch in m["kind"])
        return f" {province} {read_digits(m['number'])} {kind} "

    text = _VESSEL.sub(vessel, text)
    return _PLATE.sub(plate, text)


# ---- numbers that are names, not amounts ----------------------------------------------------------------

_ID_NUMBER = re.compile(
    r"\b(?P<word>(?i:số|mã số|mã))\s+(?P<n>\d{1,3}(?:\.\d{3}){3,})(?!\d|[.,]\d|\s*(?:đồng|đ\b|VNĐ|VND|USD|triệu|tỷ))"
)
_HEIGHT = re.compile(r"(?<![\d.,])(?P<m>\d)m(?P<cm>\d{2})(?!\w)")


def id_numbers(text: str) -> str:
    """``số 220.123.456.789`` (a licence, an account) → digit by digit; ``1m45`` (a height) → "một mét bốn mươi lăm"."""
    text = _ID_NUMBER.sub(lambda m: f"{m['word']} {read_digits(m['n'])}", text)
    return _HEIGHT.sub(lambda m: f" {read_int(m['m'])} mét {read_int(m['cm'])}", text)


# ---- a slash between numbers that is not a date --------------------------------------------------------

_HOUSE = re.compile(
    r"(?<!(?i:tỷ) )(?<!(?i:tỉ) )\b(?P<word>(?i:số nhà|số|nhà|hẻm|ngõ|ngách|kiệt|kiốt|ki-ốt|lô|căn hộ))\s+"
    r"(?P<a>\d{1,4}[A-Z]?)/(?P<b>\d{1,3}[A-Z]?)(?:/(?P<c>\d{1,3}[A-Z]?))?(?![\d/]|[.,]\d)"
)

# Nouns a count out of a total is said of: "3/5 thôn", "45/50 hộ", "đạt 17/19 tiêu chí".
COUNTED = (
    "thôn|xóm|bản|ấp|làng|tổ|khu|khu phố|tổ dân phố|xã|phường|thị trấn|huyện|hộ|người|nhân khẩu|em|cháu|học sinh|"
    "trường|lớp|điểm|cụm|cụm loa|loa|trạm|thiết bị|bảng tin|đơn vị|cơ quan|cơ sở|hồ sơ|tiêu chí|chỉ tiêu|phòng|"
    "doanh nghiệp|hợp tác xã|chi bộ|đoàn viên|hội viên|đảng viên|cử tri|lượt|ca|mẫu|con|tuyến|km|công trình|dự án|"
    "nội dung|câu|phiếu|thành viên|xe|tàu|thuyền|chiếc|"
    # fractions: "2/3 số hộ", "uống 1/2 viên", "1/3 diện tích"
    "số|viên|diện tích|dân số|tổng số|cốc|chén|lượng|quãng đường|thời gian|gói"
)
_DATE_BEFORE = re.compile(
    r"(?i:ngày|mùng|hôm|sáng|chiều|trưa|tối|đêm|rạng sáng|từ|đến|tới|trước|sau|hạn|thứ \w+|chủ nhật)\s*$"
)
_COUNT = re.compile(
    rf"(?<![\d/.,])(?P<a>\d{{1,4}})/(?P<b>\d{{1,4}})(?![\d/]|[.,]\d)(?=\s+(?:{COUNTED})(?!{_WORD}))"
)


def _part(text: str) -> str:
    digits, letter = re.match(r"(\d+)([A-Z]?)", text).groups()  # type: ignore[union-attr]
    return read_int(digits) + (f" {LETTER_NAMES.get(letter, letter)}" if letter else "")


def house_numbers(text: str) -> str:
    """``số 45/2`` → "số bốn mươi lăm xuyệt hai": after a word that introduces an address, a slash is "xuyệt"."""

    def house(m: re.Match[str]) -> str:
        parts = [_part(p) for p in (m["a"], m["b"], m["c"]) if p]
        return f"{m['word']} {' xuyệt '.join(parts)}"

    return _HOUSE.sub(house, text)


_RATIO = re.compile(
    r"\b(?P<word>(?i:tỷ số|tỉ số|tỷ lệ|tỉ lệ)(?:\s+(?i:bản đồ|xích))?)\s+(?P<a>\d{1,4})/(?P<b>\d{1,3}(?:\.\d{3})+|\d{1,6})(?![\d/]|[.,]\d)"
)


def counts_out_of(text: str) -> str:
    """``3/5 thôn`` → "ba trên năm thôn", unless a date word comes before (``sáng 3/5 thôn A …`` is a date);
    ``tỷ số 2/1`` → "tỷ số hai trên một"."""

    def count(m: re.Match[str]) -> str:
        if _DATE_BEFORE.search(m.string, max(0, m.start() - 20), m.start()):
            return m[0]
        return f" {read_int(m['a'])} trên {read_int(m['b'])}"

    text = _RATIO.sub(lambda m: f"{m['word']} {read_int(m['a'])} trên {read_int(m['b'])}", text)
    # round the clock: "trực 24/7" (a date only after a date word: "ngày 24/7")
    text = re.sub(
        r"(?<![\d/.,])24/7(?![\d/]|[.,]\d)",
        lambda m: (
            m[0]
            if _DATE_BEFORE.search(m.string, max(0, m.start() - 20), m.start())
            else " hai mươi tư trên bảy"
        ),
        text,
    )
    # influenza strains: "cúm A/H5N1" is "A H năm N một"
    text = re.sub(r"(?<![\w/])([AB])/(H\d+N\d+)(?!\w)", r"\1 \2", text)
    return _COUNT.sub(count, text)


# ---- dates and ranges written in other ways ------------------------------------------------------------

_LUNAR = re.compile(
    r"(?:(?P<ngay>(?i:ngày|mùng|rằm))\s+)?(?<![\d/.,-])(?P<d>\d{1,2})\s?[-/]\s?(?P<m>\d{1,2})"
    r"(?=\s*(?:(?i:âm lịch)|ÂL\b|\(ÂL\)|\(âm lịch\)))"
)
# In the lunar calendar the first month is "tháng Giêng" and the last "tháng Chạp".
LUNAR_MONTHS = {**MONTHS, 1: "giêng", 12: "chạp"}


def lunar_dates(text: str) -> str:
    """``15-8 âm lịch`` → "ngày mười lăm tháng tám âm lịch" (a lunar date, not a range); ``15/1 ÂL`` → "… tháng
    giêng …"."""

    def lunar(m: re.Match[str]) -> str:
        d, mo = int(m["d"]), int(m["m"])
        if not (1 <= d <= 30 and 1 <= mo <= 12):
            return m[0]
        return f"{m['ngay'] or 'ngày'} {read_int(str(d))} tháng {LUNAR_MONTHS[mo]}"

    return _LUNAR.sub(lunar, text)


def tilde_ranges(text: str) -> str:
    """``18~22`` is a range: written as ``18-22`` for the passes that read ranges; so is a road section between two
    markers (``Km 45+200 - Km 47`` → "… đến ki lô mét bốn mươi bảy")."""
    text = re.sub(r"(?<=\d)\s*~\s*(?=\d)", "-", text)
    return re.sub(r"((?<!\w)[Kk]m\s*\d+(?:\+\d+)?)\s*-\s*(?=[Kk]m\s*\d)", r"\1 đến ", text)


# ---- abbreviations read by what follows them -----------------------------------------------------------


_WEEKDAYS = {"2": "hai", "3": "ba", "4": "tư", "5": "năm", "6": "sáu", "7": "bảy"}


def context_abbreviations(text: str) -> str:
    # flood alarm levels: "trên BĐ2", "BĐ III", "BĐ3" → "báo động …" (the Roman pass reads III after "báo động")
    text = re.sub(r"(?<!\w)BĐ\s*(?=\d|[IV]{1,3}(?![\w]))", "báo động ", text)
    # "ĐT: 0912 …" → "điện thoại" before a phone number (elsewhere ĐT is "đường tỉnh" or read by context)
    text = re.sub(r"(?<!\w)ĐT\s*:\s*(?=\+?\d)", "điện thoại: ", text)
    # "SN 1965" (sinh năm) before a year
    text = re.sub(r"(?<!\w)SN\s*:?\s*(?=(?:19|20)\d\d(?!\d))", "sinh năm ", text)
    # "BĐ1-BĐ2": from one alarm level to the next
    text = re.sub(r"(báo động \d)\s*-\s*(?=BĐ|báo động)", r"\1 đến ", text)
    text = re.sub(r"(?<!\w)BĐ\s*(?=\d)", "báo động ", text)
    # weekdays in opening hours: "T2-T6" → "thứ hai đến thứ sáu", "T2-CN" → "… đến chủ nhật"
    text = re.sub(
        r"(?<!\w)T([2-7])\s*-\s*(?:T([2-7])|(CN))(?!\w)",
        lambda m: f"thứ {_WEEKDAYS[m[1]]} đến " + (f"thứ {_WEEKDAYS[m[2]]}" if m[2] else "chủ nhật"),
        text,
    )
    # "KP 3", "KP.3" → "khu phố" before a number (elsewhere KP may be "kinh phí")
    text = re.sub(r"(?<!\w)KP\.?\s*(?=\d)", "khu phố ", text)
    # "Q.1", "Q. 3" → "quận"; "P.5" → "phường"; "P.201" (three or four digits) → "phòng"
    text = re.sub(r"(?<![\w.])Q\.\s*(?=\d)", "quận ", text)
    text = re.sub(r"(?<![\w.])P\.\s*(?=\d{1,2}(?!\d))", "phường ", text)
    return re.sub(r"(?<![\w.])P\.\s*(?=\d{3,4}(?!\d))", "phòng ", text)


# ---- a slash between words ----------------------------------------------------------------------------

# After a slash these words say "per" and are read "một …" by the symbol pass ("nước sạch/ngày" → "một ngày").
_PER_TIME = {"ngày", "tháng", "năm", "tuần", "người", "hộ", "giờ", "lượt", "lần"}
# Words that measure: before a slash they make it "per" ("phút/tiết mục", "lượt/ngày").
_MEASURES = {
    "phút",
    "giây",
    "giờ",
    "ngày",
    "tuần",
    "tháng",
    "năm",
    "lần",
    "lượt",
    "buổi",
    "đợt",
    "ca",
    "suất",
    "xuất",
}
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True) if u[0].isalpha())
_WORD_SLASH = re.compile(
    rf"(?<![\w/])(?P<a>{_WORD}+)\s?/\s?(?P<b>(?:{_UNIT_ALT})(?![\w²³])|{_WORD}+)(?![\w/])"
)


def word_slashes(text: str) -> str:
    """``anh/chị`` → "anh hoặc chị"; ``tạ/ha`` → "tạ trên héc ta"; ``nước/ngày`` is left to the symbol pass."""

    def slash(m: re.Match[str]) -> str:
        a, b = m["a"], m["b"]
        if a in CURRENCIES:  # "đồng/kg" is a price: the money pass says "đồng một ki lô gam"
            return m[0]
        if b in UNITS:
            return f"{a} trên {UNITS[b]}"
        if b.lower() in _PER_TIME or a.isupper() or b.isupper():
            return m[0]
        measured = a in PER_WORDS or a in _MEASURES or re.search(r"\d\s*$", m.string[: m.start()])
        if b in PER_WORDS or measured:  # "kg/con", "bình/sào", "7 phút/tiết mục": so much for each
            return f"{a} một {PER_WORDS.get(b, b)}"
        return f"{a} hoặc {b}"

    return _WORD_SLASH.sub(slash, text)
