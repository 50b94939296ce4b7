"""Bulletins: ``check_*`` validates, ``do_*`` changes state and writes the audit log in the same transaction.

Every workflow transition goes through :func:`do_transition`, driven by the :data:`TRANSITIONS` table.
Edits go through :func:`do_update_bulletin`; a substantive edit of a bulletin under review or approved calls
``do_transition(..., "return_to_review")`` so that the approvals are cleared and the change is audited.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from loa.accounts.access import AccessDenied, access_unit, access_units, can, grants
from loa.accounts.models import ApiToken
from loa.accounts.roles import Role
from loa.audit.log import record
from loa.content import signals
from loa.content.models import (
    Approval,
    ApprovalPolicy,
    Attachment,
    BroadcastHandoff,
    Bulletin,
    BulletinVersion,
    Comment,
    ContentType,
    FeedItem,
    Field,
    Language,
    Priority,
    State,
)
from loa.errors import Refusal
from loa.units.models import Level, Unit


class BulletinError(Refusal):
    """A refused request on a bulletin; ``field`` names the form field it is about, if any."""

    def __init__(self, code: str, message: str, status: int = 400, field: str = "") -> None:
        super().__init__(code, message, status)
        self.field = field


class BulletinNotFound(BulletinError):
    def __init__(self) -> None:
        super().__init__(
            "bulletin_not_found", _("Không tìm thấy bản tin, hoặc bản tin nằm ngoài phạm vi của bạn."), 404
        )


# ---- fields --------------------------------------------------------------------------------------------

#: Fields an editor may set, with their labels (used in messages, versions and diffs). The labels stay Vietnamese
#: in stored versions and diffs; messages shown to people translate them with :func:`_label`.
FIELD_LABELS: dict[str, str] = {
    "title": gettext_noop("Tiêu đề"),
    "summary": gettext_noop("Tóm tắt"),
    "body": gettext_noop("Nội dung"),
    "read_as": gettext_noop("Đọc là"),
    "field": gettext_noop("Lĩnh vực"),
    "content_type": gettext_noop("Loại bản tin"),
    "priority": gettext_noop("Mức độ ưu tiên"),
    "produced_at": gettext_noop("Thời gian sản xuất"),
    "duration_s": gettext_noop("Thời lượng (giây)"),
    "author_name": gettext_noop("Tác giả"),
    "author_pen_name": gettext_noop("Bút danh"),
    "author_email": gettext_noop("E-mail tác giả"),
    "news_source": gettext_noop("Nguồn tin"),
    "is_relay": gettext_noop("Tiếp âm"),
    "relay_source": gettext_noop("Nguồn tiếp âm"),
    "language": gettext_noop("Ngôn ngữ"),
    "valid_from": gettext_noop("Hiệu lực từ"),
    "valid_until": gettext_noop("Hiệu lực đến"),
    "extras": gettext_noop("Thông tin chi tiết"),
    "audio_asset_id": gettext_noop("Tệp âm thanh"),
    "receivers": gettext_noop("Địa bàn nhận"),
}
#: An edit of one of these after approval sends the bulletin back to review with its approvals cleared.
SUBSTANTIVE_FIELDS = frozenset(
    {"title", "summary", "body", "read_as", "audio_asset_id", "receivers", "priority"}
)
_TEXT_LIMITS = {
    "title": 300,
    "summary": 2000,
    "body": 50000,
    "read_as": 60000,
    "author_name": 200,
    "author_pen_name": 200,
    "author_email": 254,
    "news_source": 300,
    "relay_source": 500,
}
MAX_EXTRAS = 50
MAX_RECEIVERS = 5000
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _label(name: str) -> str:
    """A field's label in the reader's language."""
    return _(FIELD_LABELS[name])


def _err(field: str, code: str, message: str) -> BulletinError:
    return BulletinError(code, message, 400, field)


def _clean_text(name: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _err(name, "invalid_text", _("%(field)s: phải là chuỗi ký tự.") % {"field": _label(name)})
    value = _CONTROL_RE.sub("", value).strip()
    if name not in ("body", "read_as", "summary"):
        value = " ".join(value.split())
    limit = _TEXT_LIMITS[name]
    if len(value) > limit:
        raise _err(
            name,
            "text_too_long",
            _("%(field)s: dài quá %(limit)s ký tự.") % {"field": _label(name), "limit": limit},
        )
    return value


def _clean_choice(name: str, value: Any, choices: type[Any]) -> Any:
    values = list(choices.values)
    if value not in values:
        allowed = "; ".join(f"{v} = {label}" for v, label in choices.choices)
        raise _err(
            name,
            f"{name}_invalid",
            _("%(field)s không hợp lệ. Chọn một trong: %(allowed)s.")
            % {"field": _label(name), "allowed": allowed},
        )
    return value


def _clean_datetime(name: str, value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _err(
                name,
                "datetime_invalid",
                _("%(field)s: phải là thời điểm dạng ISO 8601.") % {"field": _label(name)},
            ) from None
    if not isinstance(value, dt.datetime):
        raise _err(
            name,
            "datetime_invalid",
            _("%(field)s: phải là thời điểm dạng ISO 8601.") % {"field": _label(name)},
        )
    if timezone.is_naive(value):
        value = timezone.make_aware(value)  # read in the deployment's time zone (Asia/Ho_Chi_Minh)
    return value


def _clean_extras(value: Any) -> list[dict[str, str]]:
    if value is None:
        return []
    if isinstance(value, dict):
        value = [{"name": k, "value": v} for k, v in value.items()]
    if not isinstance(value, list):
        raise _err("extras", "extras_invalid", _("Thông tin chi tiết phải là danh sách cặp tên – giá trị."))
    if len(value) > MAX_EXTRAS:
        raise _err(
            "extras", "extras_too_many", _("Thông tin chi tiết: tối đa %(n)s mục.") % {"n": MAX_EXTRAS}
        )
    out: list[dict[str, str]] = []
    for item in value:
        if not isinstance(item, dict):
            raise _err("extras", "extras_invalid", _("Mỗi mục thông tin chi tiết phải có tên và giá trị."))
        name = " ".join(str(item.get("name", "")).split())
        val = str(item.get("value", "")).strip()
        if not name:
            raise _err("extras", "extras_name_required", _("Thông tin chi tiết: tên không được để trống."))
        if len(name) > 100 or len(val) > 1000:
            raise _err(
                "extras",
                "extras_too_long",
                _("Thông tin chi tiết: tên tối đa 100, giá trị tối đa 1000 ký tự."),
            )
        out.append({"name": name, "value": val})
    return out


def check_receivers(origin: Unit, codes: Iterable[str]) -> list[Unit]:
    """Receiving units (communes, zones or the whole province) must lie in the originating unit's tree."""
    wanted = sorted({str(c).strip() for c in codes if str(c).strip()})
    if len(wanted) > MAX_RECEIVERS:
        raise _err("receivers", "receivers_too_many", _("Tối đa %(n)s địa bàn nhận.") % {"n": MAX_RECEIVERS})
    units = list(Unit.objects.filter(code__in=wanted, is_active=True))
    found = {u.code for u in units}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise _err(
            "receivers",
            "receiver_unknown",
            _("Không tìm thấy địa bàn nhận: %(codes)s.") % {"codes": ", ".join(missing[:10])},
        )
    outside = [u for u in units if not u.is_within(origin)]
    if outside:
        names = ", ".join(u.name for u in outside[:5])
        raise _err(
            "receivers",
            "receiver_out_of_scope",
            _("Địa bàn nhận phải thuộc %(origin)s: %(names)s nằm ngoài phạm vi.")
            % {"origin": origin.name, "names": names},
        )
    return units


def check_bulletin_data(
    data: dict[str, Any],
    origin: Unit,
    *,
    partial: bool = False,
    actor: Any = None,
    token: ApiToken | None = None,
) -> tuple[dict[str, Any], list[Unit] | None]:
    """Validate editable fields; returns the cleaned values and the receivers (None when not given)."""
    unknown = set(data) - set(FIELD_LABELS)
    if unknown:
        raise _err(
            sorted(unknown)[0],
            "field_unknown",
            _("Trường không được hỗ trợ: %(names)s.") % {"names": ", ".join(sorted(unknown))},
        )
    clean: dict[str, Any] = {}
    for name, value in data.items():
        if name in _TEXT_LIMITS:
            clean[name] = _clean_text(name, value)
        elif name == "field":
            clean[name] = _clean_choice(name, value, Field)
        elif name == "content_type":
            clean[name] = _clean_choice(name, value, ContentType)
        elif name == "priority":
            clean[name] = _clean_choice(name, value, Priority)
        elif name == "language":
            clean[name] = _clean_choice(name, value, Language)
        elif name in ("produced_at", "valid_from", "valid_until"):
            clean[name] = _clean_datetime(name, value)
        elif name == "duration_s":
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise _err(name, "duration_invalid", _("Thời lượng phải là số giây, không âm."))
            if value is not None and value > 24 * 3600:
                raise _err(name, "duration_invalid", _("Thời lượng không được quá 24 giờ."))
            clean[name] = value
        elif name == "is_relay":
            clean[name] = bool(value)
        elif name == "extras":
            clean[name] = _clean_extras(value)
        elif name == "audio_asset_id":
            clean[name] = _check_asset(value, actor=actor, token=token) if value is not None else None
    if not partial or "title" in clean:
        if not clean.get("title"):
            raise _err("title", "title_required", _("Tiêu đề không được để trống."))
    if clean.get("author_email"):
        try:
            validate_email(clean["author_email"])
        except DjangoValidationError:
            raise _err("author_email", "author_email_invalid", _("E-mail tác giả không hợp lệ.")) from None
    if "produced_at" in clean and clean["produced_at"] is None:
        if partial:
            del clean["produced_at"]
    receivers = None
    if "receivers" in data:
        codes = data["receivers"] or []
        if isinstance(codes, str) or not isinstance(codes, list | tuple | set):
            raise _err("receivers", "receivers_invalid", _("Địa bàn nhận phải là danh sách mã đơn vị."))
        receivers = check_receivers(origin, codes)
        clean.pop("receivers", None)
    return clean, receivers


def _check_consistency(b: Bulletin) -> None:
    if b.valid_from and b.valid_until and b.valid_until <= b.valid_from:
        raise _err(
            "valid_until",
            "validity_window_invalid",
            _("Thời điểm hết hiệu lực phải sau thời điểm bắt đầu hiệu lực."),
        )
    if (b.is_relay or b.content_type == ContentType.RELAY) and not b.relay_source:
        raise _err("relay_source", "relay_source_required", _("Bản tin tiếp âm phải có nguồn tiếp âm."))


def _check_asset(
    asset_id: Any,
    field: str = "audio_asset_id",
    kind: str = "audio",
    *,
    actor: Any = None,
    token: ApiToken | None = None,
) -> int:
    """The asset exists, is of ``kind`` and the actor may use it (``access_media_asset``: its own units' library,
    or the audio of a published bulletin it received). Someone else's asset is "not found", like a missing one."""
    from loa.media.access import MediaAssetNotFound, access_media_asset
    from loa.media.models import MediaAsset

    if not isinstance(asset_id, int) or isinstance(asset_id, bool) or asset_id <= 0:
        raise _err(field, "asset_invalid", _("Mã tệp không hợp lệ."))
    asset = MediaAsset.objects.select_related("unit").filter(pk=asset_id).first()
    if asset is not None and actor is not None:
        try:
            access_media_asset(actor, asset, "media.view", token)
        except (MediaAssetNotFound, AccessDenied):
            asset = None
    if asset is None:
        raise _err(field, "asset_not_found", _("Không tìm thấy tệp đã chọn trong thư viện."))
    if kind and asset.kind != kind:
        raise _err(
            field,
            "asset_kind_invalid",
            _("Tệp đã chọn không phải là %(kind)s.") % {"kind": str(asset.Kind(kind).label).lower()},
        )
    return int(asset_id)


def check_ready_for_review(b: Bulletin) -> None:
    """What a bulletin needs before anyone is asked to approve or publish it."""
    _check_consistency(b)
    if not b.receivers.exists():
        raise _err("receivers", "receivers_required", _("Chọn ít nhất một địa bàn nhận."))
    if b.content_type == ContentType.TEXT and not (b.body or b.summary):
        raise _err("body", "body_required", _("Bản tin văn bản cần có nội dung."))
    if b.content_type == ContentType.AUDIO and not b.audio_asset_id:
        raise _err("audio_asset_id", "audio_required", _("Bản tin âm thanh cần có tệp âm thanh."))
    if b.valid_until and b.valid_until <= timezone.now():
        raise _err("valid_until", "validity_over", _("Bản tin đã quá thời hạn hiệu lực."))


# ---- versions ------------------------------------------------------------------------------------------


def snapshot(b: Bulletin) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in FIELD_LABELS:
        if name == "receivers":
            out[name] = sorted(b.receivers.values_list("code", flat=True))
            continue
        value = getattr(b, name)
        out[name] = value.isoformat() if isinstance(value, dt.datetime) else value
    return out


def _save_version(b: Bulletin, actor: Any, substantive: bool) -> BulletinVersion:
    return BulletinVersion.objects.create(
        bulletin=b, number=b.version, snapshot=snapshot(b), substantive=substantive, created_by=actor
    )


def snapshot_lines(snap: dict[str, Any]) -> list[str]:
    """A snapshot as readable lines, for diffs."""
    lines: list[str] = []
    for name, label in FIELD_LABELS.items():
        value = snap.get(name)
        if name in ("body", "read_as", "summary"):
            lines.append(f"{label}:")
            lines.extend(f"  {line}" for line in str(value or "").splitlines() or [""])
        elif name == "extras":
            lines.append(f"{label}: " + "; ".join(f"{e['name']}={e['value']}" for e in value or []))
        elif name == "receivers":
            lines.append(f"{label}: " + ", ".join(value or []))
        else:
            lines.append(f"{label}: {'' if value is None else value}")
    return lines


def diff_versions(old: BulletinVersion, new: BulletinVersion) -> tuple[str, str]:
    """The unified diff (for the API) and an HTML side-by-side table (for the console)."""
    a, b = snapshot_lines(old.snapshot), snapshot_lines(new.snapshot)
    unified = "\n".join(
        difflib.unified_diff(a, b, f"phiên bản {old.number}", f"phiên bản {new.number}", lineterm="")
    )
    table = difflib.HtmlDiff(wrapcolumn=60).make_table(
        a, b, f"Phiên bản {old.number}", f"Phiên bản {new.number}", context=True, numlines=1
    )
    return unified, table


# ---- access --------------------------------------------------------------------------------------------


def visible_bulletins(user: Any, token: ApiToken | None = None) -> QuerySet[Bulletin]:
    """Bulletins of units in the user's scope, plus those published into an inbox in the user's scope."""
    units = access_units(user, "bulletin.view", token)
    own = Q(origin_unit__in=units)
    received = Q(
        feed_items__unit__in=units,
        feed_items__direction=FeedItem.Direction.DOWN,
        state__in=[State.PUBLISHED, State.EXPIRED, State.CANCELLED],
    )
    ids = Bulletin.objects.filter(own | received).values("pk")
    return Bulletin.objects.filter(pk__in=ids)


def access_bulletin(
    user: Any, bulletin_id: int, action: str = "bulletin.view", token: ApiToken | None = None
) -> Bulletin:
    """The bulletin if the user may see it (404 otherwise) and do ``action`` on its originating unit (403)."""
    b = (
        visible_bulletins(user, token)
        .select_related("origin_unit", "created_by", "updated_by", "published_by")
        .filter(pk=bulletin_id)
        .first()
    )
    if b is None:
        raise BulletinNotFound()
    if action != "bulletin.view":
        access_unit(user, b.origin_unit, action, token)
    return b


def holds_role(user: Any, unit: Unit, role: str) -> bool:
    """True when the user holds ``role`` itself (not merely an admin role) on ``unit`` or above it."""
    return any(g.role == role and g.path is not None and unit.path.startswith(g.path) for g in grants(user))


# ---- approval policies ---------------------------------------------------------------------------------

STEP_ROLES: dict[str, tuple[str, str]] = {
    # role named by a step → (the action it needs, the default label)
    Role.EDITOR: ("bulletin.review", "Ban biên tập thẩm định"),
    Role.APPROVER: ("bulletin.approve", "Lãnh đạo duyệt"),
}
DEFAULT_STEPS: list[dict[str, str]] = [{"role": Role.APPROVER, "label": "Người duyệt"}]
MAX_STEPS = 5


def policy_steps(unit: Unit) -> list[dict[str, str]]:
    policy = ApprovalPolicy.objects.filter(unit=unit).first()
    return list(policy.steps) if policy and policy.steps else list(DEFAULT_STEPS)


def check_policy_steps(steps: Any) -> list[dict[str, str]]:
    if not isinstance(steps, list) or not steps:
        raise _err("steps", "steps_required", _("Quy trình duyệt cần ít nhất một bước."))
    if len(steps) > MAX_STEPS:
        raise _err("steps", "steps_too_many", _("Quy trình duyệt có tối đa %(n)s bước.") % {"n": MAX_STEPS})
    out: list[dict[str, str]] = []
    for i, step in enumerate(steps, start=1):
        role = step.get("role") if isinstance(step, dict) else None
        if role not in STEP_ROLES:
            raise _err(
                "steps",
                "step_role_invalid",
                _("Bước %(n)s: vai trò phải là “editor” (Ban biên tập) hoặc “approver” (Người duyệt).")
                % {"n": i},
            )
        label = " ".join(str(step.get("label") or STEP_ROLES[role][1]).split())[:200]
        out.append({"role": str(role), "label": label})
    if out[-1]["role"] != Role.APPROVER:
        raise _err(
            "steps",
            "last_step_not_approver",
            _("Bước cuối của quy trình duyệt phải do Người duyệt thực hiện."),
        )
    return out


def do_set_approval_policy(
    unit: Unit, steps: Any, *, actor: Any, token: ApiToken | None = None, request: HttpRequest | None = None
) -> ApprovalPolicy:
    access_unit(actor, unit, "settings.manage", token)
    clean = check_policy_steps(steps)
    with transaction.atomic():
        policy, _created = ApprovalPolicy.objects.select_for_update().get_or_create(unit=unit)
        before = policy.steps
        policy.steps = clean
        policy.save()
        record(
            "bulletin.policy_changed",
            actor=actor,
            request=request,
            unit=unit,
            object_type="content.approvalpolicy",
            object_id=unit.code,
            message=f"Đổi quy trình duyệt bản tin của {unit.name}",
            data={"before": before, "after": clean},
        )
    return policy


def active_approvals(b: Bulletin) -> list[Approval]:
    return list(
        b.approvals.filter(cleared_at__isnull=True, decision=Approval.Decision.APPROVED).select_related(
            "user"
        )
    )


def current_step(b: Bulletin) -> tuple[int, dict[str, str]] | None:
    """The step awaiting a decision (1-based) and its definition; None when every step is done."""
    steps = policy_steps(b.origin_unit)
    done = len(active_approvals(b))
    if done >= len(steps):
        return None
    return done + 1, steps[done]


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


def check_transition(
    b: Bulletin, name: str, actor: Any, token: ApiToken | None = None, *, note: str = ""
) -> Transition:
    """Raise unless ``actor`` may apply transition ``name`` to ``b`` now."""
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
    if t.action is None:
        return t
    unit = b.origin_unit
    if t.action == "step":
        _check_step_actor(b, actor, token)
        if name == "reject" and not note.strip():
            raise _err("note", "note_required", _("Hãy ghi lý do trả lại để người soạn biết cần sửa gì."))
    else:
        action = "bulletin.publish" if name == "cancel" and b.state == State.PUBLISHED else t.action
        access_unit(actor, unit, action, token)
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
            check_transition(b, t.name, actor, token, note="x")
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
    token: ApiToken | None = None,
    request: HttpRequest | None = None,
) -> Bulletin:
    """Check, apply and audit one workflow transition, in one transaction."""
    note = _CONTROL_RE.sub("", note or "").strip()[:2000]
    with transaction.atomic():
        b = Bulletin.objects.select_for_update().select_related("origin_unit").get(pk=bulletin.pk)
        t = check_transition(b, name, actor, token, note=note)
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
            data["feed"] = _publish_feed(b, actor)
            _supersede(b, actor, request)
        elif name in ("cancel", "expire") and before == State.PUBLISHED:
            data["withdrawn"] = _withdraw_feed(b, cancel=name == "cancel")
        if note:
            data["note"] = note
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


def target_communes(b: Bulletin) -> list[Unit]:
    """The communes a published bulletin reaches: receivers resolved to communes (a province: all of them)."""
    communes: dict[int, Unit] = {}
    for unit in b.receivers.all():
        if unit.level == Level.COMMUNE:
            communes[unit.pk] = unit
        elif unit.level == Level.ZONE and unit.parent is not None:
            communes[unit.parent.pk] = unit.parent
        elif unit.level == Level.PROVINCE:
            for c in Unit.objects.subtree(unit).filter(level=Level.COMMUNE, is_active=True):
                communes[c.pk] = c
    return sorted(communes.values(), key=lambda u: u.path)


_FEED_STATE = {
    Priority.NORMAL: FeedItem.State.NEW,
    Priority.PRIORITY: FeedItem.State.QUEUED,
    Priority.EMERGENCY: FeedItem.State.HANDED_OFF,
}


def _publish_feed(b: Bulletin, actor: Any) -> dict[str, Any]:
    """Put the bulletin in each target commune's inbox; hand emergency (and priority) bulletins to broadcast."""
    communes = target_communes(b)
    inbox = [c for c in communes if c.pk != b.origin_unit_id]
    state = _FEED_STATE[Priority(b.priority)]
    FeedItem.objects.bulk_create(
        [
            FeedItem(bulletin=b, unit=c, direction=FeedItem.Direction.DOWN, state=state, sent_by=actor)
            for c in inbox
        ],
        ignore_conflicts=True,
    )
    handoffs: list[BroadcastHandoff] = []
    if b.priority == Priority.EMERGENCY:
        handoffs = [
            BroadcastHandoff(bulletin=b, unit=c, kind=BroadcastHandoff.Kind.EMERGENCY) for c in communes
        ]
    elif b.priority == Priority.PRIORITY:
        handoffs = [BroadcastHandoff(bulletin=b, unit=c, kind=BroadcastHandoff.Kind.PRIORITY) for c in inbox]
    BroadcastHandoff.objects.bulk_create(handoffs)
    if handoffs:
        ids = [h.bulletin_id for h in handoffs[:1]]
        transaction.on_commit(lambda: signals.broadcast_handoff.send(Bulletin, bulletin_ids=ids))
    return {"inbox": [c.code for c in inbox], "handoff": [h.unit.code for h in handoffs], "state": state}


def _withdraw_feed(b: Bulletin, *, cancel: bool) -> list[str]:
    items = FeedItem.objects.filter(
        bulletin=b,
        direction=FeedItem.Direction.DOWN,
        state__in=[
            FeedItem.State.NEW,
            FeedItem.State.QUEUED,
            FeedItem.State.HANDED_OFF,
            FeedItem.State.TAKEN,
        ],
    )
    units = list(items.values_list("unit_id", flat=True))
    items.filter(state__in=[FeedItem.State.NEW, FeedItem.State.QUEUED, FeedItem.State.HANDED_OFF]).update(
        state=FeedItem.State.WITHDRAWN
    )
    if cancel:
        handed = set(BroadcastHandoff.objects.filter(bulletin=b).values_list("unit_id", flat=True))
        targets = sorted(set(units) | handed)
        BroadcastHandoff.objects.bulk_create(
            [BroadcastHandoff(bulletin=b, unit_id=u, kind=BroadcastHandoff.Kind.CANCEL) for u in targets]
        )
    return [str(u) for u in units]


def _supersede(b: Bulletin, actor: Any, request: HttpRequest | None) -> None:
    old = b.replaces
    if old is None:
        return
    Bulletin.objects.filter(pk=old.pk).update(superseded_by=b)
    if old.state in EXPIRABLE:
        do_transition(old, "expire", actor=None, note=f"Được thay thế bởi bản tin #{b.pk}", request=request)


def expire_due(now: dt.datetime | None = None, ids: Iterable[int] | None = None) -> int:
    """Expire every bulletin whose validity has ended (run by ``loa bulletins expire`` and at read time)."""
    now = now or timezone.now()
    qs = Bulletin.objects.filter(state__in=EXPIRABLE, valid_until__isnull=False, valid_until__lte=now)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    count = 0
    for b in qs.select_related("origin_unit"):
        try:
            do_transition(b, "expire", actor=None, note="Hết thời hạn hiệu lực")
            count += 1
        except BulletinError:  # changed meanwhile by someone else
            continue
    return count


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
    access_unit(actor, origin, "bulletin.edit", token)
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
    access_unit(actor, bulletin.origin_unit, "bulletin.edit", token)
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
        reviewing = b.state == State.APPROVED or (b.state == State.SUBMITTED and active_approvals(b))
        if substantive and reviewing:
            do_transition(
                b, "return_to_review", actor=actor, request=request, note="Sửa nội dung sau khi duyệt"
            )
    bulletin.refresh_from_db()
    return bulletin


def do_add_comment(
    b: Bulletin, text: str, *, actor: Any, token: ApiToken | None = None, request: HttpRequest | None = None
) -> Comment:
    unit = b.origin_unit
    if not any(can(actor, unit, a, token) for a in ("bulletin.edit", "bulletin.review", "bulletin.approve")):
        raise AccessDenied(_("Chỉ người soạn, thẩm định hoặc duyệt bản tin mới được bình luận."))
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
            unit=unit,
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
    access_unit(actor, b.origin_unit, "bulletin.edit", token)
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
    access_unit(actor, b.origin_unit, "bulletin.edit", token)
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

    access_unit(actor, b.origin_unit, "bulletin.edit", token)
    access_unit(actor, b.origin_unit, "media.upload", token)
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
    access_unit(actor, bulletin.origin_unit, "bulletin.edit", token)
    text = bulletin.read_as or "\n".join(p for p in (bulletin.title, bulletin.body or bulletin.summary) if p)
    if not text.strip():
        raise _err("body", "body_required", _("Bản tin chưa có nội dung để đọc thành âm thanh."))
    # The TTS service normalizes and synthesizes through the media pipeline (loudness, mono MP3); the clip is
    # then filed in the unit's media library so the bulletin points at an ordinary audio asset.
    from loa.media.audio import MediaRejected
    from loa.media.services import do_ingest_file
    from loa.tts.engines import TtsError
    from loa.tts.services import clip_file, do_synthesize

    try:
        clip = do_synthesize(
            text,
            actor=actor,
            read_as=bulletin.read_as or None,
            unit=bulletin.origin_unit,
            request=request,
        )
        asset = do_ingest_file(
            clip_file(clip),
            unit=bulletin.origin_unit,
            actor=actor,
            original_name=f"ban-tin-{bulletin.pk}-v{bulletin.version}.mp3",
            request=request,
        )
    except (TtsError, MediaRejected) as exc:
        raise BulletinError(exc.code, exc.message, 400) from exc
    data: dict[str, Any] = {"audio_asset_id": asset.pk}
    if asset.duration_s:
        data["duration_s"] = max(1, round(float(asset.duration_s)))
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


# ---- the feed ------------------------------------------------------------------------------------------


def access_feed_item(user: Any, item_id: int, action: str, token: ApiToken | None = None) -> FeedItem:
    item = (
        FeedItem.objects.select_related("bulletin", "unit", "bulletin__origin_unit")
        .filter(pk=item_id)
        .first()
    )
    if item is None or not can(user, item.unit, "bulletin.view", token):
        raise BulletinError("feed_item_not_found", _("Không tìm thấy bản tin trong hộp thư của bạn."), 404)
    access_unit(user, item.unit, action, token)
    return item


FEED_TRANSITIONS: dict[str, tuple[frozenset[str], str, str]] = {
    # name → (states it applies to, target state, label)
    "take": (
        frozenset({FeedItem.State.NEW, FeedItem.State.QUEUED}),
        FeedItem.State.TAKEN,
        gettext_noop("Nhận bản tin"),
    ),
    "decline": (frozenset({FeedItem.State.NEW}), FeedItem.State.DECLINED, gettext_noop("Từ chối bản tin")),
}


def do_feed_transition(
    item: FeedItem,
    name: str,
    *,
    actor: Any,
    note: str = "",
    token: ApiToken | None = None,
    request: HttpRequest | None = None,
) -> FeedItem:
    """Take or decline a bulletin in the inbox (a commune: from the province; the province: a shared one)."""
    if name not in FEED_TRANSITIONS:
        raise BulletinError("transition_unknown", _("Không có thao tác “%(name)s”.") % {"name": name}, 400)
    sources, target, label = FEED_TRANSITIONS[name]
    action = "bulletin.take" if item.direction == FeedItem.Direction.DOWN else "bulletin.edit"
    access_unit(actor, item.unit, action, token)
    with transaction.atomic():
        locked = FeedItem.objects.select_for_update().select_related("bulletin").get(pk=item.pk)
        if locked.state not in sources:
            if locked.state in (FeedItem.State.QUEUED, FeedItem.State.HANDED_OFF) and name == "decline":
                raise BulletinError(
                    "feed_decline_not_allowed", _("Bản tin ưu tiên hoặc khẩn cấp không thể từ chối."), 409
                )
            raise BulletinError(
                "feed_transition_not_allowed",
                _("Không thể “%(action)s” khi bản tin đang ở trạng thái “%(state)s”.")
                % {"action": _(label).lower(), "state": locked.get_state_display()},
                409,
            )
        before = locked.state
        locked.state = target
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.note = _CONTROL_RE.sub("", note or "").strip()[:500]
        locked.save(update_fields=["state", "decided_by", "decided_at", "note"])
        record(
            f"bulletin.feed_{name}",
            actor=actor,
            request=request,
            unit=item.unit,
            obj=locked.bulletin,
            message=f"{label}: {locked.bulletin.title}"[:500],
            data={"feed_item": locked.pk, "from": before, "to": target, "direction": locked.direction},
        )
    item.refresh_from_db()
    return item


def do_share_up(
    b: Bulletin,
    *,
    actor: Any,
    note: str = "",
    token: ApiToken | None = None,
    request: HttpRequest | None = None,
) -> FeedItem:
    """A commune proposes its bulletin to the province, which may republish it."""
    access_unit(actor, b.origin_unit, "bulletin.edit", token)
    province = b.origin_unit.parent
    if b.origin_unit.level != Level.COMMUNE or province is None:
        raise BulletinError("share_not_commune", _("Chỉ bản tin của xã mới chia sẻ lên tỉnh được."), 400)
    if b.state not in (State.APPROVED, State.PUBLISHED):
        raise BulletinError("share_not_ready", _("Chỉ chia sẻ được bản tin đã duyệt hoặc đã phát hành."), 409)
    with transaction.atomic():
        try:
            with transaction.atomic():
                item = FeedItem.objects.create(
                    bulletin=b,
                    unit=province,
                    direction=FeedItem.Direction.UP,
                    state=FeedItem.State.NEW,
                    sent_by=actor,
                    note=_CONTROL_RE.sub("", note or "").strip()[:500],
                )
        except IntegrityError:
            raise BulletinError("already_shared", _("Bản tin này đã được đề xuất lên tỉnh."), 409) from None
        record(
            "bulletin.shared_up",
            actor=actor,
            request=request,
            unit=b.origin_unit,
            obj=b,
            message=f"Đề xuất lên {province.name}: {b.title}"[:500],
            data={"province": province.code, "feed_item": item.pk},
        )
    return item


def do_republish(
    item: FeedItem, *, actor: Any, token: ApiToken | None = None, request: HttpRequest | None = None
) -> Bulletin:
    """The province takes a shared bulletin: a new provincial draft that remembers where it came from."""
    if item.direction != FeedItem.Direction.UP:
        raise BulletinError("not_shared", _("Chỉ đăng lại được bản tin do xã đề xuất."), 400)
    original = item.bulletin
    data = {k: v for k, v in snapshot(original).items() if k not in ("receivers", "produced_at")}
    with transaction.atomic():
        do_feed_transition(item, "take", actor=actor, token=token, request=request)
        copy = do_create_bulletin(
            item.unit, data, actor=actor, token=token, request=request, shared_from=original
        )
    return copy


# ---- provenance ----------------------------------------------------------------------------------------


def _person(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"username": user.username, "full_name": user.full_name or user.username}


def _ref(b: Bulletin | None) -> dict[str, Any] | None:
    if b is None:
        return None
    return {"id": b.pk, "title": b.title, "unit": b.origin_unit.name, "unit_code": b.origin_unit.code}


def provenance(b: Bulletin) -> dict[str, Any]:
    """Who wrote it, who edited it, who approved each step, who published it, where it came from."""
    editors: list[dict[str, Any]] = []
    seen: set[int] = set()
    for v in b.versions.select_related("created_by").order_by("number"):
        if v.created_by_id not in seen:
            seen.add(v.created_by_id)
            editors.append(_person(v.created_by) or {})
    approvals = [
        {
            "step": a.step,
            "label": a.step_label,
            "role": a.role,
            "decision": a.decision,
            "user": _person(a.user),
            "decided_at": a.decided_at,
            "version": a.version,
            "note": a.note,
            "cleared": a.cleared_at is not None,
        }
        for a in b.approvals.select_related("user").order_by("decided_at", "pk")
    ]
    return {
        "origin_unit": {"code": b.origin_unit.code, "name": b.origin_unit.name},
        "created_by": _person(b.created_by),
        "created_at": b.created_at,
        "author": {"name": b.author_name, "pen_name": b.author_pen_name, "email": b.author_email},
        "news_source": b.news_source,
        "editors": editors,
        "approvals": approvals,
        "published_by": _person(b.published_by),
        "published_at": b.published_at,
        "shared_from": _ref(b.shared_from),
        "replaces": _ref(b.replaces),
        "superseded_by": _ref(b.superseded_by),
    }
