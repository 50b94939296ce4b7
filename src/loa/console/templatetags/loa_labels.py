"""``{{ value|label:"power" }}``: the word shown for a stored or protocol value (see :mod:`loa.labels`)."""

from __future__ import annotations

from django import template

from loa.labels import label as _label

register = template.Library()


@register.filter
def label(value: object, table: str) -> str:
    return _label(value, table)
