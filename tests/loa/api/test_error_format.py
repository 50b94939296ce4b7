"""Bad input anywhere under /api/ gets the one error format (code + Vietnamese message) and a 4xx, never a 500
nor an HTML page or ninja's English text. Each case here was found by fuzzing the API (test_fuzz.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.units.models import Unit

VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.I)


def _error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    if code is not None:
        assert error["code"] == code, error
    assert VIETNAMESE.search(error["message"]), f"not Vietnamese: {error['message']!r}"
    return error


def test_anonymous_post_is_asked_to_sign_in_not_refused_in_english(db: Any) -> None:
    browser = Client(enforce_csrf_checks=True)  # like a real client: the CSRF check runs
    response = browser.post("/api/v1/tts/normalize", {"text": "a"}, content_type="application/json")
    _error(response, 401, "not_authenticated")
    bad_token = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION="Bearer loa_sai")
    _error(bad_token.post("/api/v1/units/06652/zones", {}, content_type="application/json"), 401)


def test_session_post_without_csrf_token_is_refused_in_vietnamese(
    tree: dict[str, Unit], make_user: Callable[..., User]
) -> None:
    user = make_user("op", Role.COMMUNE_OPERATOR, tree["a"])
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    response = browser.post(
        "/api/v1/units/06652/zones", {"name": "Thôn 9", "kind": "thon"}, content_type="application/json"
    )
    _error(response, 403, "csrf_failed")
    assert not Unit.objects.filter(name="Thôn 9").exists()


def test_unknown_address_and_wrong_method_answer_json(db: Any) -> None:
    _error(Client().get("/api/v1/khong-co"), 404, "not_found")
    response = Client().put("/api/v1/units")
    _error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ("{khong phai json", "application/json", 400, "body_invalid"),
        (b"\xff\xfe\x00", "application/json", 400, "body_invalid"),
        ("[]", "application/json", 422, "validation_error"),
        ("null", "application/json", 422, "validation_error"),
        ('{"code": 5}', "application/json", 422, "validation_error"),
        ("x", "multipart/form-data", 400, None),  # no boundary: Django's own 400, reformatted
    ],
)
def test_unreadable_bodies(db: Any, body: Any, content_type: str, status: int, code: str | None) -> None:
    response = Client().post("/api/v1/fleet/enrol", body, content_type=content_type)
    error = _error(response, status, code)
    assert "Input should" not in str(error), "pydantic's English leaked"


def test_numbers_past_64_bits_are_bad_input(
    tree: dict[str, Unit], make_user: Callable[..., User], token_for: Callable[..., str]
) -> None:
    admin = make_user("tinh", Role.PROVINCE_ADMIN, tree["province"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(admin)}")
    huge = 2**70
    for url in (f"/api/v1/bulletins/{huge}", f"/api/v1/bulletins/{huge}/versions"):
        assert 400 <= api.get(url).status_code < 500, url
    response = api.post(f"/api/v1/bulletins/{huge}/comments", {"text": "x"}, content_type="application/json")
    assert 400 <= response.status_code < 500
    _error(response, response.status_code)
    for url in ("/api/v1/media", "/api/v1/units", "/api/v1/fleet/devices", "/api/v1/bulletins"):
        response = api.get(url, {"offset": huge})
        assert response.status_code == 200 and response.json()["items"] == [], url


def test_a_range_past_the_end_of_a_file_is_a_json_416(
    tree: dict[str, Unit], make_user: Callable[..., User], token_for: Callable[..., str]
) -> None:
    from loa.media.models import MediaAsset
    from loa.media.services import asset_file_path

    operator = make_user("op", Role.COMMUNE_OPERATOR, tree["a"])
    asset = MediaAsset.objects.create(
        unit=tree["a"], sha256="a" * 64, original_sha256="b" * 64, duration_s=1.0, created_by=operator
    )
    path = asset_file_path(asset)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xfb" + bytes(98))
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(operator)}")
    try:
        response = api.get(f"/api/v1/media/{asset.pk}/audio", HTTP_RANGE="bytes=1000-2000")
    finally:
        path.unlink()  # the store outlives the test database
    _error(response, 416, "range_not_satisfiable")
    assert response["Content-Range"] == "bytes */100"
