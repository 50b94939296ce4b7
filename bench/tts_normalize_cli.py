"""``loa tts normalize`` from a script: start-up time of one call, and lines per second through stdin.

Runs the installed ``loa`` console script (the same entry point an operator's script calls) as a subprocess:

* start-up: ``loa tts normalize "<one notice sentence>"`` ``--repeat`` times, wall time of each (median, min, max);
  the same for ``--db`` (the Django path, the time every call took before issue 22) ``--db-repeat`` times;
* throughput: wall and CPU time of ``--lines`` distinct lines (the notice sentences of tests/loa/tts/cases_vi.tsv, numbered ``1. …``,
  ``2. …`` so that no two lines are alike) through ``loa tts normalize -`` in one run.

Prints JSON. Figures, not pass/fail (targets: < 0.5 s per call, 10,000 lines < 5 s; docs/benchmarks.md).

    LOA_DATA_DIR=$(mktemp -d) .venv/bin/python bench/tts_normalize_cli.py [--repeat 21] [--lines 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "loa" / "tts" / "cases_vi.tsv"
SENTENCE = "UBND xã thông báo: ngày 22/5/2025, từ 7h30-11h, tiêm phòng dại cho 1.254 con chó tại 45/2 thôn 3."


def _loa() -> str:
    candidate = Path(sys.executable).parent / "loa"
    return str(candidate) if candidate.exists() else "loa"


def _timed(cmd: list[str], stdin: bytes | None = None) -> tuple[float, bytes]:
    start = time.perf_counter()
    result = subprocess.run(cmd, input=stdin, capture_output=True, timeout=600, check=True)
    return time.perf_counter() - start, result.stdout


def _lines(n: int) -> list[str]:
    rows = CASES.read_text(encoding="utf-8").splitlines()
    sentences = [row.split("\t")[0] for row in rows if row.strip() and not row.startswith("#")]
    return [f"{i + 1}. {sentences[i % len(sentences)]}" for i in range(n)]


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:  # pragma: no cover - not Linux
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=21, help="calls of one sentence (default 21)")
    parser.add_argument(
        "--db-repeat", type=int, default=3, help="calls through Django, --db (default 3; 0: skip)"
    )
    parser.add_argument(
        "--lines", type=int, default=10000, help="lines through stdin in one run (default 10000)"
    )
    args = parser.parse_args()
    loa = _loa()
    report: dict[str, object] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_before": _load(),
        "command": f"{loa} tts normalize",
    }

    _timed([loa, "tts", "normalize", SENTENCE])  # warm the page cache once
    times = [_timed([loa, "tts", "normalize", SENTENCE])[0] for _ in range(args.repeat)]
    report["startup_s"] = {
        "median": round(statistics.median(times), 3),
        "min": round(min(times), 3),
        "max": round(max(times), 3),
        "calls": len(times),
    }
    if args.db_repeat:
        db_times = [_timed([loa, "tts", "normalize", "--db", SENTENCE])[0] for _ in range(args.db_repeat)]
        report["startup_db_s"] = {"median": round(statistics.median(db_times), 3), "calls": len(db_times)}

    lines = _lines(args.lines)
    data = ("\n".join(lines) + "\n").encode("utf-8")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds, out = _timed([loa, "tts", "normalize", "-"], stdin=data)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    produced = out.decode("utf-8").split("\n")
    assert len(produced) == len(lines) + 1 and produced[-1] == "", "one output line per input line"
    report["stdin"] = {
        "lines": len(lines),
        "mean_chars_per_line": round(len(data) / len(lines), 1),
        "seconds": round(seconds, 2),
        "lines_per_s": round(len(lines) / seconds),
        "cpu_seconds": round(cpu, 2),
    }
    report["load_after"] = _load()
    print(json.dumps(report, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
