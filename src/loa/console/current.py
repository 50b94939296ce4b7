"""The unit the console is looking at (chosen in the unit picker), always within the user's scope."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from loa.accounts.access import can, scope_roots
from loa.units.models import Unit

SESSION_KEY = "loa_unit"


def current_unit(request: HttpRequest) -> Unit | None:
    user: Any = request.user
    code = request.session.get(SESSION_KEY)
    if code:
        unit = Unit.objects.filter(code=code).first()
        if unit is not None and can(user, unit, "unit.view"):
            return unit
    roots = scope_roots(user)
    return roots[0] if roots else None
