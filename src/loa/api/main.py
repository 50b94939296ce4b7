"""The JSON API under ``/api/v1/`` (Django Ninja). OpenAPI at ``/api/v1/openapi.json``, docs at ``/api/v1/docs``."""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.renderers import JSONRenderer

from loa.api import errors
from loa.api.auth import SessionAuth, TokenAuth


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
)
errors.install(api)

from loa.api import routers  # noqa: E402

routers.mount(api)
