"""Loa's text normalization against the offline, permissively licensed normalizers on the public evaluation set.

The same sentences (tests/loa/tts/eval_vi.tsv, 500+ notice sentences with their accepted readings) go through:

* Loa — ``loa.tts.normalize.normalize_vi``;
* sea-g2p — ``sea_g2p.Normalizer("vi").normalize`` (Apache-2.0);
* g2p-hamster — ``g2p_hamster.t0.pipeline.normalize(text)["read_string"]`` (Apache-2.0; its text pass, before IPA);
* vietnormalizer — ``vietnormalizer.VietnameseNormalizer().normalize`` (MIT; Loa uses its foreign-word table).

Each is scored with the same word error rate (``loa.tts.evaluation``: word edits to the nearest accepted reading, case
and punctuation not counted) and timed (wall time over the whole set after one warm-up call). The compared packages
are benchmark-only dependencies, not installed by ``make setup``:

    .venv/bin/pip install '.[bench-tts]'
    .venv/bin/python bench/tts_compare.py [--set tests/loa/tts/eval_vi.tsv] [--worst 3] [--json]

A normalizer that is not installed is reported as missing. Figures, not pass/fail (docs/benchmarks.md, docs/tts.md).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from loa.tts.evaluation import Evaluation, evaluate, load_set  # noqa: E402

DEFAULT_SET = ROOT / "tests" / "loa" / "tts" / "eval_vi.tsv"


def _loa() -> Callable[[str], str]:
    from loa.tts.normalize import normalize_vi

    return normalize_vi


def _sea_g2p() -> Callable[[str], str]:
    from sea_g2p import Normalizer

    normalizer = Normalizer("vi")
    return lambda text: str(normalizer.normalize(text))


def _g2p_hamster() -> Callable[[str], str]:
    from g2p_hamster.t0.pipeline import normalize

    return lambda text: str(normalize(text)["read_string"])


def _vietnormalizer() -> Callable[[str], str]:
    from vietnormalizer import VietnameseNormalizer

    normalizer = VietnameseNormalizer()
    return lambda text: str(normalizer.normalize(text))


NORMALIZERS: dict[str, Callable[[], Callable[[str], str]]] = {
    "loa": _loa,
    "sea-g2p": _sea_g2p,
    "g2p-hamster": _g2p_hamster,
    "vietnormalizer": _vietnormalizer,
}


def _safe(fn: Callable[[str], str]) -> Callable[[str], str]:
    def call(text: str) -> str:
        try:
            return fn(text)
        except Exception as exc:  # a normalizer that crashes on a sentence scores it as read wrong
            return f"<lỗi: {type(exc).__name__}>"

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET)
    parser.add_argument("--worst", type=int, default=3, help="worst rows printed per normalizer")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    rows = load_set(args.set)
    results: dict[str, Evaluation | str] = {}
    for name, make in NORMALIZERS.items():
        try:
            fn = _safe(make())
        except ImportError as exc:
            results[name] = f"missing ({exc.name}): pip install '.[bench-tts]'"
            continue
        fn(rows[0].text)  # warm-up: tables, regexes, dictionaries loaded once
        started = time.perf_counter()
        result = evaluate(rows, fn)
        result.seconds = time.perf_counter() - started
        results[name] = result
    summary = {
        "set": str(args.set.relative_to(ROOT) if args.set.is_relative_to(ROOT) else args.set),
        "sentences": len(rows),
        "machine": f"{platform.node()} · {platform.processor() or platform.machine()} · Python {platform.python_version()}",
        "normalizers": {
            name: (
                r
                if isinstance(r, str)
                else {
                    "wer_percent": round(100 * r.wer, 2),
                    "word_errors": r.errors,
                    "reference_words": r.reference_words,
                    "imperfect_sentences": r.imperfect,
                    "ms_per_sentence": round(1000 * r.seconds / len(rows), 3),
                }
            )
            for name, r in results.items()
        },
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    print(f"{summary['sentences']} câu ({summary['set']}) — {summary['machine']}")
    print(f"{'bộ chuẩn hóa':<16}{'WER':>8}{'lỗi/từ':>14}{'câu sai':>10}{'ms/câu':>10}")
    for name, r in results.items():
        if isinstance(r, str):
            print(f"{name:<16}{r}")
            continue
        print(
            f"{name:<16}{100 * r.wer:>7.2f}%{f'{r.errors}/{r.reference_words}':>14}{r.imperfect:>10}"
            f"{1000 * r.seconds / len(rows):>10.3f}"
        )
    for name, r in results.items():
        if isinstance(r, str) or not args.worst:
            continue
        for row in r.worst(args.worst):
            print(
                f"\n[{name}] [{row.errors} lỗi] {row.row.text}\n  đọc:    {row.output}\n  nên là: {row.nearest}"
            )


if __name__ == "__main__":
    main()
