"""The JSON API under ``/api/v1/`` (Django Ninja). OpenAPI at ``/api/v1/openapi.json``, docs at ``/api/v1/docs``,
both for signed-in users and token holders only (the map of every operation is not for outsiders)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.renderers import JSONRenderer

from loa.api import errors
from loa.api.auth import SessionAuth, TokenAuth
from loa.errors import Refusal


def signed_in_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The docs page and the schema: a console session (past its 2FA) or an API token; else the sign-in page
    (docs) or a 401 in the API's error format (schema)."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        allowed = SessionAuth().authenticate(request, None) is not None
        if not allowed and request.headers.get("Authorization", "").startswith("Bearer "):
            try:
                allowed = TokenAuth()(request) is not None
            except Refusal:  # a token its user's 2FA rule refuses
                allowed = False
        if allowed:
            return view(request, *args, **kwargs)
        if request.path.endswith(".json"):
            return JsonResponse(
                {
                    "error": {
                        "code": errors.STATUS_CODES[401],
                        "message": errors.STATUS_MESSAGES[401],
                        "details": [],
                    }
                },
                status=401,
                json_dumps_params={"ensure_ascii": False},
            )
        return redirect_to_login(request.get_full_path())

    return guarded


class Utf8JSONRenderer(JSONRenderer):
    """Vietnamese text stays readable in API answers (no \\u escapes)."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=Utf8JSONRenderer(),
    title="Loa API",
    version="1",
    description=(
        "API của hệ thống thông tin nguồn Loa. Xác thực bằng `Authorization: Bearer <mã truy cập>` "
        "hoặc phiên đăng nhập của bảng điều khiển. Lỗi luôn có dạng "
        '`{"error": {"code": ..., "message": ..., "details": [...]}}`.'
    ),
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    docs_decorator=signed_in_only,
)
errors.install(api)

from loa.api import routers  # noqa: E402

routers.mount(api)
