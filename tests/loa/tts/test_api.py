"""The TTS API: /api/v1/tts/normalize, /preview, /clips — permissions, limits, errors, the audio itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.media.models import MediaAsset
from loa.tts.models import SpeechClip
from loa.units.models import Unit
from tests.loa.tts.helpers import measure_mp3  # type: ignore[import-not-found]


def _post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/tts{path}", json.dumps(body), content_type="application/json")


@pytest.fixture
def operator(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> Client:
    return client_for(make_user("van-hanh-a", Role.COMMUNE_OPERATOR, tree["a"]))


def test_normalize_returns_the_read_as_text(operator: Client) -> None:
    response = _post(operator, "/normalize", {"text": "Họp lúc 14h30 ngày 22/5 tại UBND xã."})
    assert response.status_code == 200
    data = response.json()
    assert data["read_as"] == (
        "Họp lúc mười bốn giờ ba mươi phút ngày hai mươi hai tháng năm tại ủy ban nhân dân xã."
    )
    # the spans are the reading, cut where it says something the text does not write
    assert "".join(s["text"] for s in data["spans"]) == data["read_as"]
    assert [s["text"] for s in data["spans"] if s["changed"]] == [
        "mười bốn giờ ba mươi phút", "hai mươi hai tháng năm", "ủy ban nhân dân",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [({"text": ""}, 400, "text_empty"), ({"text": "x" * 5001}, 400, "text_too_long"), ({}, 422, "validation_error"),
     ({"text": 5}, 422, "validation_error")],
)  # fmt: skip
def test_normalize_refuses_bad_input_clearly(
    operator: Client, body: dict[str, Any], status: int, code: str
) -> None:
    response = _post(operator, "/normalize", body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


def test_roles_without_tts_are_refused(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    viewer = client_for(make_user("xem", Role.VIEWER, tree["a"]))
    assert _post(viewer, "/normalize", {"text": "a"}).status_code == 403
    response = _post(viewer, "/preview", {"unit": tree["a"].code, "text": "a"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert _post(Client(), "/normalize", {"text": "a"}).status_code == 401


def test_preview_synthesizes_processes_and_serves_the_audio(
    operator: Client, tree: dict[str, Unit], tmp_path: Path
) -> None:
    before = AuditEntry.objects.count()
    response = _post(
        operator, "/preview", {"unit": tree["zone_a"].code, "text": "Thông báo mất điện ngày 12/6.", "voice": "south",
                               "speed": 160},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    clip = response.json()
    assert clip["duration_s"] > 1 and clip["voice"] == "south" and clip["speed"] == 160
    assert clip["read_as"] == "Thông báo mất điện ngày mười hai tháng sáu."
    assert clip["unit"] == tree["zone_a"].code and len(clip["sha256"]) == 64
    assert AuditEntry.objects.count() == before + 2  # media.ingested, tts.synthesized
    assert MediaAsset.objects.get(pk=clip["media_asset_id"]).unit == tree["zone_a"]
    audio = operator.get(clip["url"])
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/mpeg"
    out = tmp_path / "preview.mp3"
    out.write_bytes(b"".join(audio.streaming_content))  # type: ignore[attr-defined]
    channels, duration, lufs = measure_mp3(out)
    assert channels == 1 and abs(duration - clip["duration_s"]) < 0.2 and abs(lufs + 16) <= 1.0
    assert operator.get(f"/api/v1/tts/clips/{clip['id']}").json()["id"] == clip["id"]
    # served like the library's audio: by byte range (an <audio> player seeks), streamed asynchronously under ASGI
    part = operator.get(clip["url"], HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206 and part["Accept-Ranges"] == "bytes" and part["Content-Length"] == "100"


def test_preview_with_the_corrected_read_as(operator: Client, tree: dict[str, Unit]) -> None:
    response = _post(
        operator, "/preview", {"unit": tree["a"].code, "text": "UBND", "read_as": "Ủy ban phường"}
    )
    assert response.status_code == 201 and response.json()["read_as"] == "Ủy ban phường"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [({"text": ""}, 400, "text_empty"), ({"text": "a", "voice": "hue"}, 422, "validation_error"),
     ({"text": "a", "speed": 20}, 422, "validation_error"), ({"text": "x" * 5001}, 400, "text_too_long")],
)  # fmt: skip
def test_preview_refuses_bad_input_and_changes_nothing(
    operator: Client, tree: dict[str, Unit], body: dict[str, Any], status: int, code: str
) -> None:
    before = AuditEntry.objects.count()
    response = _post(operator, "/preview", {"unit": tree["a"].code} | body)
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert AuditEntry.objects.count() == before and SpeechClip.objects.count() == 0


def test_another_communes_preview_and_clips_are_not_found(
    operator: Client,
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    response = _post(operator, "/preview", {"unit": tree["b"].code, "text": "Thử"})
    assert response.status_code == 404
    b_client = client_for(make_user("van-hanh-b", Role.COMMUNE_OPERATOR, tree["b"]))
    b_clip = _post(
        b_client, "/preview", {"unit": tree["b"].code, "text": "Thông báo của phường Cao Xanh"}
    ).json()
    assert b_client.get(b_clip["url"]).status_code == 200
    for path in (b_clip["url"], f"/api/v1/tts/clips/{b_clip['id']}"):
        denied = operator.get(path)
        assert denied.status_code == 404 and "Cao Xanh" not in denied.content.decode()
    assert operator.get("/api/v1/tts/clips/999999").status_code == 404


def test_bearer_token_scopes_apply(tree: dict[str, Unit], make_user: Callable[..., User],
                                   token_for: Callable[..., str]) -> None:  # fmt: skip
    user = make_user("tok", Role.EDITOR, tree["a"])
    allowed = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(user, ['tts.use'])}")
    assert _post(allowed, "/normalize", {"text": "quý IV"}).json()["read_as"] == "quý bốn"
    narrow = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(user, ['unit.view'])}")
    assert _post(narrow, "/normalize", {"text": "quý IV"}).status_code == 403
