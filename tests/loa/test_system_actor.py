"""The system actor cannot be had through a request: no view, endpoint, middleware or authentication module
builds or names it; only jobs do. That is why it may send a stop without a TOTP code (docs/adr/0009): it only
carries out a decision a person confirmed with their own code (a cancelled bulletin's hand-off)."""

from __future__ import annotations

import re
from pathlib import Path

import loa

SRC = Path(loa.__file__).parent
NAMES = re.compile(r"\b(SYSTEM|SystemActor|loa\.accounts\.system)\b")
WEB = re.compile(r"(^|/)(views|\w+_views|api|urls|forms|middleware|auth|admin)\.py$|(^|/)(console|api)/")
# where it may appear: its definition, the chokepoint that grants it, the jobs that act as it (hand-offs,
# expiry), a docstring (the resolver), and the TOTP rule that lets its stop go without a code (fleet services)
EXPECTED = {
    "accounts/system.py",
    "accounts/access.py",
    "broadcast/handoffs.py",
    "content/workflow.py",
    "playable/resolve.py",
    "fleet/services.py",
    "analytics/reports.py",  # the periodic job that makes last month's reports (do_schedule_monthly_reports)
    "signage/screencheck.py",  # the job that compares a board's screenshot and raises or clears its alarm
}


def test_only_jobs_act_as_the_system_actor() -> None:
    users = {
        str(p.relative_to(SRC))
        for p in SRC.rglob("*.py")
        if "migrations" not in p.parts and NAMES.search(p.read_text(encoding="utf-8"))
    }
    assert not [u for u in users if WEB.search(u)], "a web module names the system actor"
    assert users <= EXPECTED, (
        f"new users of the system actor, check they are jobs: {sorted(users - EXPECTED)}"
    )
