"""The public statistics of feedback, per province or commune (the figures Hue-S publishes): received, processed,
answered on time, average time to answer, satisfaction. Counted from rows, never from personal data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from loa.citizen.models import Feedback, Status
from loa.units.models import Unit

PROCESSED = (Status.ANSWERED, Status.PUBLISHED, Status.CLOSED, Status.NOT_FIXABLE)


@dataclass(frozen=True)
class Figures:
    received: int
    processed: int
    on_time: int
    average_hours: float | None
    rated: int
    satisfied: int
    average_rating: float | None

    @property
    def processed_pct(self) -> float | None:
        return round(100 * self.processed / self.received, 1) if self.received else None

    @property
    def on_time_pct(self) -> float | None:
        return round(100 * self.on_time / self.processed, 1) if self.processed else None

    @property
    def satisfied_pct(self) -> float | None:
        return round(100 * self.satisfied / self.rated, 1) if self.rated else None


def figures(unit: Unit, since: dt.datetime | None = None, until: dt.datetime | None = None) -> Figures:
    """Figures of the feedback about places within ``unit`` (its communes for a province)."""
    rows = Feedback.objects.filter(unit__path__startswith=unit.path)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    received = rows.count()
    done = list(
        rows.filter(status__in=PROCESSED, answered_at__isnull=False).values_list(
            "created_at", "answered_at", "due_at", "escalations"
        )
    )
    on_time = sum(1 for _c, a, d, e in done if a is not None and d is not None and a <= d and e == 0)
    hours = [(a - c).total_seconds() / 3600 for c, a, _d, _e in done if a is not None]
    ratings = list(rows.filter(~Q(rating=None)).values_list("rating", flat=True))
    return Figures(
        received=received,
        processed=len(done),
        on_time=on_time,
        average_hours=round(sum(hours) / len(hours), 1) if hours else None,
        rated=len(ratings),
        satisfied=sum(1 for r in ratings if r is not None and r >= 4),
        average_rating=round(sum(r for r in ratings if r is not None) / len(ratings), 2) if ratings else None,
    )
