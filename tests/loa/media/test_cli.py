"""``loa media ingest``: JSON out on success, the Vietnamese message and a non-zero exit on bad input."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from loa.media.models import MediaAsset
from loa.units.models import Unit

from .conftest import files_under, measure_lufs


def test_ingest_json(store: Path, sources: dict[str, Path], tree: dict[str, Unit]) -> None:
    out = io.StringIO()
    call_command("media", "ingest", str(sources["m4a"]), "--unit", tree["a"].code, "--json", stdout=out)
    data = json.loads(out.getvalue())
    asset = MediaAsset.objects.get()
    assert data["id"] == asset.pk and data["sha256"] == asset.sha256 and data["unit"] == tree["a"].code
    assert Path(data["path"]).is_file() and Path(data["path"]).is_relative_to(store)
    assert abs(data["loudness_lufs"] + 16) <= 1.0 and data["duration_s"] > 2
    lufs, _ch, _rate = measure_lufs(Path(data["path"]))
    assert abs(lufs - data["loudness_lufs"]) <= 1.0


def test_ingest_refusal(store: Path, sources: dict[str, Path], db: Any) -> None:
    out = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("media", "ingest", str(sources["truncated"]), "--json", stdout=out)
    assert "bị hỏng hoặc không đầy đủ" in str(info.value) and info.value.returncode == 2
    assert json.loads(out.getvalue())["error"]["code"] == "corrupt"
    assert MediaAsset.objects.count() == 0 and files_under(store) == []


@pytest.fixture(scope="module")
def migrated_data_dir(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A separate data directory with a migrated database for the ``loa`` command run as a process."""
    data = tmp_path_factory.mktemp("loa-cli-data")
    env = {**os.environ, "LOA_DATA_DIR": str(data)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run([sys.executable, "-m", "loa.cli", "migrate", "-v0"], env=env, check=True, timeout=300)
    return env


def test_the_loa_command_prints_json_and_exits_non_zero_on_bad_input(
    migrated_data_dir: dict[str, str], sources: dict[str, Path]
) -> None:
    env = migrated_data_dir
    ok = subprocess.run(
        [sys.executable, "-m", "loa.cli", "media", "ingest", str(sources["mp3"]), "--json"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert {"id", "sha256", "duration_s", "loudness_lufs", "path"} <= data.keys()
    assert data["unit"] is None and Path(data["path"]).is_file()
    assert Path(data["path"]).is_relative_to(Path(env["LOA_DATA_DIR"]) / "media" / "audio")

    bad = subprocess.run(
        [sys.executable, "-m", "loa.cli", "media", "ingest", str(sources["png_as_mp3"])],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "Tệp không phải âm thanh hợp lệ (có vẻ là ảnh PNG)" in bad.stderr
    assert bad.stdout == ""
