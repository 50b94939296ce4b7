"""The operators' side of feedback (/feedback/): the queue of the unit being looked at, with filters and bulk
assignment; a feedback's page with its history, internal notes, canned answers and every step of the workflow;
the citizen's phone or e-mail shown only on request, to those allowed, and audited."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from loa.accounts.access import access_unit, can
from loa.broadcast.recurrence import LOCAL_TZ
from loa.citizen import feedback_workflow as wf
from loa.citizen.feedback_access import (
    access_assign_target,
    access_feedback,
    access_feedback_contact,
    access_feedback_photos,
    feedback_in_scope,
    personal_view,
)
from loa.citizen.feedback_photos import photo_file
from loa.citizen.feedback_settings import categories_for
from loa.citizen.models import CannedAnswer, Feedback, FeedbackCategory, Status
from loa.console.current import current_unit
from loa.console.dates import parse_day
from loa.content.editing import do_create_bulletin
from loa.errors import Refusal
from loa.exports import csv_document
from loa.units.models import Level, Unit

FILTERS = {
    "open": (_("Đang mở"), Q(status__in=wf.OPEN)),
    "answered": (_("Đã trả lời, chờ công khai"), Q(status=Status.ANSWERED)),
    "done": (_("Đã công khai, đã đóng"), Q(status__in=(Status.PUBLISHED, Status.CLOSED, Status.NOT_FIXABLE))),
    "all": (_("Tất cả"), Q()),
}

# The steps an operator can take from each status (the buttons of a feedback's page), in order.
STEPS: dict[str, list[str]] = {
    Status.RECEIVED: [Status.ACKNOWLEDGED, Status.ASSIGNED, Status.NOT_FIXABLE],
    Status.ACKNOWLEDGED: [Status.CLASSIFIED, Status.ASSIGNED, Status.NOT_FIXABLE],
    Status.CLASSIFIED: [Status.CLASSIFIED, Status.ASSIGNED, Status.NOT_FIXABLE],
    Status.ASSIGNED: [Status.IN_PROGRESS, Status.ANSWERED, Status.ASSIGNED, Status.NOT_FIXABLE],
    Status.IN_PROGRESS: [Status.ANSWERED, Status.NOT_FIXABLE],
    Status.ANSWERED: [Status.PUBLISHED, Status.IN_PROGRESS],
    Status.PUBLISHED: [Status.CLOSED],
}


def _targets(unit: Unit) -> list[Unit]:
    """Units a feedback of ``unit`` is usually handed to: the commune itself, the units above, its zones."""
    above = list(unit.ancestors())
    return [*reversed(above), *unit.children.filter(is_active=True).order_by("name")]


def _filtered(request: HttpRequest) -> tuple[Unit, Any, dict[str, Any]]:
    """The unit being looked at, its feedback after the queue's filters, and the filters themselves."""
    unit = access_unit(request.user, current_unit(request), "feedback.view")
    rows = feedback_in_scope(request.user).filter(
        Q(handling_unit__path__startswith=unit.path) | Q(unit__path__startswith=unit.path)
    )
    shown = request.GET.get("trang_thai", "open")
    shown = shown if shown in FILTERS else "open"
    rows = rows.filter(FILTERS[shown][1])
    category = request.GET.get("linh_vuc", "")
    if category:
        rows = rows.filter(category__code=category)
    overdue = request.GET.get("qua_han") == "1"
    if overdue:
        rows = rows.filter(status__in=wf.OPEN, due_at__lt=timezone.now())
    # sent from / to (Vietnamese days, dd/mm/yyyy or yyyy-mm-dd): the rows behind the analytics feedback KPIs
    first, last = parse_day(request.GET.get("tu")), parse_day(request.GET.get("den"))
    if first is not None:
        rows = rows.filter(created_at__gte=dt.datetime.combine(first, dt.time(0), tzinfo=LOCAL_TZ))
    if last is not None:
        rows = rows.filter(
            created_at__lt=dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=LOCAL_TZ)
        )
    query = request.GET.get("q", "").strip()[:100]
    if query:
        number = query.upper().removeprefix("PA-")
        rows = rows.filter(Q(pk=int(number)) if number.isdigit() else Q(text__icontains=query))
    rows = rows.select_related("unit", "handling_unit", "category").order_by("due_at", "created_at")
    chosen = {
        "shown": shown,
        "category": category,
        "overdue": overdue,
        "query": query,
        "first": first,
        "last": last,
    }
    return unit, rows, chosen


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    unit, rows, chosen = _filtered(request)
    shown, category, query = chosen["shown"], chosen["category"], chosen["query"]
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "citizen/feedback/queue.html",
        {
            "unit": unit,
            "page": page,
            "filters": [(k, v[0]) for k, v in FILTERS.items()],
            "shown": shown,
            "categories": FeedbackCategory.objects.filter(is_active=True),
            "category": category,
            "overdue": chosen["overdue"],
            "csv_query": urlencode(
                {
                    "trang_thai": shown,
                    "linh_vuc": category,
                    "qua_han": "1" if chosen["overdue"] else "",
                    "q": query,
                    "tu": chosen["first"].isoformat() if chosen["first"] else "",
                    "den": chosen["last"].isoformat() if chosen["last"] else "",
                }
            ),
            "first": chosen["first"],
            "last": chosen["last"],
            "query": query,
            "now": timezone.now(),
            "statuses": dict(Status.choices),
            "may_handle": can(request.user, unit, "feedback.handle"),
            "may_manage": can(request.user, unit, "feedback.manage"),
            "targets": _targets(unit),
        },
    )


def _detail_context(request: HttpRequest, feedback: Feedback, contact: str = "") -> dict[str, Any]:
    shown = personal_view(request.user, feedback)
    handles = shown.place  # those who handle it see the place and the photos
    ancestors = [u.pk for u in feedback.handling_unit.ancestors()]
    return {
        "feedback": feedback,
        "status_label": Status(feedback.status).label,
        "events": [
            (e, Status(e.to_status).label if e.to_status else "")
            for e in feedback.events.select_related("actor", "unit")
        ],
        "photos": list(feedback.photos.all()),
        "shown": shown,
        "show_photos": shown.photos and request.GET.get("anh") == "1",
        "steps": [(s, Status(s).label) for s in STEPS.get(feedback.status, [])]
        if handles and not feedback.erased_at
        else [],
        "handles": handles,
        "personal": shown.contact,
        "contact": contact,
        "categories": categories_for(feedback.unit).filter(is_active=True),
        "targets": _targets(feedback.unit),
        "routed": wf.route(feedback.category, feedback.unit),
        "canned": CannedAnswer.objects.filter(unit_id__in=ancestors),
        "may_bulletin": handles
        and feedback.published_at is not None
        and not feedback.erased_at
        and can(request.user, feedback.handling_unit, "bulletin.edit"),
        "now": timezone.now(),
    }


@login_required
@require_GET
def detail(request: HttpRequest, feedback_id: int) -> HttpResponse:
    feedback = access_feedback(request.user, feedback_id)
    return render(request, "citizen/feedback/detail.html", _detail_context(request, feedback))


@login_required
@require_POST
def contact(request: HttpRequest, feedback_id: int) -> HttpResponse:
    feedback = access_feedback_contact(request.user, feedback_id)
    shown = wf.do_record_contact_view(feedback, actor=request.user, request=request)
    return render(
        request, "citizen/feedback/detail.html", _detail_context(request, feedback, contact=shown or "—")
    )


@login_required
@require_POST
def transition(request: HttpRequest, feedback_id: int) -> HttpResponseBase:
    feedback = access_feedback(request.user, feedback_id, "feedback.handle")
    to = request.POST.get("to", "")
    if to not in Status.values:
        raise Refusal("bad_status", "Bước xử lý không hợp lệ.")
    unit = None
    if to == Status.ASSIGNED:
        unit = access_assign_target(request.user, feedback, request.POST.get("unit_code", ""))
    category = None
    if request.POST.get("category_code"):
        category = (
            categories_for(feedback.unit).filter(code=request.POST["category_code"], is_active=True).first()
        )
    wf.do_feedback_transition(
        feedback, to, actor=request.user, request=request, note=request.POST.get("note", ""),
        answer=request.POST.get("answer", ""), reason=request.POST.get("reason", ""), category=category,
        unit=unit, public_summary=request.POST.get("public_summary", ""),
    )  # fmt: skip
    messages.success(request, f"{feedback.number}: {Status(to).label}.")
    return redirect("feedback:detail", feedback_id=feedback.pk)


@login_required
@require_POST
def note(request: HttpRequest, feedback_id: int) -> HttpResponseBase:
    feedback = access_feedback(request.user, feedback_id, "feedback.handle")
    wf.do_add_note(feedback, request.POST.get("note", ""), actor=request.user, request=request)
    messages.success(request, gettext("Đã ghi chú."))
    return redirect("feedback:detail", feedback_id=feedback.pk)


@login_required
@require_POST
def bulk_assign(request: HttpRequest) -> HttpResponseBase:
    ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()]
    if not ids:
        raise Refusal("nothing_chosen", "Hãy chọn ít nhất một phản ánh.")
    chosen = [access_feedback(request.user, i, "feedback.handle") for i in ids]
    targets = {access_assign_target(request.user, f, request.POST.get("unit_code", "")) for f in chosen}
    unit = targets.pop()
    done = wf.do_bulk_assign(chosen, unit, actor=request.user, request=request)
    messages.success(
        request,
        gettext("Đã chuyển %(done)s/%(n)s phản ánh cho %(unit)s.")
        % {"done": done, "n": len(chosen), "unit": unit.name},
    )
    return redirect("feedback:queue")


@login_required
@require_GET
def export_csv(request: HttpRequest) -> HttpResponse:
    """The queue as CSV (same filters), for reports: never a phone number, an e-mail, an address or a pin."""
    unit, rows, _chosen = _filtered(request)
    local = timezone.localtime
    header = ["Mã", "Gửi lúc", "Lĩnh vực", "Nơi", "Đơn vị xử lý", "Trạng thái", "Hạn trả lời", "Trả lời lúc",
              "Chuyển lên do quá hạn", "Đánh giá", "Nội dung"]  # fmt: skip
    body = csv_document(
        header,
        (
            [
                f.number,
                local(f.created_at).strftime("%d/%m/%Y %H:%M"),
                f.category.name,
                f.unit.name,
                f.handling_unit.name,
                Status(f.status).label,
                local(f.due_at).strftime("%d/%m/%Y %H:%M") if f.due_at else "",
                local(f.answered_at).strftime("%d/%m/%Y %H:%M") if f.answered_at else "",
                f.escalations,
                f.rating or "",
                f.text,
            ]
            for f in rows[:20000]
        ),
    )
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="phan-anh-{unit.code}.csv"'
    return response


@login_required
@require_POST
def to_bulletin(request: HttpRequest, feedback_id: int) -> HttpResponseBase:
    """A published answer becomes a draft bulletin of the handling unit (for the loudspeakers, the boards and the
    app), which then goes through the bulletin's own review and approval (ADR 0007)."""
    feedback = access_feedback(request.user, feedback_id, "feedback.handle")
    if feedback.published_at is None or feedback.erased_at is not None:
        raise Refusal("not_published", "Chỉ trả lời đã công khai mới soạn thành bản tin được.", 409)
    origin = feedback.handling_unit
    if origin.level == Level.ZONE and origin.parent is not None:
        origin = origin.parent
    access_unit(request.user, origin, "bulletin.edit")
    bulletin = do_create_bulletin(origin, bulletin_data(feedback), actor=request.user, request=request)
    messages.success(request, gettext("Đã soạn bản tin nháp từ trả lời; hãy đọc lại rồi gửi duyệt."))
    return redirect("content:edit", bulletin_id=bulletin.pk)


def bulletin_data(feedback: Feedback) -> dict[str, str]:
    """The draft bulletin of a published answer: what was reported (its public text) and the answer."""
    title = f"Trả lời phản ánh {feedback.number}: {feedback.category.name}"
    body = (
        f"Phản ánh ({feedback.unit.name}): {feedback.public_summary}\n\n"
        f"Trả lời của {feedback.handling_unit.name}: {feedback.answer}"
    )
    return {"title": title[:300], "body": body}


@login_required
@require_GET
def photo(request: HttpRequest, feedback_id: int, number: int) -> HttpResponseBase:
    feedback = access_feedback_photos(request.user, feedback_id)
    item = feedback.photos.filter(position=number).first()
    if item is None or not photo_file(item.path).exists():
        raise Refusal("no_photo", "Không có ảnh này.", 404)
    wf.do_record_photo_view(feedback, number, actor=request.user, request=request)
    response = FileResponse(photo_file(item.path).open("rb"), content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response
