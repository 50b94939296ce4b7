"""Console pages of polls (/polls/): the list of the unit's polls, a new poll, a poll's page (questions while a
draft, publish, close, results with the free-text answers) and the exports. Every view authorises through
:mod:`loa.citizen.polls.access` / ``access_unit``; every change goes through a ``do_*`` of
:mod:`loa.citizen.polls.services`."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loa.accounts.access import access_unit, access_unit_code, can
from loa.audit.log import record
from loa.citizen.polls import results as poll_results
from loa.citizen.polls import services
from loa.citizen.polls.access import access_poll
from loa.citizen.polls.models import Poll, Question
from loa.console.current import current_unit
from loa.errors import Refusal
from loa.units.models import Unit

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def _unit(request: HttpRequest, action: str) -> Unit:
    unit = current_unit(request)
    if unit is None:
        raise Http404(_("Chưa chọn đơn vị."))
    return access_unit(request.user, unit, action)


def _when(value: str, field: str) -> dt.datetime | None:
    """A ``datetime-local`` value, read in Vietnam time."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=VN)
    except ValueError:
        raise services.PollError("datetime_invalid", _("Ngày giờ không hợp lệ."), field=field) from None


@login_required
@require_GET
def poll_list(request: HttpRequest) -> HttpResponse:
    unit = _unit(request, "poll.view")
    polls = list(
        Poll.objects.filter(unit__path__startswith=unit.path)
        .select_related("unit")
        .order_by("-created_at")[:200]
    )
    return render(request, "polls/list.html", {"unit": unit, "polls": polls,
                                                "can_manage": can(request.user, unit, "poll.manage")})  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def poll_new(request: HttpRequest) -> HttpResponse:
    unit = _unit(request, "poll.manage")
    now = timezone.now().astimezone(VN)
    form: dict[str, Any] = {
        "title": "", "description": "", "results": Poll.Results.AFTER_CLOSE, "vote_rule": Poll.VoteRule.DEVICE,
        "opens_at": now.strftime("%Y-%m-%dT%H:%M"), "closes_at": (now + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        "unit": unit.code,
    }  # fmt: skip
    error = None
    if request.method == "POST":
        p = request.POST
        form.update({k: p.get(k, "") for k in form})
        try:
            target = access_unit_code(request.user, form["unit"] or unit.code, "poll.manage")
            poll = services.do_create_poll(
                target, actor=request.user, title=form["title"], description=form["description"],
                opens_at=_when(form["opens_at"], "opens_at"), closes_at=_when(form["closes_at"], "closes_at"),
                results=form["results"], vote_rule=form["vote_rule"], request=request,
            )  # fmt: skip
        except services.PollError as exc:
            error = exc
        else:
            messages.success(request, _("Đã tạo cuộc thăm dò: thêm câu hỏi rồi công bố."))
            return redirect("polls:detail", poll_id=poll.pk)
    context = {"unit": unit, "form": form, "error": error, "results_choices": Poll.Results.choices,
               "rule_choices": Poll.VoteRule.choices}  # fmt: skip
    return render(request, "polls/new.html", context, status=400 if error else 200)


@login_required
@require_http_methods(["GET", "POST"])
def poll_edit(request: HttpRequest, poll_id: int) -> HttpResponse:
    """Title, description, dates and settings of a draft (questions are edited on the poll's page)."""
    poll = access_poll(request.user, poll_id, "poll.manage")
    fmt = "%Y-%m-%dT%H:%M"
    form: dict[str, Any] = {
        "title": poll.title, "description": poll.description, "results": poll.results, "vote_rule": poll.vote_rule,
        "opens_at": poll.opens_at.astimezone(VN).strftime(fmt), "closes_at": poll.closes_at.astimezone(VN).strftime(fmt),
        "unit": poll.unit.code,
    }  # fmt: skip
    error = None
    if request.method == "POST":
        form.update({k: request.POST.get(k, "") for k in form if k != "unit"})
        try:
            services.do_update_poll(
                poll, actor=request.user, request=request, title=form["title"], description=form["description"],
                opens_at=_when(form["opens_at"], "opens_at"), closes_at=_when(form["closes_at"], "closes_at"),
                results=form["results"], vote_rule=form["vote_rule"],
            )  # fmt: skip
        except services.PollError as exc:
            error = exc
            poll.refresh_from_db()
        else:
            messages.success(request, _("Đã lưu cuộc thăm dò."))
            return redirect("polls:detail", poll_id=poll.pk)
    context = {"unit": poll.unit, "poll": poll, "form": form, "error": error,
               "results_choices": Poll.Results.choices, "rule_choices": Poll.VoteRule.choices}  # fmt: skip
    return render(request, "polls/new.html", context, status=(error.status if error else 200))


def _detail_context(request: HttpRequest, poll: Poll, **extra: Any) -> dict[str, Any]:
    ballots, rows = poll_results.results(poll)
    return {
        "poll": poll, "unit": poll.unit, "ballots": ballots, "results": rows,
        "questions": list(poll.questions.prefetch_related("choices")),
        "can_manage": can(request.user, poll.unit, "poll.manage"), "kinds": Question.Kind.choices,
        "is_open": poll.is_open(), "results_public": poll.results_public(), **extra,
    }  # fmt: skip


@login_required
@require_GET
def poll_detail(request: HttpRequest, poll_id: int) -> HttpResponse:
    poll = access_poll(request.user, poll_id, "poll.view")
    return render(request, "polls/detail.html", _detail_context(request, poll, form={}))


@login_required
@require_POST
def question_add(request: HttpRequest, poll_id: int) -> HttpResponse:
    poll = access_poll(request.user, poll_id, "poll.manage")
    p = request.POST
    try:
        services.do_add_question(
            poll, actor=request.user, kind=p.get("kind", ""), text=p.get("text", ""),
            choices=p.get("choices", "").splitlines(), required=bool(p.get("required")),
            scale_min=_int(p.get("scale_min"), 1), scale_max=_int(p.get("scale_max"), 5), request=request,
        )  # fmt: skip
    except services.PollError as exc:
        ctx = _detail_context(request, poll, error=exc, form=p)
        return render(request, "polls/detail.html", ctx, status=exc.status)
    messages.success(request, _("Đã thêm câu hỏi."))
    return redirect("polls:detail", poll_id=poll.pk)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@login_required
@require_POST
def question_delete(request: HttpRequest, poll_id: int, question_id: int) -> HttpResponse:
    poll = access_poll(request.user, poll_id, "poll.manage")
    question = poll.questions.filter(pk=question_id).first()
    if question is None:
        raise Http404(_("Không tìm thấy câu hỏi."))
    services.do_remove_question(poll, question, actor=request.user, request=request)
    messages.success(request, _("Đã bỏ câu hỏi."))
    return redirect("polls:detail", poll_id=poll.pk)


@login_required
@require_POST
def poll_publish(request: HttpRequest, poll_id: int) -> HttpResponse:
    poll = access_poll(request.user, poll_id, "poll.manage")
    services.do_publish(poll, actor=request.user, request=request)
    messages.success(request, _("Đã công bố cuộc thăm dò cho người dân."))
    return redirect("polls:detail", poll_id=poll.pk)


@login_required
@require_POST
def poll_close(request: HttpRequest, poll_id: int) -> HttpResponse:
    poll = access_poll(request.user, poll_id, "poll.manage")
    services.do_close(poll, actor=request.user, request=request)
    messages.success(request, _("Đã đóng cuộc thăm dò."))
    return redirect("polls:detail", poll_id=poll.pk)


@login_required
@require_GET
def poll_export(request: HttpRequest, poll_id: int, fmt: str) -> HttpResponse:
    poll = access_poll(request.user, poll_id, "poll.view")
    if fmt not in ("csv", "xlsx"):
        raise Refusal("format_invalid", _("Chỉ tải được CSV hoặc XLSX."), 404)
    with transaction.atomic():
        record("polls.exported", actor=request.user, request=request, obj=poll,
               message=f"Tải kết quả cuộc thăm dò “{poll.title}” ({fmt.upper()})")  # fmt: skip
    name = f"tham-do-{poll.pk}.{fmt}"
    if fmt == "csv":
        response = HttpResponse(poll_results.export_csv(poll), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            poll_results.export_xlsx(poll),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
