"""LOA_TEST_CLOCK (tests/clock_site): the whole run, children included, reads the shifted time (docs/testing.md)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

CLOCK_SITE = Path(__file__).resolve().parents[1] / "clock_site"

PARENT = """
import subprocess, sys, time, datetime as dt
sys.path.insert(0, sys.argv[1])
import loa_test_clock
loa_test_clock.start()
time.sleep(1.5)  # a parent that reads the clock late must not lag behind its children
before = time.time()
child = float(subprocess.run([sys.executable, "-c", "import time; print(time.time())"],
                             capture_output=True, text=True, check=True).stdout)
after = time.time()
print(before, child, after, dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).isoformat())
"""


def _run(spec: str) -> tuple[float, float, float, dt.datetime]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_TEST_CLOCK")}
    env["LOA_TEST_CLOCK"] = spec
    out = subprocess.run(
        [sys.executable, "-c", PARENT, str(CLOCK_SITE)], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1]), float(out[2]), dt.datetime.fromisoformat(out[3])


def test_the_run_and_its_children_read_the_shifted_local_time() -> None:
    for spec in ("00:30", "23:30"):
        before, child, after, local = _run(spec)
        assert before <= child <= after, "the child's clock is not the parent's"
        assert (local.hour, local.minute) == tuple(int(x) for x in spec.split(":"))
        assert 1.4 <= local.second + local.microsecond / 1e6 < 30


def test_a_date_and_hour() -> None:
    *_, local = _run("2026-12-31T23:30")
    assert local.date() == dt.date(2026, 12, 31) and local.hour == 23
    assert local.astimezone(dt.UTC).hour == 16
