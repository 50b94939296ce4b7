"""The public evaluation set (issue 22): 500+ sentences written like real notices, each with its accepted readings.

The set is data for ``loa tts eval``; this test keeps it well-formed and keeps the normalizer's word error rate on it
at or below the goal, so a change that breaks readings of real notices fails here with the rows it broke.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from loa.tts.evaluation import evaluate, load_set, report
from loa.tts.normalize import normalize_vi

EVAL_SET = Path(__file__).with_name("eval_vi.tsv")
GOAL_WER = 0.01


def test_the_set_is_large_varied_and_without_duplicates() -> None:
    rows = load_set(EVAL_SET)
    assert len(rows) >= 500
    assert len({r.text for r in rows}) == len(rows)
    genres = Counter(r.genre for r in rows)
    assert len(genres) >= 9 and min(genres.values()) >= 30, genres


def test_the_normalizer_meets_the_goal_on_the_set() -> None:
    result = evaluate(load_set(EVAL_SET), normalize_vi)
    assert result.wer <= GOAL_WER, report(result, 20)
