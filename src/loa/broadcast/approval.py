"""What may reach a loudspeaker: the one place that says which sources are approved (docs/adr/0007).

Approved by themselves:

* a **published bulletin** (it went through the bulletin workflow: an approver who is not its author),
* an **allow-listed relay** of the province,
* **approved audio**: the audio of a published bulletin, or an item of an approved programme.

Everything else — text typed into a programme (read by TTS), a clip uploaded or recorded into the library that
never went through approval — makes its programme wait (:attr:`Programme.State.PENDING`) until an approver of
the unit (``bulletin.approve``, the same people the unit's bulletin policy names) who is not its author
approves it. Only approved programmes are scheduled (:func:`check_programme_schedulable`) and compiled into
manifests (:mod:`loa.broadcast.compile`); "play now" takes a published bulletin or approved audio, never typed
text (:func:`check_play_source`). Emergencies are outside this rule: they are started by an approver with a
one-time code, which is their approval.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from loa.audit.log import record
from loa.broadcast import compile as comp
from loa.broadcast.models import ItemKind, Programme, ProgrammeItem, Schedule
from loa.content.models import Bulletin
from loa.content.models import State as BulletinState
from loa.errors import Refusal

REVIEWED_KINDS = frozenset({ItemKind.BULLETIN, ItemKind.RELAY})


class ApprovalRefusal(Refusal):
    """Something unapproved was about to reach a loudspeaker, or an approval that cannot be given."""


def approved_audio(sha256s: Iterable[str]) -> set[str]:
    """Of these sha256, the audio that went through approval: a published (still valid) bulletin's audio, or an
    item of an approved programme."""
    wanted = {s for s in sha256s if s}
    if not wanted:
        return set()
    now = timezone.now()
    via_bulletin = set(
        Bulletin.objects.filter(state=BulletinState.PUBLISHED, audio_asset__sha256__in=wanted)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .values_list("audio_asset__sha256", flat=True)
    )
    via_programme = set(
        ProgrammeItem.objects.filter(
            programme__state=Programme.State.APPROVED, sha256__in=wanted - via_bulletin
        ).values_list("sha256", flat=True)
    )
    return via_bulletin | via_programme


def unreviewed_items(items: Iterable[tuple[str, str]]) -> list[int]:
    """Positions of the ``(kind, sha256)`` items that need an approver: typed text, and library audio that is
    not approved audio. Bulletins and relays were checked when they were resolved (published, allow-listed)."""
    items = list(items)
    known = approved_audio(sha for kind, sha in items if kind == ItemKind.AUDIO)
    return [
        pos
        for pos, (kind, sha) in enumerate(items)
        if kind not in REVIEWED_KINDS and not (kind == ItemKind.AUDIO and sha in known)
    ]


def check_programme_schedulable(programme: Programme) -> None:
    if programme.state == Programme.State.APPROVED:
        return
    if programme.state == Programme.State.REJECTED:
        raise ApprovalRefusal(
            "programme_rejected",
            f"Chương trình “{programme.title}” đã bị trả lại, không thể đặt lịch phát.",
            409,
        )
    raise ApprovalRefusal(
        "programme_not_approved",
        f"Chương trình “{programme.title}” có văn bản gõ tay hoặc âm thanh chưa được duyệt: "
        "cần người duyệt (không phải người soạn) duyệt trước khi đặt lịch phát.",
        409,
    )


def check_play_source(kind: str, sha256: str | None = None) -> None:
    """``kind`` is the "play now" source kind (bulletin, media_asset, sha256, text). Typed text never plays
    directly; library audio only when it is approved audio (checked once ``sha256`` is known: ``None`` before
    the source is resolved)."""
    if kind == "text":
        raise ApprovalRefusal(
            "play_text_not_approved",
            "Văn bản gõ tay chưa được duyệt nên không phát ngay được: hãy soạn thành bản tin và gửi duyệt "
            "(khi khẩn cấp, người duyệt dùng chức năng phát khẩn cấp).",
            409,
        )
    if kind in ("media_asset", "sha256") and sha256 is not None and sha256 not in approved_audio([sha256]):
        raise ApprovalRefusal(
            "play_audio_not_approved",
            "Tệp âm thanh này chưa được duyệt: chỉ phát ngay được âm thanh của bản tin đã phát hành "
            "hoặc của chương trình đã duyệt.",
            409,
        )


def on_bulletin_transition(sender: Any, bulletin: Any, name: str, **kwargs: Any) -> None:
    """Receiver of ``loa.content.signals.bulletin_transition`` (after commit): a bulletin that is no longer
    published (cancelled, expired, replaced) leaves the manifests of the clusters its schedules reach now, not at
    the next periodic compilation (the compiler skips its slots, :func:`loa.broadcast.compile.programme_media`)."""
    if bulletin.state == BulletinState.PUBLISHED:
        return
    schedules = (
        Schedule.objects.filter(state=Schedule.State.ACTIVE, programme__items__bulletin=bulletin)
        .distinct()
        .prefetch_related("target_units", "target_devices__unit")
    )
    paths = sorted(
        {u.path for s in schedules for u in s.target_units.all()}
        | {d.unit.path for s in schedules for d in s.target_devices.all()}
    )
    if paths:
        comp.compile_manifests(unit_paths=paths)


def do_decide_programme(
    programme: Programme, *, approve: bool, actor: Any, note: str = "", request: Any = None
) -> Programme:
    """Approve (or send back) a waiting programme. The caller checked ``bulletin.approve`` on its unit; the
    author never approves their own programme."""
    note = " ".join((note or "").split())[:2000]
    with transaction.atomic():
        programme = Programme.objects.select_for_update().get(pk=programme.pk)
        if programme.state != Programme.State.PENDING:
            raise ApprovalRefusal(
                "programme_not_pending", "Chương trình này không ở trạng thái chờ duyệt.", 409
            )
        if programme.created_by_id is not None and programme.created_by_id == getattr(actor, "pk", None):
            raise ApprovalRefusal(
                "programme_self_approval",
                "Người soạn chương trình không tự duyệt được: cần một người duyệt khác.",
                403,
            )
        if not approve and not note:
            raise ApprovalRefusal("programme_note_required", "Cần ghi lý do trả lại chương trình.")
        programme.state = Programme.State.APPROVED if approve else Programme.State.REJECTED
        programme.decided_by = actor if getattr(actor, "pk", None) else None
        programme.decided_at = timezone.now()
        programme.decision_note = note
        programme.save(update_fields=["state", "decided_by", "decided_at", "decision_note", "updated_at"])
        verb = "Duyệt" if approve else "Trả lại"
        record(
            "broadcast.programme_approved" if approve else "broadcast.programme_rejected",
            actor=actor,
            request=request,
            unit=programme.unit,
            obj=programme,
            message=f"{verb} chương trình “{programme.title}”" + (f": {note}" if note else ""),
            data={"note": note},
        )
    return programme
