"""``{% plays_today unit %}``: today's plays of a unit with planned / played / missed (dashboard and schedules)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from loa.accounts.access import can
from loa.broadcast import plays
from loa.broadcast.recurrence import LOCAL_TZ
from loa.units.models import Level

register = template.Library()
SHOWN = 8


@register.inclusion_tag("broadcast/_today.html", takes_context=True)
def plays_today(context: Any, unit: Any) -> dict[str, Any]:
    """Shown to whoever may see the unit's schedules (the same check as the plan and proof pages)."""
    request = context.get("request")
    if request is None or not can(request.user, unit, "schedule.view"):
        return {"hidden_section": True}
    if unit.level < Level.COMMUNE:
        # a province's day is thousands of cluster plays: its own pages (plan, proof of play) count them
        return {"unit": unit, "province": True}
    now = timezone.now()
    today = now.astimezone(LOCAL_TZ).date()
    start, end = plays.local_day_range(today, today)
    found = plays.slots(unit, start, end, now=now, detail=False)
    recent = [s for s in found if s.start <= now][-SHOWN:]
    upcoming = [s for s in found if s.start > now][:3]
    return {"unit": unit, "today": today, "totals": plays.totals(found), "recent": recent, "upcoming": upcoming,
            "hidden": len(found) - len(recent) - len(upcoming)}  # fmt: skip
