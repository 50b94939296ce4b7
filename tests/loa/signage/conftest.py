"""Board content fixtures: boards in the shared tree, small media made by ffmpeg (lavfi) and Pillow."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from loa.fleet.models import BoardScreen, Device, DeviceKind
from loa.units.models import Unit
from loa_protocol.topics import new_device_id


@pytest.fixture
def make_boards(db: Any) -> Callable[..., list[Device]]:
    def make(
        unit: Unit, n: int, screen_class: str = "landscape", size: tuple[int, int] = (1920, 1080)
    ) -> list[Device]:
        boards = Device.objects.bulk_create(
            [
                Device(
                    device_id=new_device_id(), unit=unit, kind=DeviceKind.EBOARD, serial=f"B-{unit.code}-{i}"
                )
                for i in range(n)
            ]
        )
        BoardScreen.objects.bulk_create(
            [
                BoardScreen(
                    device=b, screen_class=screen_class, width=size[0], height=size[1],
                    orientation="portrait" if size[1] > size[0] else "landscape",
                )
                for b in boards
            ]
        )  # fmt: skip
        return boards

    return make


@pytest.fixture
def image_file(tmp_path: Path) -> Path:
    path = tmp_path / "anh.png"
    Image.new("RGB", (320, 200), (200, 30, 30)).save(path)
    return path


@pytest.fixture
def video_file(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-shortest", "-c:v", "libx264", "-c:a", "aac",
         "-y", str(path)],
        check=True,
        timeout=60,
    )  # fmt: skip
    return path


@pytest.fixture
def pdf_file(tmp_path: Path) -> Path:
    path = tmp_path / "van-ban.pdf"
    pages = [Image.new("RGB", (300, 400), c) for c in ((255, 255, 255), (0, 0, 255))]
    pages[0].save(path, "PDF", save_all=True, append_images=pages[1:])
    return path


@pytest.fixture(autouse=True)
def _no_screen_check(settings: Any) -> None:
    """Board screenshots are compared with Chromium renders of the manifest in a job (run inline in tests): only the
    tests of that check (test_screencheck*.py) turn it on, so the player's own tests do not wait for renders."""
    settings.LOA_BOARD_SCREEN_CHECK = False
