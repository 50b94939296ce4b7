"""do_ingest_file: an asset per owner and content, idempotent, audited; refusals leave no row and no file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loa.audit.models import AuditEntry
from loa.media.audio import MediaRejected
from loa.media.models import MediaAsset
from loa.media.services import asset_file_path, do_ingest_file
from loa.units.models import Unit

from .conftest import files_under


def test_ingest_creates_an_audited_asset(
    store: Path, sources: dict[str, Path], tree: dict[str, Unit], make_user: Any
) -> None:
    user = make_user("op-a", "commune_operator", tree["a"])
    asset = do_ingest_file(sources["mp3"], unit=tree["a"], actor=user, original_name="thong-bao.mp3")
    assert asset.unit == tree["a"] and asset.created_by == user
    assert asset.original_name == "thong-bao.mp3"
    assert asset_file_path(asset).is_file()
    assert asset_file_path(asset).is_relative_to(store)
    assert abs(asset.loudness_lufs - (-16.0)) <= 1.0 and asset.duration_s > 2
    assert len(asset.waveform) == 200
    entry = AuditEntry.objects.get(action="media.ingested")
    assert entry.object_id == str(asset.pk) and entry.unit_code == tree["a"].code
    assert entry.data["sha256"] == asset.sha256


def test_the_same_content_twice_gives_the_same_asset(
    store: Path, sources: dict[str, Path], tree: dict[str, Unit]
) -> None:
    first = do_ingest_file(sources["ogg"], unit=tree["a"], actor=None)
    second = do_ingest_file(sources["ogg"], unit=tree["a"], actor=None, original_name="again.ogg")
    assert first.pk == second.pk
    assert MediaAsset.objects.count() == 1
    assert AuditEntry.objects.filter(action="media.ingested").count() == 1
    # another commune gets its own asset over the same stored file
    other = do_ingest_file(sources["ogg"], unit=tree["b"], actor=None)
    assert other.pk != first.pk and other.sha256 == first.sha256
    assert len(files_under(store)) == 2


def test_system_asset_without_a_unit(store: Path, sources: dict[str, Path], db: Any) -> None:
    asset = do_ingest_file(sources["wav"], unit=None, actor=None)
    again = do_ingest_file(sources["wav"], unit=None, actor=None)
    assert asset.unit is None and asset.pk == again.pk


@pytest.mark.parametrize("name", ["png_as_mp3", "empty", "truncated"])
def test_refused_input_leaves_no_row_no_audit_and_no_file(
    name: str, store: Path, sources: dict[str, Path], tree: dict[str, Unit]
) -> None:
    with pytest.raises(MediaRejected):
        do_ingest_file(sources[name], unit=tree["a"], actor=None)
    assert MediaAsset.objects.count() == 0
    assert not AuditEntry.objects.filter(action="media.ingested").exists()
    assert files_under(store) == []
