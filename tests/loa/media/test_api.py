"""The media API: upload → 202 and a job → asset with duration and waveform → audio with Range; refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from loa.jobs.models import Job
from loa.media.models import MediaAsset
from loa.units.models import Unit

from .conftest import files_under


@pytest.fixture
def operator_a(tree: dict[str, Unit], make_user: Any, token_for: Any) -> Client:
    user = make_user("op-a", "commune_operator", tree["a"])
    return Client(HTTP_AUTHORIZATION=f"Bearer {token_for(user)}")


def upload(client: Client, path: Path, unit_code: str) -> Any:
    with path.open("rb") as fh:
        return client.post("/api/v1/media/audio", {"file": fh, "unit_code": unit_code})


def nothing_left(store: Path, settings: Any) -> None:
    assert files_under(store) == []
    assert files_under(Path(settings.FILE_UPLOAD_TEMP_DIR)) == []
    assert MediaAsset.objects.count() == 0


def test_upload_processes_in_a_job_and_the_asset_can_be_read_and_played(
    store: Path, sources: dict[str, Path], tree: dict[str, Unit], operator_a: Client, settings: Any
) -> None:
    response = upload(operator_a, sources["opus"], tree["a"].code)
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["state"] == "done" and job["progress"] == 100  # jobs run inline in tests
    asset = job["asset"]
    assert asset["unit_code"] == tree["a"].code and asset["original_name"] == "recording.webm"

    status = operator_a.get(f"/api/v1/media/jobs/{job['id']}")
    assert status.status_code == 200 and status.json()["asset"]["id"] == asset["id"]

    meta = operator_a.get(f"/api/v1/media/{asset['id']}").json()
    assert meta["duration_s"] > 2 and abs(meta["loudness_lufs"] + 16) <= 1
    assert len(meta["waveform"]) == 200 and meta["url"] == f"/media/files/{meta['sha256']}.mp3"

    audio = operator_a.get(f"/api/v1/media/{asset['id']}/audio")
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/mpeg"
    body = b"".join(audio.streaming_content)
    assert body[:3] in (b"ID3", b"\xff\xfb") or body[0] == 0xFF
    assert int(audio["Content-Length"]) == len(body) == meta["size_bytes"]
    part = operator_a.get(f"/api/v1/media/{asset['id']}/audio", HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and part["Content-Range"] == f"bytes 100-199/{len(body)}"
    assert b"".join(part.streaming_content) == body[100:200]

    listing = operator_a.get("/api/v1/media").json()
    assert listing["count"] == 1 and listing["items"][0]["id"] == asset["id"]
    # the uploaded temporary file is gone; the store holds the processed file and the original
    assert len(files_under(store)) == 2
    assert files_under(Path(settings.FILE_UPLOAD_TEMP_DIR)) == []


@pytest.mark.parametrize(
    ("name", "code"),
    [("png_as_mp3", "not_audio"), ("empty", "empty_file"), ("video_only", "no_audio_stream")],
)
def test_bad_upload_is_refused_at_once_with_nothing_left(
    name: str,
    code: str,
    store: Path,
    sources: dict[str, Path],
    tree: dict[str, Unit],
    operator_a: Client,
    settings: Any,
) -> None:
    response = upload(operator_a, sources[name], tree["a"].code)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert Job.objects.count() == 0
    nothing_left(store, settings)


def test_truncated_upload_fails_in_its_job_with_the_reason(
    store: Path, sources: dict[str, Path], tree: dict[str, Unit], operator_a: Client, settings: Any
) -> None:
    response = upload(operator_a, sources["truncated"], tree["a"].code)
    assert response.status_code == 202
    job = response.json()
    assert job["state"] == "failed" and job["asset"] is None
    assert job["error"]["code"] == "corrupt" and "không đầy đủ" in job["error"]["message"]
    nothing_left(store, settings)


@pytest.mark.parametrize("limit", [1000, 300_000])  # declared far over the cap / cut off while streaming
def test_upload_over_the_size_limit_is_cut_off(
    limit: int,
    store: Path,
    sources: dict[str, Path],
    tree: dict[str, Unit],
    operator_a: Client,
    settings: Any,
) -> None:
    settings.LOA_MEDIA_MAX_BYTES = limit
    assert sources["wav"].stat().st_size > limit + 300_000
    response = upload(operator_a, sources["wav"], tree["a"].code)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert "Tệp quá lớn" in response.json()["error"]["message"]
    assert Job.objects.count() == 0
    nothing_left(store, settings)


def test_over_the_duration_limit_is_refused(
    store: Path, sources: dict[str, Path], tree: dict[str, Unit], operator_a: Client, settings: Any
) -> None:
    settings.LOA_MEDIA_MAX_DURATION_S = 3
    response = upload(operator_a, sources["mp3"], tree["a"].code)
    assert response.status_code == 400 and response.json()["error"]["code"] == "too_long"
    nothing_left(store, settings)


def test_other_commune_cannot_upload_or_read(
    store: Path,
    sources: dict[str, Path],
    tree: dict[str, Unit],
    operator_a: Client,
    make_user: Any,
    token_for: Any,
    settings: Any,
) -> None:
    assert upload(operator_a, sources["ogg"], tree["b"].code).status_code == 404
    nothing_left(store, settings)
    job = upload(operator_a, sources["ogg"], tree["a"].code).json()
    b_user = make_user("op-b", "commune_operator", tree["b"])
    other = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(b_user)}")
    asset_id = job["asset"]["id"]
    for url in (
        f"/api/v1/media/{asset_id}",
        f"/api/v1/media/{asset_id}/audio",
        f"/api/v1/media/jobs/{job['id']}",
    ):
        assert other.get(url).status_code in (403, 404), url
    assert other.get("/api/v1/media").json()["count"] == 0
    viewer = make_user("viewer-a", "viewer", tree["a"])
    read_only = Client(HTTP_AUTHORIZATION=f"Bearer {token_for(viewer)}")
    assert read_only.get(f"/api/v1/media/{asset_id}").status_code == 200
    assert upload(read_only, sources["mp3"], tree["a"].code).status_code == 403


def test_missing_unit_code_is_a_clear_error(
    store: Path, sources: dict[str, Path], operator_a: Client
) -> None:
    with sources["mp3"].open("rb") as fh:
        response = operator_a.post("/api/v1/media/audio", {"file": fh})
    assert response.status_code == 422 and response.json()["error"]["code"] == "unit_code_required"


def test_upload_is_in_the_openapi_schema(operator_a: Client) -> None:
    schema = operator_a.get("/api/v1/openapi.json").json()
    body = schema["paths"]["/api/v1/media/audio"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert set(body["schema"]["required"]) == {"file", "unit_code"}
