"""The broadcast domain's ``access_*`` chokepoint for what goes beyond a unit's guardrails.

A schedule that breaks a guardrail is saved only with an approver's override and its reason. Whether the actor may
give one is decided here, by the view or endpoint, before :func:`loa.broadcast.services.do_create_schedule` is
called with the :class:`Override` it returns; the ``do_*`` function never decides it (docs/adr/0009).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loa.accounts.access import can
from loa.errors import Refusal
from loa.units.models import Unit

if TYPE_CHECKING:
    from loa.accounts.models import ApiToken

OVERRIDE_ACTION = "schedule.override"


@dataclass(frozen=True)
class Override:
    """An approver's permission, with the reason, to schedule beyond the guardrails (made by
    :func:`access_override` only)."""

    reason: str


def can_override(user: Any, unit: Unit, token: ApiToken | None = None) -> bool:
    return can(user, unit, OVERRIDE_ACTION, token)


def access_override(user: Any, unit: Unit, reason: str, token: ApiToken | None = None) -> Override | None:
    """None when no reason is given; the override when the user may give it on ``unit`` (an approver);
    otherwise 403 ``override_not_allowed``."""
    reason = " ".join((reason or "").split())
    if not reason:
        return None
    if not can_override(user, unit, token):
        raise Refusal(
            "override_not_allowed",
            "Lịch phát vượt giới hạn chỉ được đặt khi người duyệt cho phép; bạn không có quyền cho phép vượt.",
            403,
        )
    return Override(reason=reason)
