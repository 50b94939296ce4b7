"""``loa demo`` seeds e-bulletin boards of every screen class in the demo province's communes, with approved content
scheduled on them and compiled into their signed manifests; seeding again adds nothing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from loa.console.demo import do_seed_demo
from loa.fleet import keys
from loa.fleet.models import Device, DeviceKind
from loa.signage.models import BoardManifestRow, Playlist
from loa.units.models import Level
from loa_protocol.board import LED_SCREEN_CLASSES, BoardManifest, verify_board_manifest

pytestmark = pytest.mark.django_db(transaction=True)  # the manifests are compiled once the seed commits


def test_demo_seeds_boards_of_every_class_with_content(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    t0 = time.monotonic()
    province, _logins = do_seed_demo("22")
    took = time.monotonic() - t0
    boards = list(Device.objects.filter(kind=DeviceKind.EBOARD).select_related("screen", "unit"))
    classes = {b.screen.screen_class for b in boards}
    assert {"landscape", "portrait"} <= classes and set(LED_SCREEN_CLASSES) <= classes
    communes = set(province.children.filter(level=Level.COMMUNE).order_by("code")[:3])
    assert {b.unit for b in boards} <= communes and len({b.unit for b in boards}) >= 2
    (playlist,) = Playlist.objects.all()
    assert playlist.programme.state == "approved"
    for board in boards:
        row = BoardManifestRow.objects.get(device=board)
        manifest = BoardManifest.model_validate_json(bytes(row.payload))
        verify_board_manifest(manifest, keys.public_key(), board.device_id, manifest.issued_at)
        assert manifest.screen.screen_class == board.screen.screen_class
        assert manifest.brightness, "the demo's brightness schedule travels"
        kinds = {s.kind for e in manifest.timeline for s in e.slides}
        assert {"text", "image", "ticker", "clock"} <= kinds, (board.screen.screen_class, kinds)
    print(f"demo seed with boards: {took:.1f} s")

    do_seed_demo("22")
    assert Device.objects.filter(kind=DeviceKind.EBOARD).count() == len(boards)
    assert Playlist.objects.count() == 1
