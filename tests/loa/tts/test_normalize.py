"""normalize_vi: a table of real sentences (cases_vi.tsv) plus the rules the table relies on.

The expected column is what a Vietnamese reader says aloud, reviewed row by row apart from the code (issue 23): where
Vietnamese allows several readings, ``{a|b}`` lists them ("ngày {một|mùng một} tháng bảy", "một trăm {linh|lẻ}
năm", "{ngày |}" for an optional word) and the normalizer's output must be one of them.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

import pytest

from loa.tts.evaluation import accepted_pattern
from loa.tts.normalize import load_abbreviation_file, normalize_vi, read_int, roman_to_int

CASES_FILE = Path(__file__).with_name("cases_vi.tsv")


def _cases() -> list[tuple[str, str]]:
    with CASES_FILE.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows[0] == ["input", "expected"]
    return [(r[0], r[1]) for r in rows[1:] if r]


CASES = _cases()


def test_the_table_is_large_enough_and_has_no_duplicates() -> None:
    assert len(CASES) >= 150
    inputs = [i for i, _ in CASES]
    assert len(set(inputs)) == len(inputs)


def accepted(expected: str) -> re.Pattern[str]:
    """The readings ``expected`` accepts: literal text, with ``{a|b|}`` groups of alternatives."""
    return accepted_pattern(expected)


def test_alternatives_accept_each_reading_and_nothing_else() -> None:
    pattern = accepted("ngày {một|mùng một} tháng {ngày |}bảy")
    for reading in ("ngày một tháng bảy", "ngày mùng một tháng ngày bảy", "ngày mùng một tháng bảy"):
        assert pattern.fullmatch(reading)
    for reading in ("ngày mồng một tháng bảy", "ngày một tháng  bảy", "ngày {một|mùng một} tháng bảy"):
        assert not pattern.fullmatch(reading)


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[f"{n:03d}" for n in range(len(CASES))])
def test_sentence(text: str, expected: str) -> None:
    out = normalize_vi(text)
    assert accepted(expected).fullmatch(out), f"{out!r} is not a reading of {expected!r}"


@pytest.mark.parametrize(("text", "expected"), CASES[:40])
def test_output_is_nfc_and_has_no_digits_left(text: str, expected: str) -> None:
    out = normalize_vi(text)
    assert unicodedata.is_normalized("NFC", out)
    assert not re.search(r"\d", out)


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "không"),
        (4, "bốn"),
        (5, "năm"),
        (10, "mười"),
        (14, "mười bốn"),
        (15, "mười lăm"),
        (21, "hai mươi mốt"),
        (24, "hai mươi tư"),
        (25, "hai mươi lăm"),
        (65, "sáu mươi lăm"),
        (75, "bảy mươi lăm"),
        (85, "tám mươi lăm"),
        (95, "chín mươi lăm"),
        (105, "một trăm linh năm"),
        (114, "một trăm mười bốn"),
        (2025, "hai nghìn không trăm hai mươi lăm"),
        (65000, "sáu mươi lăm nghìn"),
        (1_000_000, "một triệu"),
        (29_000_000_000, "hai mươi chín tỷ"),
    ],
)
def test_read_int(n: int, words: str) -> None:
    assert read_int(str(n)) == words


def test_every_unit_digit_after_the_tens_is_read_the_spoken_way() -> None:
    for tens in range(2, 10):
        assert read_int(f"{tens}1").endswith("mươi mốt")
        assert read_int(f"{tens}4").endswith("mươi tư")
        assert read_int(f"{tens}5").endswith("mươi lăm")
        assert read_int(f"{tens}0").endswith("mươi")


def test_leading_zero_and_very_long_numbers_are_read_digit_by_digit() -> None:
    assert read_int("05") == "không năm"
    assert (
        read_int("1234567890123456789")
        == "một hai ba bốn năm sáu bảy tám chín không một hai ba bốn năm sáu bảy tám chín"
    )


@pytest.mark.parametrize(
    ("roman", "value"), [("I", 1), ("IV", 4), ("XIII", 13), ("XX", 20), ("XXI", 21), ("MCMXC", 1990)]
)
def test_roman(roman: str, value: int) -> None:
    assert roman_to_int(roman) == value


@pytest.mark.parametrize("not_roman", ["", "IIII", "VX", "ABC", "IC"])
def test_not_roman(not_roman: str) -> None:
    assert roman_to_int(not_roman) is None


def test_roman_numerals_are_read_only_in_context() -> None:
    assert normalize_vi("Đội II") == "Đội II"
    assert normalize_vi("khóa II") == "khóa hai"


def test_no_ngay_ngay_duplication() -> None:
    out = normalize_vi("Ngày 22-5-2025 và ngày 22/5 và hôm 23/5")
    assert "ngày ngày" not in out.lower()
    assert out == (
        "Ngày hai mươi hai tháng năm năm hai nghìn không trăm hai mươi lăm và ngày hai mươi hai tháng năm "
        "và hôm hai mươi ba tháng năm"
    )


def test_invalid_dates_and_times_are_not_read_as_dates() -> None:
    assert normalize_vi("tỷ số 35/40") == "tỷ số ba mươi lăm trên bốn mươi"
    assert normalize_vi("lúc 25:70") == "lúc hai mươi lăm: bảy mươi"


def test_decomposed_input_comes_out_composed_with_its_diacritics() -> None:
    decomposed = unicodedata.normalize("NFD", "Ủy ban nhân dân xã thông báo ngày 22/5")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    out = normalize_vi(decomposed)
    assert out == "Ủy ban nhân dân xã thông báo ngày hai mươi hai tháng năm"
    assert unicodedata.is_normalized("NFC", out)


def test_extra_abbreviations_extend_and_override_the_bundled_table() -> None:
    assert normalize_vi("Họp BCĐ 389 và UBND") == "Họp ban chỉ đạo ba trăm tám mươi chín và ủy ban nhân dân"
    extra = {"BCĐ 389": "ban chỉ đạo ba tám chín", "UBND": "Ủy ban nhân dân"}
    assert normalize_vi("Họp BCĐ 389 và UBND", extra) == "Họp ban chỉ đạo ba tám chín và Ủy ban nhân dân"


def test_unknown_acronyms_are_spelled_with_vietnamese_letter_names() -> None:
    assert normalize_vi("Rút tiền ở cây ATM") == "Rút tiền ở cây a tê em"


def test_bundled_table_has_the_administrative_abbreviations() -> None:
    table = load_abbreviation_file()
    for key in (
        "UBND",
        "HĐND",
        "MTTQ",
        "THCS",
        "THPT",
        "TP.",
        "TX.",
        "CA",
        "BCH",
        "QĐ",
        "NĐ-CP",
        "TT-BTTTT",
        "BHYT",
        "BHXH",
        "PCCC",
        "PCTT",
        "TKCN",
    ):
        assert key in table or all(part in table for part in key.split("-")), key
    assert all(unicodedata.is_normalized("NFC", k + v) for k, v in table.items())


def test_empty_and_plain_text() -> None:
    assert normalize_vi("") == ""
    assert normalize_vi("  Xin chào   bà con  ") == "Xin chào bà con"
