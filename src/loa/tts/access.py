"""Who may keep a unit's abbreviation table: the ``tts.abbreviations`` action on the unit (ADR 0009)."""

from __future__ import annotations

from typing import Any

from loa.accounts.access import UnitNotFound, access_unit, can
from loa.tts.models import Abbreviation

ACTION = "tts.abbreviations"


def access_abbreviation(user: Any, pk: int) -> Abbreviation:
    """The unit entry ``pk`` if ``user`` may change its unit's table; 404 when the user cannot see its unit."""
    row = Abbreviation.objects.select_related("unit").filter(pk=pk, unit__isnull=False).first()
    if row is None or row.unit is None or not can(user, row.unit, "unit.view"):
        raise UnitNotFound()
    access_unit(user, row.unit, ACTION)
    return row
