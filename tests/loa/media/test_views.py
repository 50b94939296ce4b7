"""Console pages of the media library: upload (htmx), progress fragment, asset page, content-addressed file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from loa.jobs.models import Job
from loa.media.models import MediaAsset
from loa.media.views import waveform_svg_points
from loa.units.models import Unit

from .conftest import files_under


def test_library_page_offers_upload_and_recording(
    tree: dict[str, Unit], make_user: Any, client_for: Any
) -> None:
    client = client_for(make_user("op-a", "commune_operator", tree["a"]))
    page = client.get("/media/").content.decode()
    assert 'name="file"' in page and 'hx-post="/media/upload/"' in page
    assert "data-recorder" in page and "media/recorder.js" in page
    assert "Thư viện âm thanh" in page


def test_upload_through_the_console_shows_the_asset(
    store: Path, sources: dict[str, Path], tree: dict[str, Unit], make_user: Any, client_for: Any
) -> None:
    client = client_for(make_user("op-a", "commune_operator", tree["a"]))
    with sources["opus"].open("rb") as fh:
        response = client.post(
            "/media/upload/", {"file": fh, "unit_code": tree["a"].code}, HTTP_HX_REQUEST="true"
        )
    assert response.status_code == 200
    fragment = response.content.decode()
    asset = MediaAsset.objects.get()
    assert 'data-job-state="done"' in fragment and f"/media/files/{asset.sha256}.mp3" in fragment

    # (a running job's fragment, polling itself with the worker's real progress: tests/loa/jobs/test_worker.py)
    job = Job.objects.get()
    done = client.get(f"/media/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-job-state="done"' in done and "every 1s" not in done

    page = client.get(f"/media/{asset.pk}/").content.decode()
    assert "<audio" in page and f"/media/files/{asset.sha256}.mp3" in page
    assert re.search(r'<polygon points="[\d., ]+"', page)
    assert f'data-duration="{asset.duration_s:.3f}"' in page

    played = client.get(f"/media/files/{asset.sha256}.mp3", HTTP_RANGE="bytes=0-9")
    assert played.status_code == 206 and played["Content-Type"] == "audio/mpeg"
    assert played["Content-Range"].startswith("bytes 0-9/")


def test_console_refusal_shows_the_message_and_keeps_nothing(
    store: Path,
    sources: dict[str, Path],
    tree: dict[str, Unit],
    make_user: Any,
    client_for: Any,
    settings: Any,
) -> None:
    client = client_for(make_user("op-a", "commune_operator", tree["a"]))
    with sources["png_as_mp3"].open("rb") as fh:
        response = client.post(
            "/media/upload/", {"file": fh, "unit_code": tree["a"].code}, HTTP_HX_REQUEST="true"
        )
    text = response.content.decode()
    assert 'role="alert"' in text and "ảnh PNG" in text and 'data-code="not_audio"' in text
    assert MediaAsset.objects.count() == 0 and Job.objects.count() == 0
    assert files_under(store) == [] and files_under(Path(settings.FILE_UPLOAD_TEMP_DIR)) == []


def test_content_address_serves_only_library_content(store: Path, db: Any, client: Any) -> None:
    assert client.get("/media/files/" + "a" * 64 + ".mp3").status_code == 404
    assert client.get("/media/files/../../etc/passwd.mp3").status_code == 404
    assert client.get("/media/files/" + "Z" * 64 + ".mp3").status_code == 404


def test_waveform_polygon_is_symmetric_and_bounded() -> None:
    points = waveform_svg_points([0.0, 0.5, 1.0], width=200, height=60)
    pairs = [tuple(map(float, p.split(","))) for p in points.split()]
    assert len(pairs) == 6
    assert pairs[2] == (200.0, 0.0) and pairs[3] == (200.0, 60.0)
    assert all(0 <= y <= 60 for _x, y in pairs)
