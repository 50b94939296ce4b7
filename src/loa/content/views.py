"""Console pages for bulletins: library, editor, bulletin page, inbox, approval queue.

Pages authorise through :mod:`loa.accounts.access` (via :func:`loa.content.access.access_bulletin` and
``access_unit``) and change state only through the ``do_*`` functions of the content modules (:mod:`~loa.content.workflow`,
:mod:`~loa.content.editing`, :mod:`~loa.content.feed`, :mod:`~loa.content.policies`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loa.accounts.access import access_unit, access_unit_code, access_units, can
from loa.api.errors import ApiError
from loa.console.current import current_unit
from loa.console.dates import date_problem, moment_text, parse_day, parse_moment
from loa.content import audio as bulletin_audio
from loa.content import scope as bulletin_scope
from loa.content.access import (
    access_bulletin,
    access_comment,
    access_feed_decision,
    access_feed_item,
    can_comment,
    visible_bulletins,
)
from loa.content.api import approval_queue_for, filter_library, inbox_items
from loa.content.editing import (
    do_add_comment,
    do_attach,
    do_copy_as_replacement,
    do_create_bulletin,
    do_detach,
    do_make_audio,
    do_set_audio,
    do_update_bulletin,
    do_upload_attachment,
)
from loa.content.errors import BulletinError, BulletinNotFound
from loa.content.feed import FEED_TRANSITIONS, do_feed_transition, do_republish, do_share_up
from loa.content.models import (
    ApprovalPolicy,
    Bulletin,
    BulletinVersion,
    ContentType,
    FeedItem,
    Field,
    Language,
    Priority,
    State,
)
from loa.content.policies import (
    DEFAULT_STEPS,
    MAX_STEPS,
    STEP_ROLES,
    current_step,
    do_set_approval_policy,
    policy_steps,
)
from loa.content.provenance import provenance
from loa.content.validation import FIELD_LABELS
from loa.content.validity import all_as_read_now, as_read_now, feed_all_as_read_now
from loa.content.versions import diff_versions, review_baseline, snapshot
from loa.content.workflow import (
    TRANSITIONS,
    access_totp_confirmation,
    access_transition,
    available_transitions,
    do_transition,
    expire_due,
    totp_needed,
)
from loa.errors import Refusal
from loa.units.models import Level, Unit

FORM_FIELDS = [
    "title",
    "summary",
    "body",
    "read_as",
    "field",
    "content_type",
    "priority",
    "author_name",
    "author_pen_name",
    "author_email",
    "news_source",
    "relay_source",
    "language",
]
INT_FIELDS = ("field", "content_type", "priority")


def _int_or_raw(value: str) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _dt_or_none(value: str) -> Any:
    """A validity time as typed (dd/mm/yyyy hh:mm, console/dates.py) in ISO form; left as typed if it is not one,
    so the validation names the field."""
    value = (value or "").strip()
    moment = parse_moment(value)
    return moment.isoformat() if moment else (value or None)


def _check_form_dates(request: HttpRequest) -> None:
    """The validity times as typed, said in plain words when they are not dd/mm/yyyy hh:mm or not in the calendar
    (the domain's own check speaks of ISO 8601, the API's form)."""
    for name in ("valid_from", "valid_until"):
        problem = date_problem(request.POST.get(name), with_time=True)
        if problem:
            label = _(FIELD_LABELS[name])
            raise BulletinError("datetime_invalid", f"{label}: {problem}.", 400, name)


def _form_data(request: HttpRequest) -> dict[str, Any]:
    post = request.POST
    data: dict[str, Any] = {}
    for name in FORM_FIELDS:
        if name in post:
            data[name] = _int_or_raw(post[name]) if name in INT_FIELDS else post[name]
    data["is_relay"] = post.get("is_relay") == "on"
    for name in ("valid_from", "valid_until"):
        if name in post:
            data[name] = _dt_or_none(post[name])
    if post.get("duration_s", "").strip():
        data["duration_s"] = _int_or_raw(post["duration_s"].strip())
    elif "duration_s" in post:
        data["duration_s"] = None
    names, values = post.getlist("extra_name"), post.getlist("extra_value")
    data["extras"] = [
        {"name": n, "value": v} for n, v in zip(names, values, strict=False) if n.strip() or v.strip()
    ]
    data["receivers"] = post.getlist("receivers")
    return data


@dataclass
class ReceiverChoice:
    unit: Unit
    depth: int  # 0 the origin itself ("toàn bộ"), 1 a commune (or a commune's zone), 2 a province's zone
    search: str  # what the filter matches: name, code and, for a zone, its commune's name


def _receiver_choices(origin: Unit) -> list[ReceiverChoice]:
    """The units a bulletin of ``origin`` may target: itself, its communes and their zones (a province), or
    its zones (a commune); communes in name order, each followed by its zones."""
    units = list(
        Unit.objects.subtree(origin)
        .filter(is_active=True)
        .exclude(pk=origin.pk)
        .only("pk", "code", "name", "level", "path", "parent_id")
    )
    names = {u.pk: u.name for u in units}
    children: dict[int | None, list[Unit]] = {}
    for u in units:
        children.setdefault(u.parent_id, []).append(u)
    out = [ReceiverChoice(origin, 0, f"toàn bộ {origin.name} {origin.code}")]

    def walk(parent_id: int, depth: int) -> None:
        for u in sorted(children.get(parent_id, []), key=lambda x: x.name):
            parent_name = names.get(u.parent_id or 0, "")
            out.append(ReceiverChoice(u, depth, f"{u.name} {u.code} {parent_name}"))
            walk(u.pk, depth + 1)

    walk(origin.pk, 1)
    return out


def _local_input(value: dt.datetime | None) -> str:
    return moment_text(timezone.localtime(value)) if value else ""


def _editor_context(origin: Unit, values: dict[str, Any], bulletin: Bulletin | None) -> dict[str, Any]:
    return {
        "origin": origin,
        "bulletin": bulletin,
        "v": values,
        "fields": Field.choices,
        "content_types": ContentType.choices,
        "priorities": Priority.choices,
        "languages": Language.choices,
        "receiver_choices": _receiver_choices(origin),
        "selected": set(values.get("receivers") or []),
        "extras": (values.get("extras") or []) + [{"name": "", "value": ""}],
    }


def _values_of(b: Bulletin) -> dict[str, Any]:
    values = snapshot(b)
    values["valid_from"] = _local_input(b.valid_from)
    values["valid_until"] = _local_input(b.valid_until)
    return values


@login_required
@require_GET
def library(request: HttpRequest) -> HttpResponse:
    unit = current_unit(request)
    qs = visible_bulletins(request.user).select_related("origin_unit")
    params = request.GET
    try:
        qs = filter_library(
            qs,
            q=params.get("q", "").strip()[:200] or None,
            field=_int_or_none(params.get("field")),
            content_type=_int_or_none(params.get("content_type")),
            priority=_int_or_none(params.get("priority")),
            state=params.get("state") or None,
            unit=params.get("origin") or None,
            date_from=_date_or_none(params.get("date_from")),
            date_to=_date_or_none(params.get("date_to")),
        )
    except ApiError as exc:
        messages.error(request, exc.message)
        qs = qs.none()
    page = Paginator(qs.order_by("-produced_at", "-pk"), 30).get_page(params.get("page"))
    page.object_list = all_as_read_now(page.object_list)
    return render(
        request,
        "content/library.html",
        {
            "page": page,
            "unit": unit,
            "p": params,
            "fields": Field.choices,
            "content_types": ContentType.choices,
            "priorities": Priority.choices,
            "states": State.choices,
            "can_write": unit is not None and can(request.user, unit, "bulletin.edit"),
            "perms_policy": access_units(request.user, "settings.manage").exists(),
        },
    )


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _date_or_none(value: str | None) -> dt.date | None:
    return parse_day(value)


@login_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    origin = current_unit(request)
    if origin is None:
        raise Http404(_("Chưa chọn đơn vị."))
    access_unit(request.user, origin, "bulletin.edit")
    if request.method == "POST":
        data = _form_data(request)
        try:
            _check_form_dates(request)
            kept = _keep_preview(request, origin, data)
            b = do_create_bulletin(origin, data, actor=request.user, request=request)
        except BulletinError as exc:
            messages.error(request, exc.message)
            return render(request, "content/editor.html", _editor_context(origin, data, None), status=400)
        messages.success(
            request, _("Đã lưu bản nháp, kèm âm thanh đã nghe thử.") if kept else _("Đã lưu bản nháp.")
        )
        return redirect("content:detail", bulletin_id=b.pk)
    values = {
        "field": Field.GENERAL,
        "content_type": ContentType.TEXT,
        "priority": Priority.NORMAL,
        "language": Language.VIE,
        "author_name": getattr(request.user, "full_name", "") or request.user.get_username(),
    }
    return render(request, "content/editor.html", _editor_context(origin, values, None))


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    b = _bulletin(request, bulletin_id, "bulletin.edit")
    if request.method == "POST":
        data = _form_data(request)
        try:
            _check_form_dates(request)
            _keep_preview(request, b.origin_unit, data)
            do_update_bulletin(b, data, actor=request.user, request=request)
        except BulletinError as exc:
            messages.error(request, exc.message)
            return render(request, "content/editor.html", _editor_context(b.origin_unit, data, b), status=400)
        b.refresh_from_db()
        if review_baseline(b) is not None:
            messages.warning(request, _("Đã lưu. Nội dung thay đổi nên bản tin phải được duyệt lại."))
        else:
            messages.success(request, _("Đã lưu."))
        return redirect("content:detail", bulletin_id=b.pk)
    return render(
        request,
        "content/editor.html",
        {**_editor_context(b.origin_unit, _values_of(b), b), **media_context(request, b)},
    )


def _keep_preview(request: HttpRequest, origin: Unit, data: dict[str, Any]) -> bool:
    """The speech previewed in the editor ("Nghe thử") becomes the bulletin's audio when it is saved, if it was
    made from the "read as" text being saved; a preview of older text is not kept, and the page says so."""
    try:
        previewed = bulletin_audio.check_previewed_clip(
            origin, request.POST.get("tts_clip", ""), str(data.get("read_as", ""))
        )
    except BulletinError as exc:
        messages.warning(request, exc.message)
        return False
    if previewed is None:
        return False
    data["audio_asset_id"], duration = previewed
    data["duration_s"] = max(1, round(duration))
    return True


def _bulletin(request: HttpRequest, bulletin_id: int, action: str = "bulletin.view") -> Bulletin:
    """The bulletin as it is now: a page shows a lapsed one expired; a post expires it first (a GET changes
    nothing, :mod:`loa.content.validity`)."""
    if request.method != "GET":
        expire_due(ids=[bulletin_id])
    try:
        return as_read_now(access_bulletin(request.user, bulletin_id, action))
    except BulletinNotFound:
        raise Http404(_("Không tìm thấy bản tin.")) from None


def asset_url(asset_id: int | None) -> str:
    """Where the browser fetches a media asset's processed audio (served by the media API, with Range)."""
    return f"/api/v1/media/{asset_id}/audio" if asset_id else ""


@login_required
@require_GET
def detail(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    b = _bulletin(request, bulletin_id)
    versions = list(
        BulletinVersion.objects.filter(bulletin=b).select_related("created_by").order_by("-number")
    )
    diff_html = ""
    diff_of = _int_or_none(request.GET.get("diff"))
    by_number = {v.number: v for v in versions}
    if diff_of and diff_of in by_number and diff_of - 1 in by_number:
        _unified, table = diff_versions(by_number[diff_of - 1], by_number[diff_of])
        diff_html = mark_safe(table)  # noqa: S308 - difflib escapes the compared text
    step = current_step(b) if b.state == State.SUBMITTED else None
    review = _review_comparison(b, by_number)
    unit = b.origin_unit
    can_edit = can(request.user, unit, "bulletin.edit") and b.state in (
        State.DRAFT,
        State.SUBMITTED,
        State.APPROVED,
    )
    my_items = [
        i
        for i in FeedItem.objects.filter(bulletin=b).select_related("unit")
        if can(request.user, i.unit, "bulletin.view")
    ]
    play_now_url = ""
    if b.state == State.PUBLISHED and access_units(request.user, "device.control").exists():
        # the fleet's "send a command" form, with this bulletin chosen to play now
        play_now_url = reverse("fleet:command_new") + f"?action=play&bulletin_id={b.pk}"
    schedule_url = ""
    if b.state == State.PUBLISHED and access_units(request.user, "schedule.edit").exists():
        # the schedule form with this bulletin chosen (docs/broadcast.md: the officer's path)
        schedule_url = reverse("broadcast:schedule_new") + f"?bulletin={b.pk}"
    return render(
        request,
        "content/detail.html",
        {
            "b": b,
            "play_now_url": play_now_url,
            "schedule_url": schedule_url,
            "receivers": b.receivers.order_by("path"),
            "prov": provenance(b),
            "versions": versions,
            "diff_html": diff_html,
            "diff_of": diff_of,
            "diff_audio": _audio_pair(by_number.get((diff_of or 0) - 1), by_number.get(diff_of or 0)),
            "review": review,
            "step": step,
            "actions": available_transitions(b, request.user),
            "comments": b.comments.select_related("author"),
            "can_edit": can_edit,
            "can_comment": can_comment(request.user, b),
            "can_share": can(request.user, unit, "bulletin.edit")
            and unit.level == Level.COMMUNE
            and b.state in (State.APPROVED, State.PUBLISHED),
            "can_replace": can(request.user, unit, "bulletin.edit")
            and b.state in (State.SUBMITTED, State.APPROVED, State.PUBLISHED),
            "audio_url": asset_url(b.audio_asset_id),
            "feed_items": my_items,
            "extras": b.extras or [],
            **media_context(request, b),
        },
    )


def _audio_pair(old: BulletinVersion | None, new: BulletinVersion | None) -> dict[str, Any] | None:
    """Both versions' audio, for players side by side, when the audio differs between them."""
    if old is None or new is None:
        return None
    a, b = old.snapshot.get("audio_asset_id"), new.snapshot.get("audio_asset_id")
    if a == b:
        return None
    return {"old": asset_url(a), "new": asset_url(b), "old_number": old.number, "new_number": new.number}


def _review_comparison(b: Bulletin, by_number: dict[int, BulletinVersion]) -> dict[str, Any] | None:
    """What changed since the approver last saw the bulletin whole: text diff and both audios."""
    base = review_baseline(b)
    current = by_number.get(b.version)
    if base is None or current is None:
        return None
    _unified, table = diff_versions(base, current)
    return {
        "old": base.number,
        "new": current.number,
        "table": mark_safe(table),  # noqa: S308 - difflib escapes the compared text
        "audio": _audio_pair(base, current),
    }


#: Transitions that reach beyond the page: the POST first answers with a confirmation naming their scope.
CONFIRMED_TRANSITIONS = {"publish": bulletin_scope.publish_scope, "cancel": bulletin_scope.cancel_scope}


@login_required
@require_POST
def transition(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    b = _bulletin(request, bulletin_id)
    name = request.POST.get("name", "")
    t = TRANSITIONS.get(name)
    if t is None or not t.public:
        messages.error(request, _("Thao tác không hợp lệ."))
        return redirect("content:detail", bulletin_id=b.pk)
    try:
        access_transition(b, name, request.user)  # the same question the page asked to show the button
    except BulletinError as exc:
        messages.error(request, exc.message)
        return redirect("content:detail", bulletin_id=b.pk)

    def confirm_page(error: Refusal | None = None) -> HttpResponse:
        context = {
            "b": b,
            "label": _(t.label),
            "scope": CONFIRMED_TRANSITIONS[name](b),
            "action": reverse("content:transition", args=[b.pk]),
            "hidden": {"name": name, "version": request.POST.get("version", str(b.version))},
            "danger": name == "cancel",
            "back": reverse("content:detail", args=[b.pk]),
            "ask_totp": totp_needed(b, name),  # the cancel stops an emergency on loudspeakers
            "error": error.message if error is not None else "",
        }
        return render(request, "content/confirm.html", context, status=error.status if error else 200)

    if name in CONFIRMED_TRANSITIONS and request.POST.get("confirm") != "1":
        return confirm_page()
    try:
        confirmation = access_totp_confirmation(b, name, request.user, request.POST.get("totp", ""))
    except Refusal as exc:  # the person retypes the code on the same confirmation
        return confirm_page(exc)
    try:
        seen = request.POST.get("version", "")
        do_transition(
            b, name, actor=request.user, note=request.POST.get("note", ""), request=request,
            version=int(seen) if seen.isdecimal() else None, confirmation=confirmation,
        )  # fmt: skip
        messages.success(request, _("Đã thực hiện: %(action)s.") % {"action": _(t.label)})
    except BulletinError as exc:
        messages.error(request, exc.message)
    return redirect("content:detail", bulletin_id=b.pk)


@login_required
@require_POST
def comment(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    b = access_comment(request.user, _bulletin(request, bulletin_id))
    try:
        do_add_comment(b, request.POST.get("text", ""), actor=request.user, request=request)
        messages.success(request, _("Đã gửi bình luận."))
    except BulletinError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("content:detail", args=[b.pk]) + "#comments")


@login_required
@require_POST
def make_audio(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    b = _bulletin(request, bulletin_id, "bulletin.edit")
    try:
        do_make_audio(b, actor=request.user, request=request)
        messages.success(request, _("Đã tạo âm thanh từ văn bản."))
    except BulletinError as exc:
        messages.error(request, exc.message)
    return redirect("content:detail", bulletin_id=b.pk)


@login_required
@require_POST
def share(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    b = _bulletin(request, bulletin_id, "bulletin.edit")
    try:
        do_share_up(b, actor=request.user, note=request.POST.get("note", ""), request=request)
        messages.success(request, _("Đã đề xuất bản tin lên tỉnh."))
    except BulletinError as exc:
        messages.error(request, exc.message)
    return redirect("content:detail", bulletin_id=b.pk)


@login_required
@require_POST
def replace(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    b = _bulletin(request, bulletin_id, "bulletin.edit")
    try:
        new = do_copy_as_replacement(b, actor=request.user, request=request)
    except BulletinError as exc:
        messages.error(request, exc.message)
        return redirect("content:detail", bulletin_id=b.pk)
    messages.success(request, _("Đã tạo bản tin thay thế (bản nháp)."))
    return redirect("content:edit", bulletin_id=new.pk)


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    unit = current_unit(request)
    if unit is None:
        raise Http404(_("Chưa chọn đơn vị."))
    access_unit(request.user, unit, "bulletin.view")
    state = request.GET.get("state") or None
    try:
        qs = inbox_items(unit, state=state)
    except ApiError as exc:
        messages.error(request, exc.message)
        qs = inbox_items(unit)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    page.object_list = feed_all_as_read_now(page.object_list)
    return render(
        request,
        "content/inbox.html",
        {
            "page": page,
            "unit": unit,
            "state": state or "",
            "states": FeedItem.State.choices,
            "can_take": can(request.user, unit, "bulletin.take"),
            "can_republish": can(request.user, unit, "bulletin.edit"),
            "can_schedule": can(request.user, unit, "schedule.edit"),
        },
    )


@login_required
@require_POST
def feed_action(request: HttpRequest, item_id: int, name: str) -> HttpResponse:
    try:
        if name == "republish":
            item = access_feed_item(request.user, item_id, "bulletin.edit")
        else:
            item = access_feed_decision(request.user, item_id)
    except BulletinError:
        raise Http404(_("Không tìm thấy bản tin trong hộp thư.")) from None
    if name == "decline" and request.POST.get("confirm") != "1":
        context = {
            "b": item.bulletin,
            "label": _(FEED_TRANSITIONS[name][2]),
            "scope": bulletin_scope.decline_scope(item),
            "action": reverse("content:feed_action", args=[item.pk, name]),
            "hidden": {},
            "note": request.POST.get("note", ""),
            "show_note": True,
            "danger": True,
            "back": reverse("content:inbox"),
        }
        return render(request, "content/confirm.html", context)
    try:
        if name == "republish":
            copy = do_republish(item, actor=request.user, request=request)
            messages.success(request, _("Đã tạo bản nháp của tỉnh từ bản tin xã đề xuất."))
            return redirect("content:edit", bulletin_id=copy.pk)
        if name not in FEED_TRANSITIONS:
            raise Http404()
        do_feed_transition(item, name, actor=request.user, note=request.POST.get("note", ""), request=request)
        messages.success(request, _("Đã nhận bản tin.") if name == "take" else _("Đã từ chối bản tin."))
    except BulletinError as exc:
        messages.error(request, exc.message)
    return redirect("content:inbox")


@login_required
@require_GET
def approvals(request: HttpRequest) -> HttpResponse:
    items = approval_queue_for(request.user)
    return render(request, "content/approvals.html", {"items": items})


# ---- audio and attachments -----------------------------------------------------------------------------


def duration_text(seconds: float | None) -> str:
    """A duration as people say it: "45 giây", "2 phút 05 giây"."""
    if not seconds:
        return ""
    total = max(1, round(float(seconds)))
    minutes, secs = divmod(total, 60)
    if minutes:
        return _("%(minutes)s phút %(seconds)02d giây") % {"minutes": minutes, "seconds": secs}
    return _("%(seconds)s giây") % {"seconds": secs}


def _editable(b: Bulletin) -> bool:
    return b.state in (State.DRAFT, State.SUBMITTED, State.APPROVED)


def media_context(request: HttpRequest, b: Bulletin) -> dict[str, Any]:
    """What the "Âm thanh và tệp đính kèm" section needs (detail and editor pages)."""
    from loa.content.attachments import ALLOWED_TEXT, max_bytes
    from loa.media.access import usable_media_assets
    from loa.media.audio import setting

    unit = b.origin_unit
    can_edit = _editable(b) and can(request.user, unit, "bulletin.edit")
    can_upload = can_edit and can(request.user, unit, "media.upload")
    library: list[Any] = []
    if can_edit:
        library = list(
            usable_media_assets(request.user)
            .filter(unit=unit)
            .exclude(pk=b.audio_asset_id or 0)
            .order_by("-created_at")[:300]
        )
    attachments = list(b.attachments.select_related("asset").order_by("added_at", "pk"))
    return {
        "audio": b.audio_asset,
        "audio_url": asset_url(b.audio_asset_id),
        "audio_duration": duration_text(b.audio_asset.duration_s if b.audio_asset else b.duration_s),
        "library": [(a, duration_text(a.duration_s)) for a in library],
        "attachments": attachments,
        "media_can_edit": can_edit,
        "media_can_upload": can_upload,
        "audio_max_mb": int(setting("LOA_MEDIA_MAX_BYTES")) // (1024 * 1024),
        "audio_max_minutes": int(setting("LOA_MEDIA_MAX_DURATION_S")) // 60,
        "attach_max_mb": max_bytes() // (1024 * 1024),
        "attach_allowed": _(ALLOWED_TEXT),
    }


def _back(b: Bulletin) -> HttpResponse:
    return redirect(reverse("content:detail", args=[b.pk]) + "#media")


def _audio_job_context(b: Bulletin, job: Any) -> dict[str, Any]:
    from loa.media.services import job_outcome

    outcome = job_outcome(job)
    asset = outcome["asset"]
    result = job.result or {}
    return {
        "b": b,
        **outcome,
        "asset_duration": duration_text(asset.duration_s) if asset else "",
        "attached": result.get("bulletin_id") == b.pk,
        "attach_error": result.get("bulletin_error", ""),
    }


def _job_answer(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    """The job fragment for htmx; once the audio is the bulletin's, the page reloads to show it in place."""
    response = render(request, "content/_audio_job.html", context)
    if context.get("attached"):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def audio_upload(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    """Upload (or a browser recording) for the bulletin's audio: the media library's job, progress polled."""
    from loa.media.api import receive_upload
    from loa.media.audio import MediaRejected

    b = _bulletin(request, bulletin_id, "bulletin.edit")
    status = 200
    try:
        if not _editable(b):
            raise BulletinError("bulletin_not_editable", _("Bản tin này không sửa được nữa."), 409)
        access_unit(request.user, b.origin_unit, "media.upload")
        job = receive_upload(request, b.origin_unit, task=bulletin_audio.TASK, bulletin_id=b.pk)
    except MediaRejected as exc:
        context: dict[str, Any] = {"b": b, "error": exc.message, "code": exc.code}
        status = 413 if exc.code == "too_large" else 400
    except BulletinError as exc:
        context, status = {"b": b, "error": exc.message, "code": exc.code}, exc.status
    else:
        context = _audio_job_context(b, job)
    if request.headers.get("HX-Request"):
        # htmx swaps only 2xx answers: the refusal is shown in place, the status says what happened
        return _job_answer(request, context)
    if status != 200:
        messages.error(request, context["error"])
        return render(
            request, "content/audio_job.html", {**context, **media_context(request, b)}, status=status
        )
    return redirect("content:audio_job", bulletin_id=b.pk, job_id=context["job"].pk)


@login_required
@require_GET
def audio_job(request: HttpRequest, bulletin_id: int, job_id: int) -> HttpResponse:
    from loa.jobs.models import Job
    from loa.media.services import JOB_KIND

    b = _bulletin(request, bulletin_id, "bulletin.edit")
    job = Job.objects.select_related("unit").filter(pk=job_id, kind=JOB_KIND, unit=b.origin_unit).first()
    if job is None:
        raise Http404(_("Không tìm thấy tác vụ xử lý tệp."))
    access_unit(request.user, b.origin_unit, "media.view")
    context = _audio_job_context(b, job)
    if request.headers.get("HX-Request"):
        return _job_answer(request, context)
    return render(request, "content/audio_job.html", {**context, **media_context(request, b)})


@login_required
@require_POST
def audio_set(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    """Use a library asset as the bulletin's audio (``asset_id``), or remove the audio (``asset_id`` empty)."""
    b = _bulletin(request, bulletin_id, "bulletin.edit")
    raw = request.POST.get("asset_id", "").strip()
    asset_id = _int_or_none(raw)
    try:
        if raw and asset_id is None:
            raise BulletinError("asset_invalid", _("Mã tệp không hợp lệ."), 400)
        if raw == "" and request.POST.get("remove") != "1":
            raise BulletinError("asset_required", _("Hãy chọn một tệp âm thanh trong thư viện."), 400)
        do_set_audio(b, asset_id, actor=request.user, request=request)
    except BulletinError as exc:
        messages.error(request, exc.message)
        return render(
            request,
            "content/audio_job.html",
            {"b": b, "error": exc.message, **media_context(request, b)},
            status=exc.status,
        )
    b.refresh_from_db()
    if asset_id is None:
        messages.success(request, _("Đã bỏ âm thanh của bản tin."))
    elif review_baseline(b) is not None:
        messages.warning(request, _("Đã gắn âm thanh. Nội dung thay đổi nên bản tin phải được duyệt lại."))
    else:
        messages.success(request, _("Đã gắn âm thanh vào bản tin."))
    return _back(b)


@login_required
@require_POST
def attach(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    """Attach an image or a document (uploaded, checked by content), or an audio asset of the unit's library."""
    b = _bulletin(request, bulletin_id, "bulletin.edit")
    title = request.POST.get("title", "")
    upload = request.FILES.get("file")
    try:
        if upload is not None:
            from loa.content.attachments import AttachmentRejected, save_chunks

            try:
                path = save_chunks(upload.chunks())
            except AttachmentRejected as exc:
                raise BulletinError(exc.code, exc.message, 413, "file") from exc
            try:
                access_unit(request.user, b.origin_unit, "media.upload")
                do_upload_attachment(b, path, upload.name or "", title, actor=request.user, request=request)
            finally:
                path.unlink(missing_ok=True)
        elif request.POST.get("asset_id"):
            asset_id = _int_or_none(request.POST["asset_id"])
            if asset_id is None:
                raise BulletinError("asset_invalid", _("Mã tệp không hợp lệ."), 400)
            do_attach(b, "audio", asset_id, title, actor=request.user, request=request)
        else:
            raise BulletinError("file_required", _("Chưa chọn tệp để đính kèm."), 400, "file")
    except BulletinError as exc:
        messages.error(request, exc.message)
        return render(
            request,
            "content/audio_job.html",
            {"b": b, "error": exc.message, **media_context(request, b)},
            status=exc.status,
        )
    messages.success(request, _("Đã đính kèm tệp."))
    return _back(b)


def _attachment(request: HttpRequest, bulletin_id: int, attachment_id: int, action: str) -> Any:
    from loa.content.models import Attachment

    b = _bulletin(request, bulletin_id, action)
    att = Attachment.objects.select_related("asset").filter(pk=attachment_id, bulletin=b).first()
    if att is None:
        raise Http404(_("Không tìm thấy tệp đính kèm."))
    return b, att


@login_required
@require_GET
def attachment_file(request: HttpRequest, bulletin_id: int, attachment_id: int) -> Any:
    """An attachment of a bulletin the user may see: images inline, documents as a download."""
    from loa.content.attachments import stored_path
    from loa.media.files import file_response
    from loa.media.services import asset_file_path

    _b, att = _attachment(request, bulletin_id, attachment_id, "bulletin.view")
    asset = att.asset
    path = asset_file_path(asset) if asset.kind == "audio" else stored_path(asset)
    if not path.is_file():
        raise Http404(_("Tệp không còn trên máy chủ."))
    response = file_response(request, path, asset.mime_type or "application/octet-stream")
    inline = asset.kind in ("audio", "image")
    name = asset.original_name or f"tep-dinh-kem.{asset.original_ext or 'bin'}"
    response["Content-Disposition"] = content_disposition_header(not inline, name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_POST
def detach(request: HttpRequest, bulletin_id: int, attachment_id: int) -> HttpResponse:
    b, att = _attachment(request, bulletin_id, attachment_id, "bulletin.edit")
    try:
        do_detach(att, actor=request.user, request=request)
        messages.success(request, _("Đã gỡ tệp đính kèm (tệp vẫn còn trong thư viện)."))
    except BulletinError as exc:
        messages.error(request, exc.message)
    return _back(b)


# ---- approval policies ---------------------------------------------------------------------------------


@login_required
@require_GET
def policies(request: HttpRequest) -> HttpResponse:
    """The units whose approval steps the user may set (province admin, system admin), with their steps."""
    units = list(
        access_units(request.user, "settings.manage")
        .filter(is_active=True, level__lte=Level.COMMUNE)
        .order_by("level", "name")[:500]
    )
    custom = {p.unit_id: p.steps for p in ApprovalPolicy.objects.filter(unit__in=units)}
    rows = [(u, custom.get(u.pk) or DEFAULT_STEPS, u.pk in custom) for u in units]
    return render(request, "content/policies.html", {"rows": rows})


def _policy_rows(steps: list[dict[str, str]]) -> list[dict[str, str]]:
    rows = [dict(s) for s in steps]
    return rows + [{"role": "", "label": ""}] * (MAX_STEPS - len(rows))


@login_required
@require_http_methods(["GET", "POST"])
def policy(request: HttpRequest, code: str) -> HttpResponse:
    unit = access_unit_code(request.user, code, "settings.manage")
    status = 200
    if request.method == "POST":
        roles, labels = request.POST.getlist("role"), request.POST.getlist("label")
        steps = [
            {"role": r, "label": lbl}
            for r, lbl in zip(roles, labels, strict=False)
            if r.strip() or lbl.strip()
        ]
        try:
            if request.POST.get("reset") == "1":
                steps = list(DEFAULT_STEPS)
            for i, step in enumerate(steps, start=1):
                if not step["role"].strip():
                    raise BulletinError(
                        "step_role_invalid",
                        _("Bước %(n)s: hãy chọn ai duyệt bước này.") % {"n": i},
                        400,
                        "steps",
                    )
            do_set_approval_policy(unit, steps, actor=request.user, request=request)
        except BulletinError as exc:
            messages.error(request, exc.message)
            status = exc.status
            current = steps
        else:
            messages.success(request, _("Đã lưu quy trình duyệt của %(unit)s.") % {"unit": unit.name})
            return redirect("content:policy", code=unit.code)
    else:
        current = policy_steps(unit)
    return render(
        request,
        "content/policy.html",
        {
            "unit": unit,
            "rows": _policy_rows(current),
            "step_roles": [(role, STEP_ROLES[role][1]) for role in STEP_ROLES],
            "max_steps": MAX_STEPS,
            "is_default": not ApprovalPolicy.objects.filter(unit=unit).exclude(steps=[]).exists(),
            "waiting": Bulletin.objects.filter(origin_unit=unit, state=State.SUBMITTED).count(),
        },
        status=status,
    )
