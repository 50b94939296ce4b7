"""Approval policies: the steps (and roles) a unit's bulletins go through before publication."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from loa.accounts.models import ApiToken
from loa.accounts.roles import Role
from loa.audit.log import record
from loa.content.models import (
    Approval,
    ApprovalPolicy,
    Bulletin,
)
from loa.content.validation import _err
from loa.units.models import Unit

# ---- approval policies ---------------------------------------------------------------------------------

STEP_ROLES: dict[str, tuple[str, str]] = {
    # role named by a step → (the action it needs, the default label)
    Role.EDITOR: ("bulletin.review", "Ban biên tập thẩm định"),
    Role.APPROVER: ("bulletin.approve", "Lãnh đạo duyệt"),
}
DEFAULT_STEPS: list[dict[str, str]] = [{"role": Role.APPROVER, "label": "Người duyệt"}]
MAX_STEPS = 5


def policy_steps(unit: Unit) -> list[dict[str, str]]:
    policy = ApprovalPolicy.objects.filter(unit=unit).first()
    return list(policy.steps) if policy and policy.steps else list(DEFAULT_STEPS)


def check_policy_steps(steps: Any) -> list[dict[str, str]]:
    if not isinstance(steps, list) or not steps:
        raise _err("steps", "steps_required", _("Quy trình duyệt cần ít nhất một bước."))
    if len(steps) > MAX_STEPS:
        raise _err("steps", "steps_too_many", _("Quy trình duyệt có tối đa %(n)s bước.") % {"n": MAX_STEPS})
    out: list[dict[str, str]] = []
    for i, step in enumerate(steps, start=1):
        role = step.get("role") if isinstance(step, dict) else None
        if role not in STEP_ROLES:
            raise _err(
                "steps",
                "step_role_invalid",
                _("Bước %(n)s: vai trò phải là “editor” (Ban biên tập) hoặc “approver” (Người duyệt).")
                % {"n": i},
            )
        label = " ".join(str(step.get("label") or STEP_ROLES[role][1]).split())[:200]
        out.append({"role": str(role), "label": label})
    if out[-1]["role"] != Role.APPROVER:
        raise _err(
            "steps",
            "last_step_not_approver",
            _("Bước cuối của quy trình duyệt phải do Người duyệt thực hiện."),
        )
    return out


def do_set_approval_policy(
    unit: Unit, steps: Any, *, actor: Any, token: ApiToken | None = None, request: HttpRequest | None = None
) -> ApprovalPolicy:
    clean = check_policy_steps(steps)
    with transaction.atomic():
        policy, _created = ApprovalPolicy.objects.select_for_update().get_or_create(unit=unit)
        before = policy.steps
        policy.steps = clean
        policy.save()
        record(
            "bulletin.policy_changed",
            actor=actor,
            request=request,
            unit=unit,
            object_type="content.approvalpolicy",
            object_id=unit.code,
            message=f"Đổi quy trình duyệt bản tin của {unit.name}",
            data={"before": before, "after": clean},
        )
    return policy


def active_approvals(b: Bulletin) -> list[Approval]:
    return list(
        b.approvals.filter(cleared_at__isnull=True, decision=Approval.Decision.APPROVED).select_related(
            "user"
        )
    )


def current_step(b: Bulletin) -> tuple[int, dict[str, str]] | None:
    """The step awaiting a decision (1-based) and its definition; None when every step is done."""
    steps = policy_steps(b.origin_unit)
    done = len(active_approvals(b))
    if done >= len(steps):
        return None
    return done + 1, steps[done]
