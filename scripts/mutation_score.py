"""Print the mutation score per module from mutmut's results in mutants/ (after `make mutation`).

score = killed / (killed + survived); a timeout counts as killed (the mutant hung the tests), "no tests" and
"not checked" are listed apart and left out of the score. Usage: .venv/bin/python scripts/mutation_score.py
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

KILLED = {1, 3, 24, -24, 36, 152, 255, 37}
SURVIVED = {0}
NO_TESTS = {5, 33}


def main(root: Path = Path("mutants")) -> int:
    metas = sorted(root.rglob("*.py.meta"))
    if not metas:
        print("no mutmut results under mutants/ (run `make mutation` first)", file=sys.stderr)
        return 1
    total: Counter[str] = Counter()
    print(f"{'module':<40} {'killed':>7} {'survived':>9} {'no tests':>9} {'unchecked':>10} {'score':>7}")
    for meta in metas:
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        counts: Counter[str] = Counter()
        for code in codes.values():
            if code is None:
                counts["unchecked"] += 1
            elif code in KILLED:
                counts["killed"] += 1
            elif code in SURVIVED:
                counts["survived"] += 1
            elif code in NO_TESTS:
                counts["no tests"] += 1
            else:
                counts["other"] += 1
        if not codes:
            continue
        total.update(counts)
        judged = counts["killed"] + counts["survived"]
        score = f"{100 * counts['killed'] / judged:.1f} %" if judged else "—"
        name = str(meta.relative_to(root)).removesuffix(".meta")
        print(
            f"{name:<40} {counts['killed']:>7} {counts['survived']:>9} {counts['no tests']:>9} "
            f"{counts['unchecked']:>10} {score:>7}"
        )
    judged = total["killed"] + total["survived"]
    score = f"{100 * total['killed'] / judged:.1f} %" if judged else "—"
    print(
        f"{'total':<40} {total['killed']:>7} {total['survived']:>9} {total['no tests']:>9} "
        f"{total['unchecked']:>10} {score:>7}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
