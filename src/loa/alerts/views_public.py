"""Public JSON endpoints of the alerts (no account; docs/citizen.md, "Cảnh báo"):

- ``GET  /congdan/canh-bao/khoa/``      the VAPID public key for ``PushManager.subscribe``
- ``POST /congdan/canh-bao/dang-ky/``   ``{"commune": "06652", "subscription": {...toJSON()}, "lang": "vi"}``
- ``POST /congdan/canh-bao/huy/``       ``{"endpoint": "https://…", "commune": "06652"}`` (no commune: all)
- ``POST /congdan/canh-bao/trang-thai/`` ``{"endpoint": "https://…"}`` → the communes this browser follows

They take JSON only (``Content-Type: application/json``: a cross-site form cannot send it without a CORS
pre-flight this site never answers), so they need no CSRF token; a refusal is ``{"error": {"code", "message",
"field"}}`` in Vietnamese, as the API's.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from loa.alerts import keys
from loa.alerts.subscriptions import (
    SubscriptionError,
    check_commune,
    check_subscription,
    client_key,
    communes_of,
    do_subscribe,
    do_unsubscribe,
)
from loa.audit.log import client_ip
from loa.errors import Refusal

MAX_BODY = 8192


def _refusal(exc: Refusal) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": exc.code, "message": exc.message, "field": exc.field}},
        status=exc.status,
        json_dumps_params={"ensure_ascii": False},
    )


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object (415 if not JSON, 413 if over 8 kB); also used by the feedback's follow."""
    if request.content_type != "application/json":
        raise SubscriptionError(
            "json_required", _("Yêu cầu phải gửi dữ liệu JSON (Content-Type: application/json)."), status=415
        )
    if len(request.body) > MAX_BODY:
        raise SubscriptionError("body_too_large", _("Dữ liệu gửi lên quá lớn."), status=413)
    try:
        data = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise SubscriptionError("json_invalid", _("Dữ liệu gửi lên không phải JSON hợp lệ.")) from None
    if not isinstance(data, dict):
        raise SubscriptionError("json_invalid", _("Dữ liệu gửi lên phải là một đối tượng JSON."))
    return data


@require_GET
def public_key(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"public_key": keys.current().public_key})


@csrf_exempt
@never_cache
@require_POST
def subscribe(request: HttpRequest) -> JsonResponse:
    try:
        data = json_body(request)
        unit = check_commune(data.get("commune"))
        sub = check_subscription(data.get("subscription"))
        client = client_key(client_ip(request))
        _row, created = do_subscribe(sub, unit, lang=str(data.get("lang") or "vi"), client=client)
    except Refusal as exc:
        return _refusal(exc)
    return JsonResponse(
        {
            "commune": unit.code,
            "commune_name": unit.name,
            "public_key": keys.current().public_key,
            "created": created,
            "message": _("Đã đăng ký nhận cảnh báo khẩn cấp của %(unit)s.") % {"unit": unit.name},
        },
        status=201 if created else 200,
        json_dumps_params={"ensure_ascii": False},
    )


def _endpoint(data: dict[str, Any]) -> str:
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.strip() or len(endpoint) > 1000:
        raise SubscriptionError(
            "endpoint_required", _("Thiếu địa chỉ nhận (endpoint) của trình duyệt."), field="endpoint"
        )
    return endpoint


@csrf_exempt
@never_cache
@require_POST
def unsubscribe(request: HttpRequest) -> JsonResponse:
    try:
        data = json_body(request)
        endpoint = _endpoint(data)
        unit = check_commune(data["commune"]) if data.get("commune") else None
    except Refusal as exc:
        return _refusal(exc)
    n = do_unsubscribe(endpoint, unit)
    return JsonResponse(
        {
            "removed": n,
            "message": _("Đã hủy nhận cảnh báo.") if n else _("Trình duyệt này chưa đăng ký nhận cảnh báo."),
        },
        json_dumps_params={"ensure_ascii": False},
    )


@csrf_exempt
@never_cache
@require_POST
def subscription_state(request: HttpRequest) -> JsonResponse:
    try:
        endpoint = _endpoint(json_body(request))
    except Refusal as exc:
        return _refusal(exc)
    return JsonResponse({"communes": communes_of(endpoint), "public_key": keys.current().public_key})
