"""Creating and editing bulletins: fields, comments, attachments, audio, replacement drafts (``do_*``)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from loa.accounts.models import ApiToken
from loa.audit.log import record
from loa.content.errors import BulletinError
from loa.content.models import (
    Attachment,
    Bulletin,
    Comment,
    State,
)
from loa.content.validation import (
    _CONTROL_RE,
    SUBSTANTIVE_FIELDS,
    _check_asset,
    _check_consistency,
    _err,
    check_bulletin_data,
)
from loa.content.versions import _save_version, snapshot
from loa.content.workflow import do_transition
from loa.units.models import Level, Unit

# ---- create and edit -----------------------------------------------------------------------------------


def do_create_bulletin(
    origin: Unit,
    data: dict[str, Any],
    *,
    actor: Any,
    token: ApiToken | None = None,
    request: HttpRequest | None = None,
    shared_from: Bulletin | None = None,
    replaces: Bulletin | None = None,
) -> Bulletin:
    if origin.level == Level.ZONE:
        raise _err(
            "origin_unit", "origin_is_zone", _("Bản tin được tạo ở cấp tỉnh hoặc xã, không ở cấp thôn.")
        )
    clean, receivers = check_bulletin_data(data, origin, actor=actor, token=token)
    clean.setdefault("produced_at", None)
    if clean["produced_at"] is None:
        clean["produced_at"] = timezone.now()
    if not clean.get("author_name"):
        clean["author_name"] = getattr(actor, "full_name", "") or getattr(actor, "username", "")
    b = Bulletin(
        origin_unit=origin, created_by=actor, updated_by=actor, shared_from=shared_from, replaces=replaces
    )
    for name, value in clean.items():
        setattr(b, name, value)
    _check_consistency(b)
    with transaction.atomic():
        b.save()
        if receivers:
            b.receivers.set(receivers)
        _save_version(b, actor, True)
        record(
            "bulletin.created",
            actor=actor,
            request=request,
            unit=origin,
            obj=b,
            message=f"Tạo bản tin: {b.title}"[:500],
            data={
                "shared_from": shared_from.pk if shared_from else None,
                "replaces": replaces.pk if replaces else None,
            },
        )
    return b


def do_update_bulletin(
    bulletin: Bulletin,
    data: dict[str, Any],
    *,
    actor: Any,
    token: ApiToken | None = None,
    request: HttpRequest | None = None,
) -> Bulletin:
    """Save an edit as a new version; a substantive edit after approval (or under review) goes back to review."""
    clean, receivers = check_bulletin_data(data, bulletin.origin_unit, partial=True, actor=actor, token=token)
    with transaction.atomic():
        b = Bulletin.objects.select_for_update().select_related("origin_unit").get(pk=bulletin.pk)
        if b.state not in (State.DRAFT, State.SUBMITTED, State.APPROVED):
            raise BulletinError(
                "bulletin_not_editable",
                _("Bản tin “%(state)s” không sửa được nữa; hãy tạo bản tin thay thế.")
                % {"state": b.get_state_display()},
                409,
            )
        before = snapshot(b)
        for name, value in clean.items():
            setattr(b, name, value)
        _check_consistency(b)
        after_fields = {k: v for k, v in snapshot(b).items() if k != "receivers"}
        changed = sorted(k for k, v in after_fields.items() if before[k] != v)
        if receivers is not None and sorted(u.code for u in receivers) != before["receivers"]:
            changed.append("receivers")
        if not changed:
            return b
        substantive = bool(SUBSTANTIVE_FIELDS.intersection(changed))
        b.version += 1
        b.updated_by = actor
        b.save()
        if receivers is not None:
            b.receivers.set(receivers)
        version = _save_version(b, actor, substantive)
        record(
            "bulletin.updated",
            actor=actor,
            request=request,
            unit=b.origin_unit,
            obj=b,
            message=f"Sửa bản tin (phiên bản {version.number}): {b.title}"[:500],
            data={"changed": changed, "substantive": substantive, "version": version.number},
        )
        # Any change of the text or audio of a bulletin under review or approved returns it to review: the
        # approvals are cleared, an approver's decision names the version it saw (``do_transition(version=)``)
        # and the bulletin page shows the approver what changed since it was sent (:func:`review_baseline`).
        if substantive and b.state in (State.SUBMITTED, State.APPROVED):
            note = (
                "Sửa nội dung sau khi duyệt"
                if b.state == State.APPROVED
                else "Sửa nội dung khi đang chờ duyệt"
            )
            do_transition(b, "return_to_review", actor=actor, request=request, note=note)
    bulletin.refresh_from_db()
    return bulletin


def do_add_comment(
    b: Bulletin, text: str, *, actor: Any, token: ApiToken | None = None, request: HttpRequest | None = None
) -> Comment:
    text = _CONTROL_RE.sub("", text or "").strip()
    if not text:
        raise _err("text", "comment_required", _("Bình luận không được để trống."))
    if len(text) > 4000:
        raise _err("text", "comment_too_long", _("Bình luận dài quá 4000 ký tự."))
    with transaction.atomic():
        comment = Comment.objects.create(bulletin=b, author=actor, text=text)
        record(
            "bulletin.commented",
            actor=actor,
            request=request,
            unit=b.origin_unit,
            obj=b,
            message=f"Bình luận bản tin: {b.title}"[:500],
            data={"comment": comment.pk},
        )
    return comment


def do_attach(
    b: Bulletin,
    kind: str,
    asset_id: int,
    title: str = "",
    *,
    actor: Any,
    token: ApiToken | None = None,
    request: HttpRequest | None = None,
) -> Attachment:
    if kind not in Attachment.Kind.values:
        raise _err(
            "kind",
            "attachment_kind_invalid",
            _("Loại tệp đính kèm phải là audio, image, video hoặc document."),
        )
    if b.state not in (State.DRAFT, State.SUBMITTED, State.APPROVED):
        raise BulletinError("bulletin_not_editable", _("Bản tin này không sửa được nữa."), 409)
    asset_id = _check_asset(asset_id, "asset_id", kind, actor=actor, token=token)
    if b.attachments.filter(asset_id=asset_id).exists():
        raise BulletinError("attachment_duplicate", _("Tệp này đã được đính kèm vào bản tin."), 409)
    with transaction.atomic():
        att = Attachment.objects.create(
            bulletin=b, kind=kind, asset_id=asset_id, title=" ".join(title.split())[:300], added_by=actor
        )
        record(
            "bulletin.attached",
            actor=actor,
            request=request,
            unit=b.origin_unit,
            obj=b,
            message=f"Đính kèm tệp vào bản tin: {b.title}"[:500],
            data={"kind": kind, "asset": asset_id},
        )
    return att


def do_detach(
    attachment: Attachment,
    *,
    actor: Any,
    token: ApiToken | None = None,
    request: HttpRequest | None = None,
) -> None:
    """Remove an attachment from a bulletin (the file stays in the unit's library)."""
    b = attachment.bulletin
    if b.state not in (State.DRAFT, State.SUBMITTED, State.APPROVED):
        raise BulletinError("bulletin_not_editable", _("Bản tin này không sửa được nữa."), 409)
    with transaction.atomic():
        data = {"kind": attachment.kind, "asset": attachment.asset_id, "title": attachment.title}
        attachment.delete()
        record(
            "bulletin.detached",
            actor=actor,
            request=request,
            unit=b.origin_unit,
            obj=b,
            message=f"Gỡ tệp đính kèm khỏi bản tin: {b.title}"[:500],
            data=data,
        )


def do_upload_attachment(
    b: Bulletin,
    path: Any,
    original_name: str,
    title: str = "",
    *,
    actor: Any,
    token: ApiToken | None = None,
    request: HttpRequest | None = None,
) -> Attachment:
    """Check an uploaded image or document (by content), file it in the unit's library and attach it."""
    from loa.content.attachments import AttachmentRejected, do_ingest_attachment

    if b.state not in (State.DRAFT, State.SUBMITTED, State.APPROVED):
        raise BulletinError("bulletin_not_editable", _("Bản tin này không sửa được nữa."), 409)
    try:
        asset = do_ingest_attachment(
            path, unit=b.origin_unit, actor=actor, original_name=original_name, request=request
        )
    except AttachmentRejected as exc:
        raise BulletinError(exc.code, exc.message, 413 if exc.code == "too_large" else 400, "file") from exc
    return do_attach(
        b, asset.kind, asset.pk, title or asset.original_name, actor=actor, token=token, request=request
    )


def do_set_audio(
    bulletin: Bulletin,
    asset_id: int | None,
    *,
    actor: Any,
    token: ApiToken | None = None,
    request: HttpRequest | None = None,
) -> Bulletin:
    """Use a library audio asset as the bulletin's audio (or none); the duration follows the asset."""
    data: dict[str, Any] = {"audio_asset_id": asset_id}
    if asset_id is not None:
        from loa.media.models import MediaAsset

        _check_asset(asset_id, actor=actor, token=token)
        duration = MediaAsset.objects.filter(pk=asset_id).values_list("duration_s", flat=True).first()
        if duration:
            data["duration_s"] = max(1, round(float(duration)))
    else:
        data["duration_s"] = None
    return do_update_bulletin(bulletin, data, actor=actor, token=token, request=request)


def do_make_audio(
    bulletin: Bulletin, *, actor: Any, token: ApiToken | None = None, request: HttpRequest | None = None
) -> Bulletin:
    """Turn a text bulletin into audio in one step: synthesize its "read as" text and attach the asset."""
    text = bulletin.read_as or "\n".join(p for p in (bulletin.title, bulletin.body or bulletin.summary) if p)
    if not text.strip():
        raise _err("body", "body_required", _("Bản tin chưa có nội dung để đọc thành âm thanh."))
    # The TTS service normalizes and synthesizes through the media pipeline (loudness, mono MP3) and files the
    # clip in the unit's media library, named after the bulletin; the bulletin points at that ordinary asset.
    from loa.tts.engines import TtsError
    from loa.tts.services import do_synthesize

    try:
        clip = do_synthesize(
            text,
            actor=actor,
            read_as=bulletin.read_as or None,
            unit=bulletin.origin_unit,
            request=request,
            name=bulletin.title,
        )
    except TtsError as exc:
        raise BulletinError(exc.code, exc.message, 400) from exc
    data: dict[str, Any] = {"audio_asset_id": int(clip.media_asset_id)}
    if clip.duration_s:
        data["duration_s"] = max(1, round(float(clip.duration_s)))
    return do_update_bulletin(bulletin, data, actor=actor, token=token, request=request)


def do_copy_as_replacement(
    old: Bulletin, *, actor: Any, token: ApiToken | None = None, request: HttpRequest | None = None
) -> Bulletin:
    """A new draft that will supersede ``old`` when it is published."""
    if old.state not in (State.PUBLISHED, State.APPROVED, State.SUBMITTED):
        raise BulletinError(
            "not_replaceable", _("Chỉ thay thế được bản tin đã gửi duyệt hoặc đã phát hành."), 409
        )
    data = {k: v for k, v in snapshot(old).items() if k not in ("produced_at",)}
    return do_create_bulletin(old.origin_unit, data, actor=actor, token=token, request=request, replaces=old)
