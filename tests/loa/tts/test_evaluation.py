"""``loa tts eval``: word errors against the nearest accepted reading, the set file's errors, the command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from loa.tts.evaluation import Row, SetError, evaluate, load_set, readings, row_errors


def test_readings_expand_every_alternative() -> None:
    assert readings("{ngày |}hai mươi {lăm|nhăm}") == [
        "ngày hai mươi lăm", "ngày hai mươi nhăm", "hai mươi lăm", "hai mươi nhăm",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("output", "expected", "errors"),
    [
        ("hai mươi lăm", "hai mươi {lăm|nhăm}", 0),
        ("hai mươi năm", "hai mươi {lăm|nhăm}", 1),  # one substitution
        (
            "ngày hai",
            "{ngày |}hai tháng năm",
            2,
        ),  # two deletions against the nearer reading "ngày hai tháng năm"
        ("Hai, mươi lăm.", "hai mươi lăm", 0),  # case and punctuation are not heard
        ("một hai ba bốn", "một ba", 2),  # two insertions
    ],
)
def test_row_errors(output: str, expected: str, errors: int) -> None:
    assert row_errors(output, expected)[0] == errors


def test_wer_is_errors_over_reference_words() -> None:
    rows = [Row("22/5", "ngày hai mươi hai tháng năm"), Row("x", "một hai ba bốn")]
    outputs = {"22/5": "ngày hai mươi hai tháng năm", "x": "một hai"}
    result = evaluate(rows, outputs.__getitem__)
    assert (result.errors, result.reference_words, result.imperfect) == (2, 10, 1)
    assert result.wer == pytest.approx(0.2)
    assert [r.row.text for r in result.worst(5)] == ["x"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("câu\tđọc\nx\ty\n", "Dòng đầu"),
        ("input\texpected\nchỉ một cột\n", "Dòng 2"),
        ("input\texpected\na\t{hai|ba\n", "ngoặc"),
        ("input\texpected\n", "không có câu nào"),
    ],
)
def test_a_bad_set_file_is_refused_with_the_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "set.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SetError) as refused:
        load_set(path)
    assert message in refused.value.message


def test_the_command_prints_the_wer_and_the_worst_rows(tmp_path: Path) -> None:
    path = tmp_path / "set.tsv"
    path.write_text(
        "input\texpected\tgenre\nNgày 22/5\tngày hai mươi hai tháng năm\tthời tiết\n"
        "Giá 8.000 đồng/kg\tgiá tám nghìn đồng trên ki lô gam\tnông nghiệp\n",
        encoding="utf-8",
    )
    loa = Path(sys.executable).with_name("loa")
    done = subprocess.run([str(loa), "tts", "eval", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    # "đồng một ki lô gam" against "đồng trên ki lô gam": one error in 6 + 8 = 14 words
    assert "lỗi: 1 · WER: 7.14%" in done.stdout
    assert "[1 lỗi] Giá 8.000 đồng/kg" in done.stdout
    missing = subprocess.run(
        [str(loa), "tts", "eval", str(tmp_path / "no.tsv")], capture_output=True, text=True
    )
    assert missing.returncode == 2 and "Không tìm thấy tệp" in missing.stderr
