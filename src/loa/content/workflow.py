"""The bulletin workflow: the :data:`TRANSITIONS` table, its checks, :func:`do_transition`, and expiry.

Every workflow transition goes through :func:`do_transition`, driven by the table. A substantive edit of a bulletin
under review or approved calls ``do_transition(..., "return_to_review")`` (from :mod:`loa.content.editing`) so that
the approvals are cleared and the change is audited. :func:`expire_due` is run by the periodic job
``loa.content.expire_bulletins``; reads never run it (:mod:`loa.content.validity`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from loa.accounts.access import AccessDenied, access_unit
from loa.accounts.models import ApiToken
from loa.accounts.roles import Role
from loa.accounts.system import SYSTEM, is_system
from loa.audit.log import record
from loa.broadcast.models import Emergency
from loa.content import signals
from loa.content.access import holds_role
from loa.content.delivery import publish_feed, withdraw_feed
from loa.content.errors import BulletinError
from loa.content.models import (
    Approval,
    BroadcastHandoff,
    Bulletin,
    Priority,
    State,
)
from loa.content.policies import STEP_ROLES, active_approvals, current_step
from loa.content.validation import _CONTROL_RE, _err, check_ready_for_review
from loa.fleet.services import check_totp

# ---- workflow ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    action: str | None  # permission needed on the originating unit; None: the system does it
    label: str
    public: bool = True


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        Transition(
            "submit", frozenset({State.DRAFT}), State.SUBMITTED, "bulletin.edit", gettext_noop("Gửi duyệt")
        ),
        Transition(
            "withdraw",
            frozenset({State.SUBMITTED}),
            State.DRAFT,
            "bulletin.edit",
            gettext_noop("Rút lại để sửa"),
        ),
        # approve: the target is SUBMITTED until the last step of the policy, then APPROVED
        Transition("approve", frozenset({State.SUBMITTED}), State.APPROVED, "step", gettext_noop("Duyệt")),
        Transition("reject", frozenset({State.SUBMITTED}), State.DRAFT, "step", gettext_noop("Trả lại")),
        Transition(
            "publish",
            frozenset({State.APPROVED}),
            State.PUBLISHED,
            "bulletin.publish",
            gettext_noop("Phát hành"),
        ),
        Transition(
            "cancel",
            frozenset({State.DRAFT, State.SUBMITTED, State.APPROVED, State.PUBLISHED}),
            State.CANCELLED,
            "bulletin.edit",
            gettext_noop("Hủy bản tin"),
        ),
        Transition(
            "return_to_review",
            frozenset({State.SUBMITTED, State.APPROVED}),
            State.SUBMITTED,
            None,
            gettext_noop("Trở lại chờ duyệt sau khi sửa"),
            public=False,
        ),
        Transition(
            "expire",
            frozenset({State.SUBMITTED, State.APPROVED, State.PUBLISHED}),
            State.EXPIRED,
            None,
            gettext_noop("Hết hiệu lực"),
            public=False,
        ),
    ]
}
EXPIRABLE = TRANSITIONS["expire"].sources


def _transition_in_state(b: Bulletin, name: str) -> Transition:
    t = TRANSITIONS.get(name)
    if t is None:
        raise BulletinError("transition_unknown", _("Không có thao tác “%(name)s”.") % {"name": name}, 400)
    if b.state not in t.sources:
        raise BulletinError(
            "transition_not_allowed",
            _("Không thể “%(action)s” khi bản tin đang ở trạng thái “%(state)s”.")
            % {"action": _(t.label).lower(), "state": b.get_state_display()},
            409,
        )
    return t


def access_transition(b: Bulletin, name: str, actor: Any, token: ApiToken | None = None) -> Transition:
    """The permission question of a transition: may ``actor`` apply ``name`` to ``b`` now? Returns the transition or
    raises (400 unknown, 409 not from this state, 403/404 not allowed). Views and endpoints ask it before
    :func:`do_transition`; the bulletin page asks it (through :func:`available_transitions`) to show a button."""
    t = _transition_in_state(b, name)
    if t.action is None:  # applied by the services themselves (return to review) or by the system (expiry)
        if not is_system(actor):
            raise AccessDenied()
        return t
    if t.action == "step":
        _check_step_actor(b, actor, token)
    else:
        action = "bulletin.publish" if name == "cancel" and b.state == State.PUBLISHED else t.action
        access_unit(actor, b.origin_unit, action, token)
    return t


# ---- the second factor of a cancel that silences a warning ----------------------------------------------


@dataclass(frozen=True)
class TotpConfirmation:
    """The acting person's TOTP code, checked: made by :func:`access_totp_confirmation` only, and required by
    :func:`do_transition` for a cancel that silences an emergency (as ``Override`` for schedules, docs/adr/0009)."""

    user_pk: int | None


def silences_emergency(b: Bulletin) -> bool:
    """Whether cancelling ``b`` stops an emergency on loudspeakers: an emergency started from it is still active,
    or it is an emergency bulletin handed to communes (to start, or started). The cancel's hand-off then stops
    it as the system actor, without a code (:func:`loa.fleet.services.totp_required`), so the code is asked here,
    of the person who decides — else a token alone could silence a live warning by cancelling its bulletin."""
    if Emergency.objects.filter(bulletin=b, state=Emergency.State.ACTIVE).exists():
        return True
    return (
        b.priority == Priority.EMERGENCY
        and BroadcastHandoff.objects.filter(bulletin=b, kind=BroadcastHandoff.Kind.EMERGENCY).exists()
    )


def totp_needed(b: Bulletin, name: str) -> bool:
    """Whether the transition ``name`` of ``b`` needs the actor's TOTP code (the confirmation page asks it)."""
    return name == "cancel" and silences_emergency(b)


def access_totp_confirmation(b: Bulletin, name: str, actor: Any, totp: str) -> TotpConfirmation | None:
    """None when the transition needs no code; otherwise the actor's code is checked (403 ``totp_required`` when
    missing, ``totp_invalid`` when wrong or already used: the same :func:`~loa.fleet.services.check_totp` as
    every device command) and the confirmation for :func:`do_transition` returned. Ask it after
    :func:`access_transition`."""
    if not totp_needed(b, name):
        return None
    check_totp(actor, totp)
    return TotpConfirmation(getattr(actor, "pk", None))


def check_transition(b: Bulletin, name: str, *, note: str = "") -> Transition:
    """Whether ``b`` can go through ``name`` now (state, a reason to send back, ready for review); not who may."""
    t = _transition_in_state(b, name)
    if name == "reject" and not note.strip():
        raise _err("note", "note_required", _("Hãy ghi lý do trả lại để người soạn biết cần sửa gì."))
    if name in ("submit", "publish"):
        check_ready_for_review(b)
    return t


def _check_step_actor(b: Bulletin, actor: Any, token: ApiToken | None) -> None:
    step = current_step(b)
    if step is None:  # pragma: no cover - a submitted bulletin always has a step left
        raise BulletinError("no_step_left", _("Bản tin đã đủ các bước duyệt."), 409)
    number, definition = step
    action = STEP_ROLES[definition["role"]][0]
    access_unit(actor, b.origin_unit, action, token)
    if not holds_role(actor, b.origin_unit, definition["role"]):
        raise AccessDenied(
            _("Bước %(n)s (“%(label)s”) cần vai trò %(role)s trên %(unit)s.")
            % {
                "n": number,
                "label": definition["label"],
                "role": Role(definition["role"]).label,
                "unit": b.origin_unit.name,
            }
        )
    if actor.pk in (b.created_by_id, b.updated_by_id):
        raise BulletinError(
            "approver_is_author",
            _("Người duyệt phải là người khác với người soạn và người sửa bản tin lần cuối."),
            403,
        )
    if any(a.user_id == actor.pk for a in active_approvals(b)):
        raise BulletinError(
            "approver_repeated", _("Bạn đã duyệt một bước của bản tin này; mỗi người duyệt một bước."), 403
        )


def available_transitions(b: Bulletin, actor: Any, token: ApiToken | None = None) -> list[Transition]:
    out = []
    for t in TRANSITIONS.values():
        if not t.public:
            continue
        try:
            access_transition(b, t.name, actor, token)
            check_transition(b, t.name, note="x")
        except (BulletinError, AccessDenied, DjangoValidationError):
            continue
        except Exception as exc:  # UnitNotFound and other Http404s
            if exc.__class__.__name__ in ("UnitNotFound", "Http404"):
                continue
            raise
        out.append(t)
    return out


def _record_decision(b: Bulletin, decision: str, actor: Any, note: str) -> int:
    """Record an approver's decision on the bulletin's current step; returns the step number."""
    number, definition = current_step(b) or (0, {"role": "", "label": ""})
    Approval.objects.create(
        bulletin=b,
        step=number,
        step_label=definition["label"],
        role=definition["role"],
        decision=decision,
        user=actor,
        version=b.version,
        note=note,
    )
    return number


def do_transition(
    bulletin: Bulletin,
    name: str,
    *,
    actor: Any,
    note: str = "",
    request: HttpRequest | None = None,
    version: int | None = None,
    confirmation: TotpConfirmation | None = None,
) -> Bulletin:
    """Check, apply and audit one workflow transition, in one transaction. The caller has authorised it
    (:func:`access_transition`); this checks only that the bulletin can take it now (:func:`check_transition`).

    ``version``: the version the actor was looking at; a decision (approve, send back, publish) on a bulletin
    changed since then is refused, so nobody approves text or audio they have not seen.

    ``confirmation``: from :func:`access_transition`'s companion :func:`access_totp_confirmation`; a cancel that
    silences an emergency (looked at again under the row lock: one may have started meanwhile) is refused
    without it."""
    note = _CONTROL_RE.sub("", note or "").strip()[:2000]
    with transaction.atomic():
        b = Bulletin.objects.select_for_update().select_related("origin_unit").get(pk=bulletin.pk)
        t = check_transition(b, name, note=note)
        if version is not None and name in ("approve", "reject", "publish") and version != b.version:
            raise BulletinError(
                "bulletin_changed",
                _("Bản tin vừa được sửa thành phiên bản %(n)s. Hãy xem thay đổi rồi mới “%(action)s”.")
                % {"n": b.version, "action": _(t.label).lower()},
                409,
            )
        if confirmation is None and totp_needed(b, name):
            raise BulletinError(
                "totp_required",
                _(
                    "Hủy bản tin này sẽ dừng phát khẩn cấp trên loa: cần mã xác thực một lần (TOTP) từ ứng dụng "
                    "xác thực của bạn."
                ),
                403,
            )
        before = b.state
        now = timezone.now()
        data: dict[str, Any] = {"from": before, "version": b.version}
        fields = ["state", "updated_at"]
        target = t.target
        if name == "submit":
            b.submitted_at = now
            fields.append("submitted_at")
        elif name == "approve":
            data["step"] = _record_decision(b, Approval.Decision.APPROVED, actor, note)
            if current_step(b) is not None:
                target = State.SUBMITTED
            else:
                b.approved_at = now
                fields.append("approved_at")
        elif name == "reject":
            data["step"] = _record_decision(b, Approval.Decision.REJECTED, actor, note)
            _clear_approvals(b, now)
        elif name in ("withdraw", "return_to_review"):
            _clear_approvals(b, now)
            b.approved_at = None
            fields.append("approved_at")
        elif name == "publish":
            b.published_at, b.published_by = now, actor
            fields += ["published_at", "published_by"]
        elif name in ("cancel", "expire"):
            b.closed_at = now
            fields.append("closed_at")
        b.state = target
        b.save(update_fields=fields)
        if name == "publish":
            data["feed"] = publish_feed(b, actor)
            _supersede(b, actor, request)
        elif name in ("cancel", "expire") and before == State.PUBLISHED:
            data["withdrawn"] = withdraw_feed(b, cancel=name == "cancel")
        if note:
            data["note"] = note
        if confirmation is not None:
            data["totp_confirmed"] = True
        record(
            f"bulletin.{name}",
            actor=actor,
            request=request,
            unit=b.origin_unit,
            obj=b,
            message=f"{t.label}: {b.title}"[:500],
            data=data | {"to": b.state},
        )
        transaction.on_commit(lambda: signals.bulletin_transition.send(Bulletin, bulletin=b, name=name))
    bulletin.refresh_from_db()
    return bulletin


def _clear_approvals(b: Bulletin, now: dt.datetime) -> None:
    b.approvals.filter(cleared_at__isnull=True).update(cleared_at=now)


def _supersede(b: Bulletin, actor: Any, request: HttpRequest | None) -> None:
    old = b.replaces
    if old is None:
        return
    Bulletin.objects.filter(pk=old.pk).update(superseded_by=b)
    if old.state in EXPIRABLE:
        do_transition(old, "expire", actor=SYSTEM, note=f"Được thay thế bởi bản tin #{b.pk}", request=request)


def expire_due(now: dt.datetime | None = None, ids: Iterable[int] | None = None) -> int:
    """Expire every bulletin whose validity has ended (run by ``loa bulletins expire`` and at read time)."""
    now = now or timezone.now()
    qs = Bulletin.objects.filter(state__in=EXPIRABLE, valid_until__isnull=False, valid_until__lte=now)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    count = 0
    for b in qs.select_related("origin_unit"):
        try:
            do_transition(b, "expire", actor=SYSTEM, note="Hết thời hạn hiệu lực")
            count += 1
        except BulletinError:  # changed meanwhile by someone else
            continue
    return count
