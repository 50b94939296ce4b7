"""One error format for the whole API: ``{"error": {"code", "message", "details"}}`` with Vietnamese messages."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from loa.accounts.access import AccessDenied, UnitNotFound


class ErrorBody(Schema):
    code: str
    message: str
    details: list[dict[str, Any]] = []


class ErrorOut(Schema):
    error: ErrorBody


class ApiError(Exception):
    """Raise from an endpoint to answer with a machine-readable code and a message an operator can act on."""

    def __init__(self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


ERROR_RESPONSES: dict[int, type[Schema]] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    422: ErrorOut,
}

_TYPE_MESSAGES = {
    "missing": "thiếu trường bắt buộc",
    "string_too_long": "quá dài",
    "string_too_short": "quá ngắn",
    "string_type": "phải là chuỗi ký tự",
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "float_parsing": "phải là số",
    "bool_parsing": "phải là true hoặc false",
    "enum": "không thuộc các giá trị cho phép",
    "literal_error": "không thuộc các giá trị cho phép",
    "json_invalid": "JSON không hợp lệ",
    "datetime_parsing": "phải là thời điểm dạng ISO 8601",
    "datetime_from_date_parsing": "phải là thời điểm dạng ISO 8601",
    "date_parsing": "phải là ngày dạng YYYY-MM-DD",
    "model_attributes_type": "phải là một đối tượng JSON",
    "dict_type": "phải là một đối tượng JSON",
    "list_type": "phải là một danh sách",
    "greater_than_equal": "quá nhỏ",
    "less_than_equal": "quá lớn",
    "string_pattern_mismatch": "sai định dạng",
    "value_error": "giá trị không hợp lệ",
}


def _error(
    api: NinjaAPI,
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
) -> HttpResponse:
    return api.create_response(
        request, {"error": {"code": code, "message": message, "details": details or []}}, status=status
    )


def install(api: NinjaAPI) -> None:
    """Register the error handlers on ``api``."""

    @api.exception_handler(ApiError)
    def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return _error(api, request, exc.status, exc.code, exc.message, exc.details)

    @api.exception_handler(ValidationError)
    def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        details = []
        for err in exc.errors:
            loc = [str(p) for p in err.get("loc", []) if p not in ("body", "payload", "query", "path")]
            field = ".".join(loc) or "body"
            text = _TYPE_MESSAGES.get(str(err.get("type")), str(err.get("msg", "không hợp lệ")))
            details.append(
                {"field": field, "code": err.get("type", "invalid"), "message": f"{field}: {text}"}
            )
        summary = "; ".join(d["message"] for d in details[:5]) or "Dữ liệu gửi lên không hợp lệ."
        return _error(api, request, 422, "validation_error", f"Dữ liệu không hợp lệ: {summary}", details)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return _error(
            api, request, 401, "not_authenticated", "Chưa đăng nhập hoặc mã truy cập không hợp lệ/đã hết hạn."
        )

    @api.exception_handler(AccessDenied)
    def _denied(request: HttpRequest, exc: AccessDenied) -> HttpResponse:
        return _error(api, request, 403, "permission_denied", exc.message)

    @api.exception_handler(UnitNotFound)
    def _unit_not_found(request: HttpRequest, exc: UnitNotFound) -> HttpResponse:
        return _error(api, request, 404, "unit_not_found", exc.message)

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        codes = {
            400: "bad_request",
            401: "not_authenticated",
            403: "permission_denied",
            404: "not_found",
            405: "method_not_allowed",
            409: "conflict",
            429: "too_many_requests",
        }
        return _error(api, request, exc.status_code, codes.get(exc.status_code, "error"), str(exc))

    from django.http import Http404

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return _error(api, request, 404, "not_found", "Không tìm thấy đối tượng yêu cầu.")
