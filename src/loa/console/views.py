"""Console pages. Every view authorises through the ``access_*`` functions of :mod:`loa.accounts.access`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from loa.accounts import services as account_services
from loa.accounts.access import (
    access_anywhere,
    access_role_grant,
    access_role_revoke,
    access_unit,
    access_unit_code,
    access_units,
    can,
    is_system_admin,
)
from loa.accounts.models import ApiToken, RoleAssignment
from loa.accounts.roles import ACTIONS, Role
from loa.audit import actions as audit_actions
from loa.audit.api import visible_entries
from loa.console.current import SESSION_KEY, current_unit
from loa.console.gateway_state import gateway_trouble
from loa.units import services as unit_services
from loa.units.models import Kind, Level, Unit, UnitSetting

AREAS = {
    "bulletins": (gettext_lazy("Bản tin"), gettext_lazy("Soạn, duyệt và phát hành bản tin từ tỉnh tới xã.")),
    "loudspeakers": (gettext_lazy("Cụm loa"), gettext_lazy("Danh sách, bản đồ và trạng thái các cụm loa.")),
    "schedules": (gettext_lazy("Lịch phát"), gettext_lazy("Chương trình, lịch phát và nhật ký phát.")),
    "boards": (
        gettext_lazy("Bảng tin điện tử"),
        gettext_lazy("Bảng tin điện tử công cộng và nội dung hiển thị."),
    ),
    "citizens": (gettext_lazy("Người dân"), gettext_lazy("Phản ánh, kiến nghị, trả lời và khảo sát.")),
    "reports": (gettext_lazy("Báo cáo"), gettext_lazy("Thống kê và báo cáo định kỳ.")),
}


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    unit = current_unit(request)
    if unit is None:
        return render(request, "console/no_scope.html", status=403)
    access_unit(request.user, unit, "unit.view")
    subtree = Unit.objects.subtree(unit).filter(is_active=True)
    users = (
        get_user_model().objects.filter(role_assignments__unit__path__startswith=unit.path).distinct().count()
    )
    counts = {
        "communes": subtree.filter(level=Level.COMMUNE).count(),
        "zones": subtree.filter(level=Level.ZONE).count(),
        "users": users,
    }
    counts.update(_domain_counts(unit))
    return render(
        request,
        "console/dashboard.html",
        {"unit": unit, "counts": counts, "storage_full": _storage_full(), "gateway": gateway_trouble()},
    )


def _storage_full() -> bool:
    from loa.media.services import store_root
    from loa.media.storage import store_is_full

    return store_is_full(store_root())


def _domain_counts(unit: Unit) -> dict[str, int]:
    """Loudspeakers, bulletins and alarms of the unit's subtree (a few indexed counts)."""
    from loa.content.models import Bulletin, FeedItem, State
    from loa.fleet.models import Alarm, Device, DeviceKind

    # the card says "cụm loa": boards (bảng tin) have their own page and are not counted here
    devices = Device.objects.filter(
        unit__path__startswith=unit.path, revoked_at__isnull=True, kind=DeviceKind.LOUDSPEAKER
    )
    return {
        "devices": devices.count(),
        "online": devices.filter(online=True).count(),
        "alarms": Alarm.objects.filter(
            unit__path__startswith=unit.path, cleared_at__isnull=True, kind=Alarm.Kind.OFFLINE
        ).count(),
        "awaiting_approval": Bulletin.objects.filter(
            origin_unit__path__startswith=unit.path, state=State.SUBMITTED
        ).count(),
        "inbox_new": FeedItem.objects.filter(unit=unit, state=FeedItem.State.NEW).count(),
    }


@login_required
@require_POST
def pick_unit(request: HttpRequest) -> HttpResponse:
    unit = access_unit_code(request.user, request.POST.get("unit", ""), "unit.view")
    request.session[SESSION_KEY] = unit.code
    target = request.POST.get("next") or "/"
    # not a hand-made check: browsers read "/\\evil.example" as "//evil.example"
    safe = url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())
    return redirect(target if safe else "/")


@login_required
@require_GET
def area(request: HttpRequest, slug: str) -> HttpResponse:
    if slug not in AREAS:
        raise Http404(_("Không có mục này."))
    access_anywhere(request.user, "unit.view")
    title, text = AREAS[slug]
    return render(request, "console/area.html", {"slug": slug, "title": title, "text": text})


@login_required
@require_GET
def units(request: HttpRequest) -> HttpResponse:
    qs = access_units(request.user, "unit.view").filter(level__lte=Level.COMMUNE, is_active=True)
    q = request.GET.get("q", "").strip()[:100]
    if q:
        qs = qs.filter(name__icontains=q)
    unit = current_unit(request)
    if unit is not None and not q:
        qs = qs.filter(path__startswith=unit.path)
    page = Paginator(qs.order_by("path"), 100).get_page(request.GET.get("page"))
    return render(request, "console/units.html", {"page": page, "q": q, "unit": unit})


@login_required
@require_GET
def unit_detail(request: HttpRequest, code: str) -> HttpResponse:
    return _unit_page(request, access_unit_code(request.user, code, "unit.view"))


def _unit_page(request: HttpRequest, unit: Unit, posted: Any = None, status: int = 200) -> HttpResponse:
    """The unit page; after refused input, again with what the person typed (``posted``) and a 400."""
    children = unit.children.filter(is_active=True).order_by("name")
    settings_values = {s.key: s.value for s in UnitSetting.objects.filter(unit=unit)}
    if posted is not None:
        settings_values |= {k: posted[k] for k in unit_services.SETTING_KEYS if k in posted}
    context: dict[str, Any] = {
        "unit": unit,
        "ancestors": unit.ancestors(),
        "children": children[:500],
        "children_count": children.count(),
        "can_manage_zones": can(request.user, unit, "unit.manage_zones"),
        "can_manage_settings": can(request.user, unit, "settings.manage"),
        "zone_kinds": [(k, str(Kind(k).label)) for k in unit_services.ZONE_KINDS],
        "settings_rows": [
            (k, label, settings_values.get(k) or "") for k, (label, _t) in unit_services.SETTING_KEYS.items()
        ],
        "posted": posted or {},
    }
    return render(request, "console/unit_detail.html", context, status=status)


def _back_to(unit: Unit) -> HttpResponse:
    return redirect("console:unit", code=unit.code)


@login_required
@require_POST
def zone_create(request: HttpRequest, code: str) -> HttpResponse:
    commune = access_unit_code(request.user, code, "unit.manage_zones")
    try:
        zone = unit_services.do_create_zone(
            commune,
            request.POST.get("name", ""),
            request.POST.get("kind", ""),
            actor=request.user,
            request=request,
        )
        messages.success(request, _("Đã tạo %(name)s.") % {"name": zone.name})
    except unit_services.UnitError as exc:
        messages.error(request, exc.message)
        return _unit_page(request, commune, request.POST, status=400)
    return _back_to(commune)


@login_required
@require_POST
def zone_update(request: HttpRequest, code: str) -> HttpResponse:
    zone = access_unit_code(request.user, code, "unit.manage_zones")
    try:
        unit_services.do_update_zone(
            zone,
            request.POST.get("name", ""),
            request.POST.get("kind", ""),
            actor=request.user,
            request=request,
        )
        messages.success(request, _("Đã lưu."))
    except unit_services.UnitError as exc:
        messages.error(request, exc.message)
        return _unit_page(request, zone, request.POST, status=400)
    return _back_to(zone)


@login_required
@require_POST
def zone_deactivate(request: HttpRequest, code: str) -> HttpResponse:
    zone = access_unit_code(request.user, code, "unit.manage_zones")
    unit_services.do_delete_zone(zone, actor=request.user, request=request)  # a refusal: loa.console.refusals
    messages.success(request, _("Đã ngừng sử dụng %(name)s.") % {"name": zone.name})
    return _back_to(zone.parent) if zone.parent else redirect("console:units")


@login_required
@require_POST
def unit_settings(request: HttpRequest, code: str) -> HttpResponse:
    unit = access_unit_code(request.user, code, "settings.manage")
    current = {s.key: s.value for s in UnitSetting.objects.filter(unit=unit)}
    try:
        with transaction.atomic():  # all the settings of the form, or none
            for key in unit_services.SETTING_KEYS:
                if key in request.POST and request.POST[key] != (current.get(key) or ""):
                    unit_services.do_change_setting(
                        unit, key, request.POST[key].strip(), actor=request.user, request=request
                    )
        messages.success(request, _("Đã lưu thiết lập."))
    except unit_services.UnitError as exc:
        messages.error(request, exc.message)
        return _unit_page(request, unit, request.POST, status=400)
    return _back_to(unit)


# ---- users and roles -----------------------------------------------------------------------------------


@login_required
@require_GET
def users(request: HttpRequest) -> HttpResponse:
    return _users_page(request)


def _users_page(request: HttpRequest, posted: Any = None, status: int = 200) -> HttpResponse:
    """The user list; after a refused creation, again with what the person typed (``posted``) and a 400."""
    access_anywhere(request.user, "user.view")
    qs = (
        account_services.visible_users(request.user)
        .order_by("username")
        .prefetch_related("role_assignments__unit")
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    manage_units = access_units(request.user, "user.manage").filter(level__lte=Level.COMMUNE)
    return render(
        request,
        "console/users.html",
        {
            "page": page,
            "roles": Role.choices,
            "can_manage": manage_units.exists(),
            "manage_units": manage_units.order_by("path")[:500],
            "posted": posted or {},
        },
        status=status,
    )


@login_required
@require_POST
def user_create(request: HttpRequest) -> HttpResponse:
    unit = access_unit_code(request.user, request.POST.get("unit", ""), "user.manage")
    try:
        account_services.check_role(request.POST.get("role", ""))
        with transaction.atomic():  # a refused role leaves no account without one behind
            user, password = account_services.do_create_user(
                request.POST.get("username", ""),
                request.POST.get("full_name", ""),
                actor=request.user,
                request=request,
            )
            role = request.POST["role"]
            account_services.do_assign_role(
                user,
                role,
                access_role_grant(request.user, user, role, unit),
                actor=request.user,
                request=request,
            )
    except account_services.AccountError as exc:
        messages.error(request, exc.message)
        return _users_page(request, request.POST, status=400)
    return render(request, "console/user_created.html", {"new_user": user, "password": password})


@login_required
@require_GET
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    access_anywhere(request.user, "user.view")
    person = get_object_or_404(account_services.visible_users(request.user), pk=user_id)
    assignments = [
        a
        for a in person.role_assignments.select_related("unit")
        if (a.unit is None and is_system_admin(request.user))
        or (a.unit and can(request.user, a.unit, "user.view"))
    ]
    manage_units = access_units(request.user, "user.manage").filter(level__lte=Level.COMMUNE)
    return render(
        request,
        "console/user_detail.html",
        {
            "person": person,
            "assignments": assignments,
            "roles": Role.choices,
            "manage_units": manage_units.order_by("path")[:500],
            "can_manage": manage_units.exists(),
        },
    )


@login_required
@require_POST
def role_assign(request: HttpRequest, user_id: int) -> HttpResponse:
    access_anywhere(request.user, "user.manage")
    person = get_object_or_404(account_services.visible_users(request.user), pk=user_id)
    unit = access_unit_code(request.user, request.POST.get("unit", ""), "user.manage")
    role = request.POST.get("role", "")
    unit = access_role_grant(request.user, person, role, unit)  # a refusal: flashed by loa.console.refusals
    account_services.do_assign_role(person, role, unit, actor=request.user, request=request)
    messages.success(request, _("Đã gán vai trò."))
    return redirect("console:user", user_id=person.pk)


@login_required
@require_POST
def role_revoke(request: HttpRequest, assignment_id: int) -> HttpResponse:
    assignment = get_object_or_404(RoleAssignment.objects.select_related("unit", "user"), pk=assignment_id)
    if assignment.unit is None and not is_system_admin(request.user):
        raise Http404()
    access_role_revoke(request.user, assignment)
    account_services.do_revoke_role(assignment, actor=request.user, request=request)
    messages.success(request, _("Đã thu hồi vai trò."))
    return redirect("console:user", user_id=assignment.user_id)


# ---- API tokens ----------------------------------------------------------------------------------------


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    access_anywhere(request.user, "token.manage")
    new_key = None
    if request.method == "POST":
        try:
            _token, new_key = account_services.do_create_token(
                request.user,
                request.POST.get("name", ""),
                request.POST.getlist("scopes"),
                None,
                request=request,
            )
        except account_services.AccountError as exc:
            messages.error(request, exc.message)
    elif request.method != "GET":
        return HttpResponse(status=405)
    return render(
        request,
        "console/tokens.html",
        {
            "tokens": ApiToken.objects.filter(user_id=request.user.pk).order_by("-created_at"),  # type: ignore[misc]
            "actions": ACTIONS,
            "new_key": new_key,
        },
        status=400 if request.method == "POST" and new_key is None else 200,
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    access_anywhere(request.user, "token.manage")
    token = get_object_or_404(ApiToken, pk=token_id, user_id=request.user.pk)
    account_services.do_revoke_token(token, actor=request.user, request=request)
    messages.success(request, _("Đã thu hồi mã truy cập."))
    return redirect("console:tokens")


# ---- audit ---------------------------------------------------------------------------------------------


@login_required
@require_GET
def audit(request: HttpRequest) -> HttpResponse:
    access_anywhere(request.user, "audit.view")
    qs = visible_entries(request.user)
    action = request.GET.get("action", "").strip()[:64]
    if action:
        qs = qs.filter(action__startswith=action)
    page = Paginator(qs.order_by("-pk"), 50).get_page(request.GET.get("page"))
    codes = {e.unit_code for e in page if e.unit_code}
    names = dict(Unit.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}
    for e in page:
        e.action_label = audit_actions.label(e.action)
        e.unit_name = names.get(e.unit_code, e.unit_code)
    return render(request, "console/audit.html", {"page": page, "action": action})


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "403_csrf.html", status=403)
