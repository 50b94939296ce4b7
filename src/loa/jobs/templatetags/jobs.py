"""``{% load jobs %}``: ``{{ job|stalled_note }}`` — why a job shown as running is not moving (loa.jobs.lease)."""

from __future__ import annotations

from typing import Any

from django import template

from loa.jobs.lease import stalled_note as _stalled_note

register = template.Library()


@register.filter
def stalled_note(job: Any) -> str:
    return _stalled_note(job) if job is not None else ""
