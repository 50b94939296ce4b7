"""Answers under ``/api/`` that no endpoint wrote (an unknown address, a method the address does not take,
Django's own 400/413/500 pages) get the API's one error format too: JSON, a code and a Vietnamese message."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from loa.api.errors import STATUS_CODES, STATUS_MESSAGES


class ApiErrorFormatMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith("/api/")
            or response.get("Content-Type", "").startswith("application/json")
            or getattr(response, "streaming", False)
        ):
            return response
        status = response.status_code
        body = {
            "error": {
                "code": STATUS_CODES.get(status, "server_error" if status >= 500 else "bad_request"),
                "message": STATUS_MESSAGES.get(
                    status,
                    "Máy chủ gặp lỗi khi xử lý yêu cầu; đã ghi lại để khắc phục."
                    if status >= 500
                    else "Yêu cầu không hợp lệ.",
                ),
                "details": [],
            }
        }
        response.content = json.dumps(body, ensure_ascii=False).encode()  # other headers (CSP, Allow) stay
        response["Content-Type"] = "application/json; charset=utf-8"
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
        return response
