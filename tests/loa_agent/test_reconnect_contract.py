"""protocol.md §2 tells a vendor how to reconnect after a lost broker connection; the reference agent's defaults are
the numbers it gives (first retry 0.1 s, doubling, capped at 2 s, a random factor in [0.5, 1)), and the curve the
agent follows is that one: back within 2 s of the broker's return, spread out rather than in one burst."""

from __future__ import annotations

import re
from pathlib import Path

from loa_agent.runtime import RuntimeOptions

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def section_2() -> str:
    text = PROTOCOL.read_text()
    return " ".join(text[text.index("## 2. Topics") : text.index("## 3. Enrolment")].split())


def test_the_documented_curve_is_the_reference_agents() -> None:
    doc = section_2()
    m = re.search(
        r"waits\s+`([\d.]+) s · 2\^\(n-1\)`, capped at \*\*([\d.]+) s\*\*, times a random factor in \[0.5, 1\)",
        doc,
    )
    assert m, "protocol.md §2 states the reconnect curve"
    options = RuntimeOptions()
    assert float(m.group(1)) == options.reconnect_initial_s
    assert float(m.group(2)) == options.backoff_max_s
    # the waits the page lists are the curve's, with the factor's bounds
    listed = re.findall(r"≈ ([\d.–, ]+) s, then ([\d.]+)–([\d.]+) s", doc)
    assert listed, "protocol.md §2 lists the first waits"
    ranges = [tuple(float(x) for x in r.split("–")) for r in listed[0][0].split(", ")]
    for n, (low, high) in enumerate(ranges, start=1):
        wait = min(options.reconnect_initial_s * 2 ** (n - 1), options.backoff_max_s)
        assert (low, high) == (round(wait * 0.5, 2), round(wait, 2)), (n, low, high)
    assert (float(listed[0][1]), float(listed[0][2])) == (options.backoff_max_s * 0.5, options.backoff_max_s)
    assert "capped at 60 s" not in doc  # the old curve (back up to a minute after the broker) is gone
