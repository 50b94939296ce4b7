"""Word error rate of a normalizer on a set of sentences with their accepted readings (issue 22).

A set is a TSV file with a header ``input<TAB>expected`` (an optional third column ``genre``). ``expected`` is what a
Vietnamese reader says aloud; where Vietnamese allows several readings, ``{a|b}`` lists them ("hai mươi {lăm|nhăm}",
"{ngày |}hai mươi hai tháng năm" for an optional word). A row's errors are the word edits (substitutions, insertions,
deletions) from the normalizer's output to the nearest accepted reading; the WER is the sum of the errors over the sum
of the words of those readings.

``loa tts eval FILE`` prints the WER and the worst rows; it runs without Django (see :mod:`loa.cli`).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import re
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MAX_READINGS = 512  # a row with more combinations is judged against the first MAX_READINGS of them

_GROUP = re.compile(r"(\{[^{}]*\})")


def accepted_pattern(expected: str) -> re.Pattern[str]:
    """The readings ``expected`` accepts as one regular expression (literal text and ``{a|b|}`` groups)."""
    parts = _GROUP.split(expected)
    return re.compile(
        "".join(
            "(?:" + "|".join(re.escape(a) for a in p[1:-1].split("|")) + ")"
            if p.startswith("{")
            else re.escape(p)
            for p in parts
        )
    )


def readings(expected: str) -> list[str]:
    """Every reading ``expected`` accepts, spaces collapsed (``"{ngày |}hai"`` → ``["ngày hai", "hai"]``)."""
    parts = _GROUP.split(expected)
    choices = [p[1:-1].split("|") if p.startswith("{") else [p] for p in parts]
    out = []
    for combo in itertools.islice(itertools.product(*choices), MAX_READINGS):
        out.append(" ".join("".join(combo).split()))
    return out


def words(text: str) -> list[str]:
    """Words as a listener hears them: lower case, NFC, punctuation dropped."""
    text = unicodedata.normalize("NFC", text).lower()
    return re.findall(r"[^\W_]+", text)


def edit_distance(hyp: Sequence[str], ref: Sequence[str]) -> int:
    previous = list(range(len(ref) + 1))
    for i, h in enumerate(hyp, 1):
        current = [i]
        for j, r in enumerate(ref, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (h != r)))
        previous = current
    return previous[-1]


def row_errors(output: str, expected: str) -> tuple[int, int, str]:
    """(word errors, words of the nearest reading, that reading) of ``output`` against ``expected``."""
    hyp = words(output)
    best: tuple[int, int, str] | None = None
    for reading in readings(expected):
        ref = words(reading)
        errors = edit_distance(hyp, ref)
        if best is None or errors < best[0]:
            best = (errors, len(ref), reading)
            if errors == 0:
                break
    assert best is not None
    return best


@dataclass(frozen=True)
class Row:
    text: str
    expected: str
    genre: str = ""


@dataclass
class RowResult:
    row: Row
    output: str
    errors: int
    reference_words: int
    nearest: str


@dataclass
class Evaluation:
    results: list[RowResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.results)

    @property
    def reference_words(self) -> int:
        return sum(r.reference_words for r in self.results)

    @property
    def wer(self) -> float:
        return self.errors / self.reference_words if self.reference_words else 0.0

    @property
    def imperfect(self) -> int:
        return sum(1 for r in self.results if r.errors)

    def worst(self, n: int) -> list[RowResult]:
        wrong = [r for r in self.results if r.errors]
        return sorted(wrong, key=lambda r: (-r.errors / max(1, r.reference_words), -r.errors))[:n]

    def by_genre(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for r in self.results:
            errors, total = out.get(r.row.genre, (0, 0))
            out[r.row.genre] = (errors + r.errors, total + r.reference_words)
        return out


class SetError(Exception):
    """A set file that cannot be read; ``message`` is Vietnamese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def load_set(path: Path) -> list[Row]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            table = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    except FileNotFoundError:
        raise SetError(f"Không tìm thấy tệp {path}.") from None
    except UnicodeDecodeError:
        raise SetError(f"Tệp {path} không phải văn bản UTF-8.") from None
    if not table or [c.strip() for c in table[0][:2]] != ["input", "expected"]:
        raise SetError(f"Dòng đầu của {path} phải là tiêu đề: input<TAB>expected[<TAB>genre].")
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if not cells or not "".join(cells).strip():
            continue
        if len(cells) < 2 or not cells[0].strip() or not cells[1].strip():
            raise SetError(f"Dòng {number} của {path} cần hai cột: câu gốc và cách đọc (ngăn bằng TAB).")
        if cells[1].count("{") != cells[1].count("}"):
            raise SetError(f"Dòng {number} của {path}: dấu ngoặc {{ }} của các cách đọc không khớp nhau.")
        rows.append(Row(cells[0], cells[1], cells[2].strip() if len(cells) > 2 else ""))
    if not rows:
        raise SetError(f"Tệp {path} không có câu nào.")
    return rows


def evaluate(rows: Iterable[Row], normalizer: Callable[[str], str]) -> Evaluation:
    result = Evaluation()
    started = time.perf_counter()
    outputs = [(row, normalizer(row.text)) for row in rows]
    result.seconds = time.perf_counter() - started
    for row, output in outputs:
        errors, ref_words, nearest = row_errors(output, row.expected)
        result.results.append(RowResult(row, output, errors, ref_words, nearest))
    return result


def report(evaluation: Evaluation, worst: int) -> str:
    lines = [
        f"Câu: {len(evaluation.results)} · từ: {evaluation.reference_words} · lỗi: {evaluation.errors} · "
        f"WER: {evaluation.wer:.2%} · câu chưa đúng: {evaluation.imperfect} · "
        f"thời gian: {evaluation.seconds:.2f} s",
    ]
    genres = evaluation.by_genre()
    if len(genres) > 1:
        lines.append("Theo thể loại:")
        for genre, (errors, total) in sorted(genres.items()):
            lines.append(f"  {genre or '(không ghi)'}: {errors}/{total} = {errors / max(1, total):.2%}")
    rows = evaluation.worst(worst)
    if rows:
        lines.append(f"Những câu sai nhiều nhất ({len(rows)}):")
        for r in rows:
            lines += [
                f"  [{r.errors} lỗi] {r.row.text}",
                f"    đọc:    {r.output}",
                f"    nên là: {r.nearest}",
            ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="loa tts eval",
        description="Đo tỷ lệ lỗi từ (WER) của bộ chuẩn hóa văn bản trên một tập câu có cách đọc chuẩn "
        "(TSV: input<TAB>expected[<TAB>genre]; {a|b} liệt kê các cách đọc được chấp nhận).",
    )
    parser.add_argument("file", type=Path, help="tệp TSV, ví dụ tests/loa/tts/eval_vi.tsv")
    parser.add_argument("--worst", type=int, default=10, help="số câu sai nhiều nhất được in (mặc định 10)")
    args = parser.parse_args(argv)
    try:
        rows = load_set(args.file)
    except SetError as exc:
        print(exc.message, file=sys.stderr)
        return 2
    from loa.tts.normalize import normalize_vi

    try:
        print(report(evaluate(rows, normalize_vi), max(0, args.worst)))
    except BrokenPipeError:  # `loa tts eval … | head`: the reader has what it wanted
        sys.stderr.close()
    return 0
