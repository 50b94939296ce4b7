"""Writing and verifying the audit log. ``record`` is the one function every state change goes through."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from loa.accounts.lockout import client_address
from loa.audit.actions import check_registered
from loa.audit.models import AuditEntry, AuditHead

GENESIS = "0" * 64


def _canonical(entry: AuditEntry) -> bytes:
    at: datetime = entry.at
    body = {
        "id": entry.pk,
        "at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "unit": entry.unit_code,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "message": entry.message,
        "data": entry.data,
        "ip": entry.ip,
        "prev": entry.prev_hash,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def entry_hash(entry: AuditEntry) -> str:
    return hashlib.sha256(_canonical(entry)).hexdigest()


def client_ip(request: HttpRequest | None) -> str | None:
    """The client's address by the same rule as the sign-in lockout (LOA_TRUSTED_PROXIES), not the proxy's."""
    if request is None:
        return None
    address = client_address(request)
    return None if address == "?" else address


def record(
    action: str,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    unit: Any = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    message: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the audit log, chained to the previous one.

    Call it inside the transaction of the change it records: both commit, or neither does. ``action`` must be
    declared in :mod:`loa.audit.actions` (an unknown name raises :class:`~loa.audit.actions.UnknownAuditAction`).
    """
    check_registered(action)
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        actor = request.user if request.user.is_authenticated else None
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
        if unit is None:
            unit = getattr(obj, "unit", None)
    data = json.loads(json.dumps(data or {}, ensure_ascii=False, default=str))
    with transaction.atomic():
        head = AuditHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            AuditHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS})
            head = AuditHead.objects.select_for_update().get(pk=1)
        entry = AuditEntry(
            at=timezone.now(),
            actor=actor if getattr(actor, "pk", None) else None,
            actor_label=(getattr(actor, "username", "") or str(actor or "hệ thống"))[:200],
            action=action,
            unit_code=getattr(unit, "code", "") or "",
            unit_path=getattr(unit, "path", "") or "",
            object_type=object_type,
            object_id=str(object_id or ""),
            message=message[:500],
            data=data,
            ip=client_ip(request),
            prev_hash=head.last_hash,
            hash=uuid.uuid4().hex,  # replaced below, once the id is known
        )
        super(AuditEntry, entry).save()
        entry.hash = entry_hash(entry)
        AuditEntry.objects.filter(pk=entry.pk).update(hash=entry.hash)
        AuditHead.objects.filter(pk=1).update(last_id=entry.pk, last_hash=entry.hash)
    return entry


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_id: int | None = None
    reason: str = ""


def verify(batch: int = 2000) -> VerifyResult:
    """Walk the chain from the first entry; name the first entry whose hash or link does not hold."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = list(AuditEntry.objects.filter(pk__gt=last_id).order_by("pk")[:batch])
        if not rows:
            break
        for entry in rows:
            if entry.prev_hash != prev:
                return VerifyResult(
                    False, checked, entry.pk, "liên kết tới mục trước không khớp (mục bị xóa hoặc chèn)"
                )
            if entry_hash(entry) != entry.hash:
                return VerifyResult(False, checked, entry.pk, "nội dung đã bị sửa (hash không khớp)")
            prev = entry.hash
            checked += 1
            last_id = entry.pk
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash != prev:
        return VerifyResult(False, checked, head.last_id or None, "mục cuối cùng của chuỗi đã bị xóa")
    return VerifyResult(True, checked)
