"""The console's "Cấu hình phản ánh" page (/feedback/cai-dat/) for the unit being looked at: categories with their
deadlines in working hours and retention, routing rules, canned answers, and the national working calendar."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from loa.accounts.access import access_unit_code, can, is_system_admin
from loa.citizen import feedback_settings as fs
from loa.citizen.feedback_access import (
    access_canned_answer,
    access_feedback_category,
    access_manage_feedback_settings,
    access_routing_rule,
    access_working_calendar,
)
from loa.citizen.models import CalendarDay, CannedAnswer, FeedbackCategory, RoutingRule
from loa.console.current import current_unit
from loa.errors import Refusal
from loa.units.models import Unit


def _unit(request: HttpRequest) -> Unit:
    unit = current_unit(request)
    if unit is None:
        raise Refusal("no_unit", "Hãy chọn một đơn vị.", 404)
    return access_manage_feedback_settings(request.user, unit)


@login_required
@require_GET
def page(request: HttpRequest) -> HttpResponse:
    unit = _unit(request)
    system = is_system_admin(request.user)
    categories = [
        (c, system if c.unit_id is None else can(request.user, c.unit, "feedback.manage"))
        for c in fs.categories_for(unit).select_related("unit")
    ]
    return render(
        request,
        "citizen/feedback/settings.html",
        {
            "unit": unit,
            "categories": categories,
            "rules": RoutingRule.objects.filter(area__path__startswith=unit.path).select_related(
                "category", "area", "target"
            ),
            "canned": CannedAnswer.objects.filter(unit=unit),
            "days": CalendarDay.objects.all(),
            "system": system,
        },
    )


@login_required
@require_POST
def save_category(request: HttpRequest) -> HttpResponseBase:
    unit = _unit(request)
    raw = request.POST.get("category", "")
    category: FeedbackCategory | None = access_feedback_category(request.user, raw) if raw else None
    saved = fs.do_save_category(category, request.POST.dict(), unit=unit, actor=request.user, request=request)
    messages.success(request, _("Đã lưu lĩnh vực %(name)s.") % {"name": saved.name})
    return redirect("feedback:settings")


@login_required
@require_POST
def routes(request: HttpRequest) -> HttpResponseBase:
    _unit(request)
    if request.POST.get("remove"):
        fs.do_remove_route(access_routing_rule(request.user, request.POST["remove"]), actor=request.user,
                           request=request)  # fmt: skip
        messages.success(request, _("Đã bỏ quy tắc."))
        return redirect("feedback:settings")
    category = FeedbackCategory.objects.filter(pk=int(request.POST.get("category_id", "0") or 0)).first()
    if category is None:
        raise Refusal("no_category", "Hãy chọn lĩnh vực.", field="category_id")
    area = access_unit_code(request.user, request.POST.get("area_code", ""), "feedback.manage")
    target = access_unit_code(request.user, request.POST.get("target_code", ""), "feedback.manage")
    fs.do_add_route(category, area, target, actor=request.user, request=request)
    messages.success(request, _("Đã lưu quy tắc chuyển xử lý."))
    return redirect("feedback:settings")


@login_required
@require_POST
def canned(request: HttpRequest) -> HttpResponseBase:
    unit = _unit(request)
    if request.POST.get("remove"):
        fs.do_remove_canned_answer(access_canned_answer(request.user, request.POST["remove"]), actor=request.user,
                                   request=request)  # fmt: skip
        messages.success(request, _("Đã bỏ mẫu trả lời."))
    else:
        fs.do_add_canned_answer(
            unit,
            request.POST.get("title", ""),
            request.POST.get("text", ""),
            actor=request.user,
            request=request,
        )
        messages.success(request, _("Đã thêm mẫu trả lời."))
    return redirect("feedback:settings")


@login_required
@require_POST
def calendar(request: HttpRequest) -> HttpResponseBase:
    access_working_calendar(request.user)
    if request.POST.get("remove"):
        row = CalendarDay.objects.filter(
            pk=int(request.POST["remove"]) if request.POST["remove"].isdigit() else 0
        )
        for found in row:
            fs.do_remove_calendar_day(found, actor=request.user, request=request)
        messages.success(request, _("Đã bỏ ngày khỏi lịch."))
    else:
        day = fs.check_day(request.POST.get("date", ""))
        fs.do_set_calendar_day(day, request.POST.get("name", ""), request.POST.get("is_working") == "on",
                               actor=request.user, request=request)  # fmt: skip
        messages.success(request, _("Đã lưu lịch."))
    return redirect("feedback:settings")
