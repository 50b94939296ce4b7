"""Out of space is a state, not a corrupt file (issue 21, item 6), on a real full file system: a 2 MB tmpfs as the
media store (mounted for the test; skipped with the reason when this process may not mount).

The operator is told the server is out of storage (storage_full, 507), not that their file is broken; the CLI prints
the JSON error object; the administrator gets one ERROR line and one audit entry; nothing half-written stays."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from loa.audit.models import AuditEntry
from loa.media import services, storage
from loa.media.models import MediaAsset
from loa.units.models import Unit

from .conftest import files_under

SIZE = 2 * 1024 * 1024


@pytest.fixture
def full_disk(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """MEDIA_ROOT on a 2 MB tmpfs, unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("cần quyền root để gắn tmpfs 2 MB (mount -t tmpfs) mô phỏng đĩa đầy")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"không gắn được tmpfs (mount bị từ chối trong môi trường này): {done.stderr.strip()}")
    settings.MEDIA_ROOT = mount / "media"
    settings.LOA_MEDIA_MIN_FREE_BYTES = 0
    storage.reset_alarms()
    try:
        yield mount
    finally:
        storage.reset_alarms()
        subprocess.run(["umount", str(mount)], check=True)


def fill(mount: Path, leave: int) -> None:
    """Fill the tmpfs until ``leave`` bytes are free."""
    free = storage.free_bytes(mount)
    (mount / "ballast").write_bytes(b"\0" * max(0, free - leave))


def test_an_upload_that_fills_the_disk_is_storage_full_and_leaves_nothing(
    full_disk: Path, db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A real ENOSPC while the upload streams in (the size check passed: nothing was known of its size)."""
    chunks = [b"\1" * 65536] * 48  # 3 MB into a 2 MB file system
    with (
        caplog.at_level(logging.ERROR, logger="loa.media.storage"),
        pytest.raises(storage.StorageFull) as exc,
    ):
        services.save_upload(iter(chunks), "bản tin.mp3")
    assert exc.value.code == "storage_full" and exc.value.status == 507
    assert "hết dung lượng lưu trữ" in exc.value.message and "không bị lỗi" in exc.value.message
    assert files_under(full_disk / "media") == []  # the partial upload is gone
    assert [r.getMessage() for r in caplog.records if "hết dung lượng" in r.getMessage()]
    assert AuditEntry.objects.filter(action="media.storage_full").count() == 1


def test_cli_ingest_on_a_full_store_prints_the_json_error_once_alarmed(
    full_disk: Path, sources: dict[str, Path], db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    (full_disk / "media" / "audio").mkdir(parents=True)
    fill(full_disk, leave=sources["wav"].stat().st_size)  # less than the original's copy and its MP3
    for _attempt in range(2):
        out = io.StringIO()
        with caplog.at_level(logging.ERROR, logger="loa.media.storage"), pytest.raises(CommandError) as info:
            call_command("media", "ingest", str(sources["wav"]), "--json", stdout=out)
        assert info.value.returncode == 2
        error = json.loads(out.getvalue())["error"]
        assert error["code"] == "storage_full"
        assert error["message"].startswith("Máy chủ hết dung lượng lưu trữ")
        assert "bị hỏng" not in error["message"]
    assert MediaAsset.objects.count() == 0
    assert files_under(full_disk / "media") == []
    # the administrator is told once, not on every refusal
    assert AuditEntry.objects.filter(action="media.storage_full").count() == 1
    assert len([r for r in caplog.records if "hết dung lượng" in r.getMessage()]) == 1


def test_api_upload_on_a_full_store_answers_507(
    full_disk: Path, sources: dict[str, Path], tree: dict[str, Unit], settings: Any, make_user: Any,
    token_for: Any, tmp_path: Path,
) -> None:  # fmt: skip
    operator = Client(
        HTTP_AUTHORIZATION=f"Bearer {token_for(make_user('op-a', 'commune_operator', tree['a']))}"
    )
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.LOA_MEDIA_MIN_FREE_BYTES = SIZE + 1  # more than the 2 MB file system can ever have free
    with sources["mp3"].open("rb") as fh:
        response = operator.post("/api/v1/media/audio", {"file": fh, "unit_code": tree["a"].code})
    assert response.status_code == 507, response.content
    assert response.json()["error"]["code"] == "storage_full"
    message = response.json()["error"]["message"]
    assert re.search(r"còn trống \d+,\d MB, cần giữ ít nhất 2,0 MB\)", message), message  # 2,0: Vietnamese
    assert MediaAsset.objects.count() == 0


def test_speech_on_a_full_store_is_storage_full_not_a_tts_error(
    settings: Any, tmp_path: Path, tree: dict[str, Unit], make_user: Any
) -> None:
    """Text to speech goes through the same check (forced here through the setting): 507, nothing stored."""
    from loa.tts.models import SpeechClip
    from loa.tts.services import do_synthesize

    settings.MEDIA_ROOT = tmp_path / "media"
    # far more than is free: other processes free space while the test runs (an xdist worker deleting its
    # files made "free + 1 byte" enough again, and the check rightly let the speech through)
    settings.LOA_MEDIA_MIN_FREE_BYTES = storage.free_bytes(tmp_path) + 2**40
    storage.reset_alarms()
    editor = make_user("editor-a", "commune_operator", tree["a"])
    with pytest.raises(storage.StorageFull) as exc:
        do_synthesize("Thông báo lịch tiêm phòng.", "central", 150, actor=editor, unit=tree["a"])
    assert exc.value.status == 507
    assert SpeechClip.objects.count() == 0 and MediaAsset.objects.count() == 0
    assert files_under(tmp_path / "media") == []
    storage.reset_alarms()


def test_the_dashboard_says_the_store_is_full(
    settings: Any, tmp_path: Path, tree: dict[str, Unit], make_user: Any, client_for: Any
) -> None:
    """Everyone opening the dashboard sees why uploads are refused while the store is below the minimum."""
    settings.MEDIA_ROOT = tmp_path / "media"
    client = client_for(make_user("op-dash", "commune_operator", tree["a"]))
    settings.LOA_MEDIA_MIN_FREE_BYTES = 0
    assert b"data-storage-full" not in client.get("/").content
    settings.LOA_MEDIA_MIN_FREE_BYTES = storage.free_bytes(tmp_path) + 2**40  # whatever others free meanwhile
    page = client.get("/").content.decode()
    assert "data-storage-full" in page and "Máy chủ hết dung lượng lưu trữ" in page
    # the audio library says it above the upload form, before anyone picks a file
    library = client.get("/media/").content.decode()
    assert "data-storage-full" in library and library.index("data-storage-full") < library.index(
        "upload-form"
    )
    settings.LOA_MEDIA_MIN_FREE_BYTES = 0
    assert "data-storage-full" not in client.get("/media/").content.decode()
