"""Audio and attachments of a bulletin from the console: upload (the media job) or pick from the unit's library,
listen with the duration shown; images and documents checked by content; nobody else's files."""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from loa.audit.models import AuditEntry
from loa.content.models import Attachment, Bulletin
from loa.jobs.models import Job
from loa.media.audio import ffmpeg_path
from loa.media.models import MediaAsset
from loa.media.services import do_ingest_file
from tests.loa.content.helpers import People, notice  # type: ignore[import-not-found]

pytestmark = pytest.mark.django_db

PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture(scope="module")
def tone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three seconds of a real, modulated tone (WAV)."""
    out = tmp_path_factory.mktemp("bulletin-audio") / "thong-bao.wav"
    subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i",
         "aevalsrc=0.2*sin(2*PI*330*t)*(0.6+0.4*sin(2*PI*3*t)):s=44100:d=3", "-c:a", "pcm_s16le", str(out)],
        check=True, timeout=60,
    )  # fmt: skip
    return out


@pytest.fixture
def store(settings: Any, tmp_path: Path) -> Iterator[Path]:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "upload-tmp")
    (tmp_path / "upload-tmp").mkdir()
    yield tmp_path / "media"


def _draft(people: People, who: str = "op_a", origin: str = "a") -> Bulletin:
    tree = people.tree
    status, data = people[who].post("", notice(tree[origin].code, [tree[origin].code]))
    assert status == 201, data
    return Bulletin.objects.get(pk=data["id"])


def _client(people: People, who: str) -> Client:
    return people[who].client


def test_uploaded_audio_is_used_for_the_bulletin_at_once(store: Path, tone: Path, people: People) -> None:
    b = _draft(people)
    client = _client(people, "op_a")
    page = client.get(f"/bulletins/{b.pk}/").content.decode()
    assert f'hx-post="/bulletins/{b.pk}/audio/upload/"' in page and "data-recorder" in page
    assert "media/recorder.js" in page and "Bản tin chưa có âm thanh" in page
    with tone.open("rb") as fh:
        r = client.post(f"/bulletins/{b.pk}/audio/upload/", {"file": fh}, HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    fragment = r.content.decode()
    job = Job.objects.get(kind="media.ingest")  # the media library's job (inline in tests)
    asset = MediaAsset.objects.get(unit=people.tree["a"])
    assert 'data-job-state="done"' in fragment and f"/media/files/{asset.sha256}.mp3" in fragment
    # used for the bulletin at once (no second click); the page reloads to show it in place
    assert "và dùng làm âm thanh của bản tin" in fragment and r["HX-Refresh"] == "true"
    b.refresh_from_db()
    assert b.audio_asset_id == asset.pk and b.duration_s == 3
    # (while the job runs, the fragment polls the bulletin's job URL with the worker's own progress:
    # tests/loa/jobs/test_worker.py, with the worker in its own process)
    done = client.get(f"/bulletins/{b.pk}/audio/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-job-state="done"' in done and 'hx-trigger="every 1s"' not in done
    entry = AuditEntry.objects.filter(action="bulletin.updated", object_id=str(b.pk)).latest("pk")
    assert "audio_asset_id" in entry.data["changed"]
    page = client.get(f"/bulletins/{b.pk}/").content.decode()
    assert 'id="bulletin-audio"' in page and f'src="/api/v1/media/{asset.pk}/audio"' in page
    assert "3 giây" in page
    # removing it is one button, audited too
    assert client.post(f"/bulletins/{b.pk}/audio/set/", {"asset_id": "", "remove": "1"}).status_code == 302
    b.refresh_from_db()
    assert b.audio_asset_id is None and b.duration_s is None


def test_upload_refusals_are_vietnamese_and_leave_nothing(
    store: Path, people: People, tmp_path: Path
) -> None:
    b = _draft(people)
    client = _client(people, "op_a")
    fake = tmp_path / "khong-phai-am-thanh.mp3"
    fake.write_bytes(PNG_1x1)
    with fake.open("rb") as fh:
        r = client.post(f"/bulletins/{b.pk}/audio/upload/", {"file": fh})
    assert r.status_code == 400
    assert "ảnh PNG" in r.content.decode()
    assert not MediaAsset.objects.exists() and not Job.objects.exists()
    # a viewer may not upload for the bulletin
    with fake.open("rb") as fh:
        assert (
            _client(people, "viewer_a").post(f"/bulletins/{b.pk}/audio/upload/", {"file": fh}).status_code
            == 403
        )
    # another commune does not even see the bulletin
    with fake.open("rb") as fh:
        assert (
            _client(people, "op_b").post(f"/bulletins/{b.pk}/audio/upload/", {"file": fh}).status_code == 404
        )


def test_pick_from_the_units_library_only(store: Path, tone: Path, people: People) -> None:
    tree = people.tree
    b = _draft(people)
    own = do_ingest_file(tone, unit=tree["a"], actor=people["op_a"].user, original_name="loa-xa-a.wav")
    other = do_ingest_file(tone, unit=tree["b"], actor=people["op_b"].user, original_name="bi-mat-xa-b.wav")
    client = _client(people, "op_a")
    page = client.get(f"/bulletins/{b.pk}/").content.decode()
    assert "loa-xa-a.wav" in page and "bi-mat-xa-b.wav" not in page and "data-picker-filter" in page
    # commune B's asset is refused as "not found", in the console and in the API
    r = client.post(f"/bulletins/{b.pk}/audio/set/", {"asset_id": other.pk})
    assert r.status_code == 400 and "Không tìm thấy tệp" in r.content.decode()
    status, data = people["op_a"].patch(f"/{b.pk}", {"audio_asset_id": other.pk})
    assert status == 400 and data["error"]["code"] == "asset_not_found"
    status, data = people["op_a"].post(f"/{b.pk}/attachments", {"kind": "audio", "asset_id": other.pk})
    assert status == 400 and data["error"]["code"] == "asset_not_found"
    b.refresh_from_db()
    assert b.audio_asset_id is None
    # nothing chosen, or nonsense
    assert client.post(f"/bulletins/{b.pk}/audio/set/", {"asset_id": ""}).status_code == 400
    assert client.post(f"/bulletins/{b.pk}/audio/set/", {"asset_id": "abc"}).status_code == 400
    assert client.post(f"/bulletins/{b.pk}/audio/set/", {"asset_id": own.pk}).status_code == 302
    b.refresh_from_db()
    assert b.audio_asset_id == own.pk and b.duration_s == 3


def _docx(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return path


def test_image_and_document_attachments(store: Path, people: People, tmp_path: Path) -> None:
    tree = people.tree
    b = _draft(people, "editor_p", "province")
    Bulletin.objects.filter(pk=b.pk).update()
    status, _ = people["editor_p"].patch(f"/{b.pk}", {"receivers": [tree["a"].code]})
    assert status == 200
    client = _client(people, "editor_p")
    img = tmp_path / "ban-do-vung-ngap.png"
    img.write_bytes(PNG_1x1)
    with img.open("rb") as fh:
        assert (
            client.post(f"/bulletins/{b.pk}/attachments/", {"file": fh, "title": "Bản đồ"}).status_code == 302
        )
    doc = _docx(tmp_path / "cong-van.docx")
    with doc.open("rb") as fh:
        assert client.post(f"/bulletins/{b.pk}/attachments/", {"file": fh}).status_code == 302
    pdf = tmp_path / "ke-hoach.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    with pdf.open("rb") as fh:
        assert client.post(f"/bulletins/{b.pk}/attachments/", {"file": fh}).status_code == 302
    atts = {a.asset.original_ext: a for a in Attachment.objects.filter(bulletin=b).select_related("asset")}
    assert set(atts) == {"png", "docx", "pdf"}
    assert atts["png"].kind == "image" and atts["docx"].kind == "document" and atts["png"].title == "Bản đồ"
    assert AuditEntry.objects.filter(action="bulletin.attached", object_id=str(b.pk)).count() == 3
    # served to the people who may see the bulletin: images inline, documents as downloads, never sniffed
    r = client.get(f"/bulletins/{b.pk}/attachments/{atts['png'].pk}/")
    assert (
        r.status_code == 200 and r["Content-Type"] == "image/png" and r["X-Content-Type-Options"] == "nosniff"
    )
    assert b"".join(r.streaming_content) == PNG_1x1
    r = client.get(f"/bulletins/{b.pk}/attachments/{atts['docx'].pk}/")
    assert r["Content-Disposition"].startswith("attachment")
    page = client.get(f"/bulletins/{b.pk}/").content.decode()
    assert f'<img src="/bulletins/{b.pk}/attachments/{atts["png"].pk}/"' in page and "cong-van.docx" in page
    # a commune does not see the province's draft, nor its files
    assert _client(people, "op_a").get(f"/bulletins/{b.pk}/attachments/{atts['png'].pk}/").status_code == 404
    # an attachment id of another bulletin is not reachable through this one
    b2 = _draft(people, "editor_p", "province")
    assert client.get(f"/bulletins/{b2.pk}/attachments/{atts['png'].pk}/").status_code == 404
    # detach: audited, the file stays in the library
    assert client.post(f"/bulletins/{b.pk}/attachments/{atts['pdf'].pk}/remove/").status_code == 302
    assert not Attachment.objects.filter(pk=atts["pdf"].pk).exists()
    assert MediaAsset.objects.filter(pk=atts["pdf"].asset_id).exists()
    assert AuditEntry.objects.filter(action="bulletin.detached", object_id=str(b.pk)).count() == 1


@pytest.mark.parametrize(
    ("name", "data", "code", "words"),
    [
        ("anh.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', 400, "SVG"),
        ("setup.exe", b"MZ\x90\x00" + b"\x00" * 100, 400, "chương trình"),
        ("bai-hat.png", b"ID3\x04\x00" + b"\x00" * 100, 400, "âm thanh"),
        ("rong.pdf", b"", 400, "rỗng"),
        ("nen.zip", b"PK\x03\x04not really a zip", 400, "Tệp nén"),
        ("lon.pdf", b"%PDF-1.4\n" + b"0" * 2048, 413, "quá lớn"),
    ],
)
def test_bad_attachments_are_refused_and_leave_nothing(
    store: Path, people: People, tmp_path: Path, settings: Any, name: str, data: bytes, code: int, words: str
) -> None:
    settings.LOA_ATTACHMENT_MAX_BYTES = 1024
    b = _draft(people)
    path = tmp_path / name
    path.write_bytes(data)
    with path.open("rb") as fh:
        r = _client(people, "op_a").post(f"/bulletins/{b.pk}/attachments/", {"file": fh})
    assert r.status_code == code
    assert words in r.content.decode()
    assert not Attachment.objects.exists() and not MediaAsset.objects.exists()
    files = [p for p in (store / "files").rglob("*") if p.is_file()] if (store / "files").exists() else []
    assert files == []


def test_the_api_lists_attachments(store: Path, people: People, tmp_path: Path) -> None:
    b = _draft(people)
    img = tmp_path / "anh.png"
    img.write_bytes(PNG_1x1)
    with img.open("rb") as fh:
        assert (
            _client(people, "op_a").post(f"/bulletins/{b.pk}/attachments/", {"file": fh}).status_code == 302
        )
    status, data = people["op_a"].get(f"/{b.pk}")
    assert status == 200
    [att] = data["attachments"]
    assert att["kind"] == "image" and att["title"] == "anh.png"
    assert _client(people, "op_a").get(att["url"]).status_code == 200
