"""Who may see and handle feedback: the ``access_*`` chokepoints of this domain (docs/adr/0009).

Staff: a role on the commune the feedback is about, or on the unit handling it (a province after escalation), and
their subtrees. The phone or e-mail needs ``feedback.personal_data`` besides. Citizens: the tracking link (a
capability: 192 random bits, stored as a hash) or, for a published answer, nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from loa.accounts.access import AccessDenied, UnitNotFound, access_system, access_unit, access_units, can
from loa.citizen.feedback_workflow import tracking_hash
from loa.citizen.models import CannedAnswer, Feedback, FeedbackCategory, RoutingRule, Status
from loa.errors import Refusal
from loa.units.models import Unit

PUBLIC_STATUSES = (Status.PUBLISHED, Status.CLOSED, Status.NOT_FIXABLE)


class FeedbackNotFound(UnitNotFound):
    def __init__(self) -> None:
        super().__init__(
            _("Không tìm thấy phản ánh, hoặc phản ánh nằm ngoài phạm vi của bạn."), "feedback_not_found"
        )


class TrackingGone(Refusal):
    status = 410


def feedback_in_scope(user: Any, action: str = "feedback.view") -> Any:
    """The feedback ``user`` may do ``action`` on (one query)."""
    units = access_units(user, action)
    return Feedback.objects.filter(Q(handling_unit__in=units) | Q(unit__in=units))


def _can_on(user: Any, feedback: Feedback, action: str) -> bool:
    return can(user, feedback.handling_unit, action) or can(user, feedback.unit, action)


def access_feedback(user: Any, feedback_id: int, action: str = "feedback.view") -> Feedback:
    """The feedback, if ``user`` may do ``action`` on it: 404 outside every scope, 403 when only seen."""
    feedback = (
        Feedback.objects.select_related("unit", "handling_unit", "category", "cluster")
        .filter(pk=feedback_id)
        .first()
    )
    if feedback is None or not _can_on(user, feedback, "feedback.view"):
        raise FeedbackNotFound()
    if not _can_on(user, feedback, action):
        raise AccessDenied()
    return feedback


def access_feedback_contact(user: Any, feedback_id: int) -> Feedback:
    """The feedback whose phone or e-mail ``user`` may read (the reading is audited by the caller)."""
    feedback = access_feedback(user, feedback_id, "feedback.handle")
    if not _can_on(user, feedback, "feedback.personal_data"):
        raise AccessDenied(_("Bạn không có quyền xem thông tin liên hệ của người phản ánh."))
    return feedback


@dataclass(frozen=True)
class PersonalView:
    """What of the citizen's personal data a member of staff is shown on a feedback's page (Decree 13/2023, Law
    91/2025): the place (address and pin) and the photos to those who handle it, the phone or e-mail to those who
    also have ``feedback.personal_data``; everyone else who may see the feedback gets them masked."""

    place: bool
    photos: bool
    contact: bool


def personal_view(user: Any, feedback: Feedback) -> PersonalView:
    handles = _can_on(user, feedback, "feedback.handle")
    return PersonalView(
        place=handles, photos=handles, contact=handles and _can_on(user, feedback, "feedback.personal_data")
    )


def access_feedback_photos(user: Any, feedback_id: int) -> Feedback:
    """The feedback whose photos ``user`` may look at (each look is audited by the caller): those who handle it."""
    feedback = access_feedback(user, feedback_id)
    if not personal_view(user, feedback).photos:
        raise AccessDenied(_("Chỉ người xử lý phản ánh mới xem được ảnh người dân gửi."))
    return feedback


def access_assign_target(user: Any, feedback: Feedback, code: str) -> Unit:
    """A unit the feedback may be handed to by ``user``: one within their scope, or a unit above the commune."""
    unit = Unit.objects.filter(code=str(code).strip(), is_active=True).first()
    if unit is None:
        raise Refusal("no_unit", _("Hãy chọn đơn vị xử lý."), field="unit")
    if feedback.unit.is_within(unit) or can(user, unit, "feedback.handle"):
        return unit
    raise AccessDenied(_("Bạn không thể chuyển phản ánh cho đơn vị này."))


def access_manage_feedback_settings(user: Any, unit: Unit) -> Unit:
    if not can(user, unit, "unit.view"):
        raise UnitNotFound()
    if not can(user, unit, "feedback.manage"):
        raise AccessDenied()
    return unit


def access_tracking(token: str) -> Feedback:
    """The citizen's feedback by its tracking link; a deleted one answers 410 with "đã xoá"."""
    feedback = (
        Feedback.objects.select_related("unit", "handling_unit", "category", "cluster")
        .filter(tracking_hash=tracking_hash(token))
        .first()
    )
    if feedback is None:
        raise Refusal(
            "tracking_not_found",
            _("Không tìm thấy phản ánh theo đường liên kết này. Hãy kiểm tra lại đường liên kết đã lưu."),
            404,
        )
    if feedback.erased_by_citizen:
        raise TrackingGone(
            "tracking_erased",
            _("Phản ánh %(number)s đã xoá theo yêu cầu của người gửi: dữ liệu cá nhân không còn được lưu.")
            % {"number": feedback.number},
        )
    return feedback


def access_published_feedback(feedback_id: int) -> Feedback:
    """A feedback whose answer is public (anyone may read it, without personal data)."""
    feedback = (
        Feedback.objects.select_related("unit", "handling_unit", "category")
        .filter(
            pk=feedback_id, status__in=PUBLIC_STATUSES, published_at__isnull=False, erased_at__isnull=True
        )
        .first()
    )
    if feedback is None:
        raise Refusal("feedback_not_public", _("Không có trả lời công khai nào với mã này."), 404)
    return feedback


def access_feedback_category(user: Any, category_id: str) -> FeedbackCategory:
    """A category ``user`` may change: a national one (no unit) for system admins, else one of their units."""
    category = FeedbackCategory.objects.filter(
        pk=int(category_id) if str(category_id).isdigit() else 0
    ).first()
    if category is None:
        raise Refusal("no_category", "Không tìm thấy lĩnh vực.", 404)
    if category.unit is None:
        access_system(user, "feedback.manage")
    else:
        access_unit(user, category.unit, "feedback.manage")
    return category


def access_routing_rule(user: Any, rule_id: str) -> RoutingRule:
    rule = (
        RoutingRule.objects.filter(pk=int(rule_id) if str(rule_id).isdigit() else 0)
        .select_related("area")
        .first()
    )
    if rule is None:
        raise UnitNotFound()
    access_unit(user, rule.area, "feedback.manage")
    return rule


def access_canned_answer(user: Any, canned_id: str) -> CannedAnswer:
    canned = CannedAnswer.objects.filter(pk=int(canned_id) if str(canned_id).isdigit() else 0).first()
    if canned is None:
        raise UnitNotFound()
    access_unit(user, canned.unit, "feedback.manage")
    return canned


def access_working_calendar(user: Any) -> None:
    """The working calendar is national: system admins change it."""
    access_system(user, "feedback.manage")
