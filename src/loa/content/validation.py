"""Checking what an operator sends for a bulletin: fields, receivers, assets, readiness for review (``check_*``)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from loa.accounts.access import AccessDenied
from loa.accounts.models import ApiToken
from loa.content.errors import BulletinError
from loa.content.models import (
    Bulletin,
    ContentType,
    Field,
    Language,
    Priority,
)
from loa.units.models import Unit

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
