"""Audit API: read the audit log of the units in the caller's scope, and verify the chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from ninja import Router, Schema

from loa.accounts.access import access_anywhere, access_system, access_units, is_system_admin
from loa.api.auth import token_of
from loa.api.errors import ERROR_RESPONSES
from loa.audit.log import verify
from loa.audit.models import AuditEntry

router = Router()


class EntryOut(Schema):
    id: int
    at: datetime
    actor: str
    action: str
    unit_code: str
    object_type: str
    object_id: str
    message: str
    data: dict[str, Any]


class VerifyOut(Schema):
    ok: bool
    checked: int
    broken_id: int | None
    reason: str
    head_hash: str


def visible_entries(user: Any, token: Any = None) -> Any:
    """Audit entries of the units in the user's ``audit.view`` scope; system admins also see unit-less ones."""
    if is_system_admin(user) and (token is None or token.allows("audit.view")):
        return AuditEntry.objects.all()
    roots = access_units(user, "audit.view", token).values_list("path", flat=True)
    paths = sorted(set(roots))
    if not paths:
        return AuditEntry.objects.none()
    condition = Q()
    for p in paths:
        condition |= Q(unit_path__startswith=p)
    return AuditEntry.objects.filter(condition)


@router.get("", response={200: list[EntryOut], **ERROR_RESPONSES}, summary="Nhật ký kiểm toán trong phạm vi")
def list_entries(
    request: HttpRequest,
    action: str | None = None,
    unit: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> Any:
    access_anywhere(request.user, "audit.view", token_of(request))
    qs = visible_entries(request.user, token_of(request))
    if action:
        qs = qs.filter(action__startswith=action[:64])
    if unit:
        qs = qs.filter(unit_code=unit[:16])
    if before_id:
        qs = qs.filter(pk__lt=before_id)
    return [
        {
            "id": e.pk,
            "at": e.at,
            "actor": e.actor_label,
            "action": e.action,
            "unit_code": e.unit_code,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "message": e.message,
            "data": e.data,
        }
        for e in qs.order_by("-pk")[: max(1, min(limit, 500))]
    ]


@router.post(
    "/verify", response={200: VerifyOut, **ERROR_RESPONSES}, summary="Kiểm tra chuỗi hash của nhật ký"
)
def verify_chain(request: HttpRequest) -> Any:
    access_system(request.user, "audit.view", token_of(request))
    r = verify()
    from loa.audit.models import AuditHead

    head = AuditHead.objects.filter(pk=1).first()
    return {
        "ok": r.ok,
        "checked": r.checked,
        "broken_id": r.broken_id,
        "reason": r.reason,
        "head_hash": head.last_hash if head else "",
    }
