"""One error format for the whole API: ``{"error": {"code", "message", "details"}}`` with Vietnamese messages."""

from __future__ import annotations

import logging
import re
from typing import Any

from django.db import DataError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from loa.errors import Refusal

logger = logging.getLogger(__name__)


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

_VIETNAMESE = re.compile("[àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ]", re.I)

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
    "model_type": "phải là một đối tượng JSON",
    "json_type": "phải là JSON",
    "extra_forbidden": "không được phép có trường này",
    "int_from_float": "phải là số nguyên",
    "int_parsing_size": "số quá lớn",
    "float_type": "phải là số",
    "finite_number": "phải là số hữu hạn",
    "bool_type": "phải là true hoặc false",
    "greater_than": "quá nhỏ",
    "less_than": "quá lớn",
    "multiple_of": "không đúng bội số",
    "too_short": "quá ít phần tử",
    "too_long": "quá nhiều phần tử",
    "string_unicode": "phải là chuỗi Unicode hợp lệ",
    "date_type": "phải là ngày dạng YYYY-MM-DD",
    "date_from_datetime_parsing": "phải là ngày dạng YYYY-MM-DD",
    "date_from_datetime_inexact": "phải là ngày dạng YYYY-MM-DD",
    "datetime_type": "phải là thời điểm dạng ISO 8601",
    "datetime_object_invalid": "phải là thời điểm dạng ISO 8601",
    "time_type": "phải là giờ dạng HH:MM",
    "time_parsing": "phải là giờ dạng HH:MM",
    "timezone_aware": "phải có múi giờ",
    "timezone_naive": "không được có múi giờ",
    "union_tag_invalid": "không thuộc các loại cho phép",
    "union_tag_not_found": "thiếu trường phân loại",
    "url_parsing": "phải là một địa chỉ URL",
    "url_type": "phải là một địa chỉ URL",
    "url_scheme": "địa chỉ URL có giao thức không được phép",
    "uuid_parsing": "phải là UUID",
    "uuid_type": "phải là UUID",
    "decimal_parsing": "phải là số",
    "decimal_type": "phải là số",
    "bytes_type": "phải là dữ liệu nhị phân",
    "is_instance_of": "sai kiểu dữ liệu",
    "assertion_error": "giá trị không hợp lệ",
}

# ninja raises HttpError with English text; the API answers every such case in Vietnamese with a stable code.
_HTTP_ERRORS = {
    "Cannot parse request body": (
        "body_invalid",
        "Không đọc được nội dung gửi lên: cần JSON (hoặc biểu mẫu) hợp lệ, mã hóa UTF-8.",
    ),
    "CSRF check Failed": (
        "csrf_failed",
        "Thiếu hoặc sai mã chống giả mạo (CSRF). Tải lại trang rồi thử lại, hoặc dùng mã truy cập Bearer.",
    ),
}
STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    416: "range_not_satisfiable",
    429: "too_many_requests",
}
STATUS_MESSAGES = {
    400: "Yêu cầu không hợp lệ.",
    401: "Chưa đăng nhập hoặc mã truy cập không hợp lệ/đã hết hạn.",
    403: "Bạn không có quyền thực hiện thao tác này.",
    404: "Không tìm thấy đối tượng yêu cầu.",
    405: "Phương thức không được hỗ trợ ở địa chỉ này.",
    409: "Xung đột với trạng thái hiện tại.",
    413: "Nội dung gửi lên quá lớn.",
    416: "Khoảng byte yêu cầu (Range) nằm ngoài tệp.",
    429: "Quá nhiều yêu cầu; thử lại sau.",
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

    @api.exception_handler(Refusal)
    def _refusal(request: HttpRequest, exc: Refusal) -> HttpResponse:
        # Every refusal (domain, guardrail, access) is answered here, in the one format; endpoints let them pass.
        return _error(api, request, exc.status, exc.code, exc.message, exc.error_details())

    @api.exception_handler(ApiError)
    def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return _error(api, request, exc.status, exc.code, exc.message, exc.details)

    @api.exception_handler(ValidationError)
    def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        details = []
        for err in exc.errors:
            loc = [str(p) for p in err.get("loc", []) if p not in ("body", "payload", "query", "path")]
            field = ".".join(loc) or "body"
            text = _TYPE_MESSAGES.get(str(err.get("type")), "không hợp lệ")  # never pydantic's English
            own = (err.get("ctx") or {}).get("error")  # Ninja hands the validator's message over as text
            if isinstance(own, str) and _VIETNAMESE.search(
                own
            ):  # our own validators speak Vietnamese already
                text = own
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

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        known = next((v for k, v in _HTTP_ERRORS.items() if str(exc).startswith(k)), None)
        code, message = known or (
            STATUS_CODES.get(exc.status_code, "error"),
            STATUS_MESSAGES.get(exc.status_code, "Yêu cầu không hợp lệ."),
        )
        return _error(api, request, exc.status_code, code, message)

    @api.exception_handler(OverflowError)
    @api.exception_handler(DataError)
    def _out_of_range(request: HttpRequest, exc: Exception) -> HttpResponse:
        # A number past the database's 64-bit integers (an id or a filter): bad input, not a server fault.
        logger.warning("API %s %s: value out of range: %s", request.method, request.path, exc)
        return _error(
            api,
            request,
            422,
            "value_out_of_range",
            "Dữ liệu không hợp lệ: có số hoặc giá trị vượt quá giới hạn cho phép.",
        )

    from django.http import Http404

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return _error(api, request, 404, "not_found", "Không tìm thấy đối tượng yêu cầu.")
