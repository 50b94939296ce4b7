"""A poll's results (counts per choice, the scale's distribution and mean, free-text answers) and its exports:
CSV through :func:`loa.exports.csv_document` and XLSX with openpyxl, every text cell through ``safe_cell``."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count

from loa.citizen.polls.models import Answer, Ballot, Poll, Question
from loa.exports import csv_document, safe_cell


@dataclass
class QuestionResult:
    question: Question
    answered: int
    rows: list[tuple[str, int, float]] = field(
        default_factory=list
    )  # (label, count, percent of those answering)
    mean: float | None = None
    texts: list[str] = field(default_factory=list)


def results(poll: Poll, *, with_texts: bool = True) -> tuple[int, list[QuestionResult]]:
    ballots = Ballot.objects.filter(poll=poll).count()
    out = []
    for q in poll.questions.prefetch_related("choices"):
        answers = Answer.objects.filter(question=q)
        answered = answers.values("ballot").distinct().count()
        r = QuestionResult(q, answered)
        if q.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
            counts = dict(answers.values_list("choice").annotate(n=Count("id")).values_list("choice", "n"))
            r.rows = [
                (c.text, counts.get(c.pk, 0), _pct(counts.get(c.pk, 0), answered)) for c in q.choices.all()
            ]
        elif q.kind == Question.Kind.SCALE:
            by_value: dict[int | None, int] = {
                v: n
                for v, n in answers.values_list("value").annotate(n=Count("id")).values_list("value", "n")
            }
            r.rows = [(str(v), by_value.get(v, 0), _pct(by_value.get(v, 0), answered))
                      for v in range(q.scale_min, q.scale_max + 1)]  # fmt: skip
            total = sum(v * n for v, n in by_value.items() if v is not None)
            r.mean = round(total / answered, 2) if answered else None
        elif with_texts:
            r.texts = list(answers.order_by("pk").values_list("text", flat=True))
        out.append(r)
    return ballots, out


def _pct(n: int, of: int) -> float:
    return round(100 * n / of, 1) if of else 0.0


def _summary_rows(poll: Poll) -> tuple[list[str], list[list[Any]]]:
    _ballots, qs = results(poll)
    header = ["Câu", "Câu hỏi", "Loại", "Lựa chọn / điểm", "Số người chọn", "Tỷ lệ (%)"]
    rows: list[list[Any]] = []
    for r in qs:
        n = r.question.position + 1
        if r.rows:
            rows += [
                [n, r.question.text, r.question.get_kind_display(), label, count, pct]
                for label, count, pct in r.rows
            ]
            if r.mean is not None:
                rows.append(
                    [n, r.question.text, r.question.get_kind_display(), "Điểm trung bình", r.mean, ""]
                )
        else:
            rows += [[n, r.question.text, r.question.get_kind_display(), text, "", ""] for text in r.texts]
    return header, rows


def export_csv(poll: Poll) -> str:
    header, rows = _summary_rows(poll)
    return csv_document(header, rows)


def export_xlsx(poll: Poll) -> bytes:
    from openpyxl import Workbook

    header, rows = _summary_rows(poll)
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Kết quả"
    ws.append([safe_cell(poll.title)])
    ws.append(
        [
            safe_cell(f"Đơn vị: {poll.unit.name}"),
            safe_cell(f"Số phiếu: {Ballot.objects.filter(poll=poll).count()}"),
        ]
    )
    ws.append([safe_cell(h) for h in header])
    for row in rows:
        ws.append([v if isinstance(v, int | float) else safe_cell(v) for v in row])
    ws.freeze_panes = "A4"
    for col, width in zip("ABCDEF", (6, 50, 16, 40, 14, 10), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
