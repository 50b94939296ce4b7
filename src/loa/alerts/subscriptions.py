"""Subscribing a browser to a commune's emergency alerts, without an account: ``check_subscription`` validates
what the browser's ``PushSubscription.toJSON()`` gave, ``do_subscribe`` / ``do_unsubscribe`` change state.

The audit entry of a subscription names the commune and nothing of the citizen: no address (no request is passed
to ``record``), no endpoint; the actor is "người dân (ẩn danh)".
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loa.alerts import conf, keys
from loa.alerts.models import PushSubscription, endpoint_hash
from loa.audit.log import record
from loa.errors import Refusal
from loa.units.models import Level, Unit

MAX_ENDPOINT = 1000
CITIZEN = "người dân (ẩn danh)"  # the audit log's actor for what an anonymous citizen does


class SubscriptionError(Refusal):
    pass


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str


def _b64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _host_allowed(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host == h or host.endswith("." + h) for h in conf.get("LOA_PUSH_SERVICE_HOSTS"))


def check_subscription(data: Any) -> Subscription:
    """A browser's subscription JSON: ``{"endpoint": "https://…", "keys": {"p256dh": "…", "auth": "…"}}``."""
    if not isinstance(data, dict):
        raise SubscriptionError(
            "subscription_invalid", _("Dữ liệu đăng ký không hợp lệ: cần đối tượng JSON của trình duyệt."),
            field="subscription",
        )  # fmt: skip
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise SubscriptionError(
            "endpoint_required", _("Thiếu địa chỉ nhận (endpoint) của trình duyệt."), field="endpoint"
        )
    endpoint = endpoint.strip()
    parts = urlsplit(endpoint)
    if len(endpoint) > MAX_ENDPOINT or parts.scheme != "https" or not parts.hostname:
        raise SubscriptionError(
            "endpoint_invalid",
            _("Địa chỉ nhận (endpoint) phải là một địa chỉ https hợp lệ, dài không quá 1000 ký tự."),
            field="endpoint",
        )
    if parts.username or parts.password or not _host_allowed(parts.hostname):
        raise SubscriptionError(
            "endpoint_not_push_service",
            _("Địa chỉ nhận không thuộc dịch vụ thông báo đẩy của trình duyệt nào mà hệ thống biết."),
            field="endpoint",
        )
    raw_keys = data.get("keys")
    if not isinstance(raw_keys, dict):
        raise SubscriptionError("keys_required", _("Thiếu khóa mã hóa (keys) của trình duyệt."), field="keys")
    p256dh, auth = raw_keys.get("p256dh"), raw_keys.get("auth")
    try:
        if not isinstance(p256dh, str) or len(p256dh) > 120:
            raise ValueError
        point = _b64url(p256dh)
        if len(point) != 65 or point[0] != 4:
            raise ValueError
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)  # on the curve
    except (ValueError, binascii.Error, TypeError):
        raise SubscriptionError(
            "p256dh_invalid", _("Khóa p256dh không hợp lệ (cần khóa công khai P-256 dạng base64url)."),
            field="keys.p256dh",
        ) from None  # fmt: skip
    try:
        if not isinstance(auth, str) or len(auth) > 60 or len(_b64url(auth)) != 16:
            raise ValueError
    except (ValueError, binascii.Error):
        raise SubscriptionError(
            "auth_invalid", _("Khóa auth không hợp lệ (cần 16 byte dạng base64url)."), field="keys.auth"
        ) from None
    return Subscription(endpoint, p256dh, auth)


def check_commune(code: Any) -> Unit:
    if not isinstance(code, str) or not code.strip():
        raise SubscriptionError("commune_required", _("Chọn xã, phường để nhận cảnh báo."), field="commune")
    unit = Unit.objects.filter(code=code.strip(), is_active=True).first()
    if unit is None or unit.level != Level.COMMUNE:
        raise SubscriptionError(
            "commune_not_found", _("Không tìm thấy xã, phường với mã này."), status=404, field="commune"
        )
    return unit


def client_key(ip: str | None) -> str:
    """A keyed hash of the client's address: enough to count a flood, not to find the person."""
    if not ip:
        return ""
    return hmac.new(
        settings.SECRET_KEY.encode(), f"loa.alerts.client:{ip}".encode(), hashlib.sha256
    ).hexdigest()


def check_flood(key: str) -> None:
    if not key:
        return
    limit = int(conf.get("LOA_PUSH_SUBSCRIBE_PER_HOUR"))
    since = timezone.now() - dt.timedelta(hours=1)
    if PushSubscription.objects.filter(client_key=key, created_at__gte=since).count() >= limit:
        raise SubscriptionError(
            "too_many_subscriptions",
            _("Có quá nhiều đăng ký nhận cảnh báo từ địa chỉ mạng này trong một giờ qua: hãy thử lại sau."),
            429,
        )


@transaction.atomic
def do_subscribe(
    sub: Subscription, unit: Unit, *, lang: str = "vi", client: str = ""
) -> tuple[PushSubscription, bool]:
    """Subscribe (or refresh the keys of) this browser for ``unit``'s alerts; returns (row, created). ``client``
    is :func:`client_key` of the request's address; a new subscription past the hourly limit is refused."""
    h = endpoint_hash(sub.endpoint)
    if not PushSubscription.objects.filter(endpoint_hash=h, unit=unit).exists():
        check_flood(client)
    others = PushSubscription.objects.filter(endpoint_hash=h).exclude(unit=unit)
    if others.count() >= int(conf.get("LOA_PUSH_MAX_PER_ENDPOINT")):
        raise SubscriptionError(
            "too_many_communes",
            _("Một trình duyệt chỉ nhận cảnh báo của tối đa %(n)s xã, phường.")
            % {"n": conf.get("LOA_PUSH_MAX_PER_ENDPOINT")},
        )
    key = keys.current()
    row, created = PushSubscription.objects.update_or_create(
        endpoint_hash=h,
        unit=unit,
        defaults={
            "endpoint": sub.endpoint, "p256dh": sub.p256dh, "auth": sub.auth, "vapid_key_id": key.id,
            "lang": "en" if lang == "en" else "vi", "failures": 0, "client_key": client,
        },
    )  # fmt: skip
    # the keys of a browser are the same for every commune it follows: keep them in step
    others.update(p256dh=sub.p256dh, auth=sub.auth, vapid_key_id=key.id)
    if created:
        row.created_at = timezone.now()
        record("alerts.subscribed", actor=CITIZEN, unit=unit, obj=row,
               message=f"Một trình duyệt đăng ký nhận cảnh báo khẩn cấp của {unit.name}")  # fmt: skip
    return row, created


@transaction.atomic
def do_unsubscribe(endpoint: str, unit: Unit | None = None) -> int:
    """Stop the alerts of this browser (for one commune, or all); returns how many subscriptions ended."""
    rows = PushSubscription.objects.filter(endpoint_hash=endpoint_hash(endpoint.strip()))
    if unit is not None:
        rows = rows.filter(unit=unit)
    units = list(Unit.objects.filter(pk__in=rows.values("unit")))
    n = int(rows.delete()[0])
    for u in units:
        record("alerts.unsubscribed", actor=CITIZEN, unit=u, object_type="alerts.pushsubscription",
               message=f"Một trình duyệt hủy nhận cảnh báo khẩn cấp của {u.name}")  # fmt: skip
    return n


def communes_of(endpoint: str) -> list[str]:
    return list(
        PushSubscription.objects.filter(endpoint_hash=endpoint_hash(endpoint.strip()))
        .order_by("unit__code")
        .values_list("unit__code", flat=True)
    )
