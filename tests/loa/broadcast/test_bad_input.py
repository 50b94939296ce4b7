"""Bad input to every broadcast endpoint gets a machine-readable code and a Vietnamese message — never a 500."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.units.models import Unit

VIETNAMESE = "ảạấầẩẫậắằẳẵặẻẽẹếềểễệỉịỏọốồổỗộớờởỡợủụứừửữựỷỹỵđĐ"

# (method, path, body, status, code)
CASES: list[tuple[str, str, Any, int, str]] = [
    ("post", "/programmes", {"unit": "06652", "title": "X", "items": []}, 422, "validation_error"),
    ("post", "/programmes", {"unit": "06652", "title": "X", "items": [{"kind": "tts", "text": "   "}]}, 400,
     "text_empty"),
    ("post", "/programmes", {"unit": "06652", "title": "X", "items": [{"kind": "relay", "relay_source_id": 999}]},
     400, "relay_not_allowed"),
    # what the user cannot see is "not found", as when reading it directly (loa.playable.resolve)
    ("post", "/programmes", {"unit": "06652", "title": "X", "items": [{"kind": "bulletin", "bulletin_id": 999}]},
     404, "bulletin_not_found"),
    ("post", "/programmes", {"unit": "06652", "title": "X", "items": [{"kind": "audio", "media_asset_id": 999}]},
     404, "media_not_found"),
    ("post", "/programmes", {"unit": "99999", "title": "X", "items": [{"kind": "tts", "text": "a"}]}, 404,
     "unit_not_found"),
    ("put", "/guardrails/06652", {"windows": [["25:00", "26:00"]]}, 400, "window_invalid"),
    ("put", "/guardrails/06652", {"windows": [["05:00"]]}, 400, "window_invalid"),
    ("put", "/guardrails/06652", {"allowed_weekdays": [9]}, 400, "weekdays_invalid"),
    ("put", "/guardrails/06652", {"max_volume": 300}, 400, "guardrail_invalid"),
    ("put", "/guardrails/06652", {"max_volume": "to"}, 422, "validation_error"),
    ("get", "/proof/06652?since=2026-12-02T00:00:00&until=2026-12-01T00:00:00", None, 422, "range_invalid"),
    ("get", "/proof/06652?since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z", None, 422, "range_invalid"),
    ("get", "/proof/06652?since=hôm-qua&until=2026-12-01T00:00:00Z", None, 422, "validation_error"),
    ("get", "/preview/06652?hours=nhiều", None, 422, "validation_error"),
    ("get", "/preview/06652?device=loa-000000000000", None, 404, "device_not_found"),
    ("get", "/schedules/999999", None, 404, "schedule_not_found"),
    ("post", "/schedules/999999/cancel", None, 404, "schedule_not_found"),
    ("get", "/emergencies/999999", None, 404, "emergency_not_found"),
    ("post", "/emergencies", {"unit": "06652", "text": "", "totp": "123456"}, 400, "emergency_content_required"),
    ("post", "/emergencies", {"unit": "06652", "text": "Khẩn", "repeat": 0, "totp": "1"}, 422, "validation_error"),
    ("post", "/emergencies", {"unit": "06652", "text": "Khẩn"}, 403, "totp_required"),
    ("post", "/relay-sources/22", {"name": "VOV1", "url": "ftp://vov.vn/x"}, 400, "relay_url_invalid"),
    ("post", "/relay-sources/06652", {"name": "VOV1", "url": "https://vov.vn/x"}, 400, "relay_unit_invalid"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"), CASES, ids=[f"{c[0]} {c[1]} {c[4]}" for c in CASES]
)
def test_bad_input(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str,
) -> None:
    client = client_for(make_user("so-vhttdl", Role.PROVINCE_ADMIN, tree["province"]))
    data = body if isinstance(body, str) else json.dumps(body) if body is not None else None
    kwargs: dict[str, Any] = {"content_type": "application/json"} if data is not None else {}
    r = (
        getattr(client, method)("/api/v1/broadcast" + path, data, **kwargs)
        if data is not None
        else getattr(client, method)("/api/v1/broadcast" + path)
    )
    assert r.status_code == status, r.content
    error = r.json()["error"]
    assert error["code"] == code
    assert any(ch in error["message"] for ch in VIETNAMESE), error["message"]
