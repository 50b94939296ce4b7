"""The board manifest: signed like the cluster manifest, refused when forged, foreign, stale or expired."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pydantic import ValidationError

from loa_protocol.board import (
    BoardEmergency,
    BoardManifest,
    brightness_at,
    signed_emergency,
    verify_board_manifest,
)
from loa_protocol.signing import CommandRejected, canonical_bytes, generate_keypair, sign

NOW = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)
SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def manifest(**over: object) -> BoardManifest:
    data: dict[str, object] = {
        "device_id": "loa-3f9a0c12b7e4",
        "version": 3,
        "issued_at": NOW,
        "valid_until": NOW + dt.timedelta(hours=48),
        "screen": {"screen_class": "landscape", "width": 1920, "height": 1080, "orientation": "landscape"},
        "windows": [{"start": "05:00", "end": "22:00"}],
        "layouts": [
            {
                "layout_id": "L1",
                "zones": [
                    {"zone_id": "main", "width": 1920, "height": 960},
                    {"zone_id": "ticker", "role": "ticker", "y": 960, "width": 1920, "height": 120},
                ],
            }
        ],
        "timeline": [
            {
                "entry_id": "s1-20261205T000000Z-0",
                "start": NOW - dt.timedelta(hours=1),
                "end": NOW + dt.timedelta(hours=1),
                "playlist_id": "pl-1",
                "layout_id": "L1",
                "slides": [
                    {"slide_id": "sl-1", "kind": "text", "duration_s": 8, "zone": "main",
                     "text": {"title": "Thông báo", "body": "Họp dân lúc 19 giờ tại nhà văn hóa thôn"}},
                    {"slide_id": "sl-2", "kind": "image", "duration_s": 10.5, "zone": "main",
                     "media": {"url": "https://loa.example.vn/board/media/" + SHA, "sha256": SHA, "bytes": 1234,
                               "mime": "image/webp"}},
                    {"slide_id": "sl-3", "kind": "ticker", "duration_s": 30, "zone": "ticker",
                     "text": {"body": "Phòng chống bão số 15"}},
                ],
            }
        ],
    }  # fmt: skip
    data.update(over)
    return BoardManifest.model_validate(data)


def test_signed_manifest_verifies_and_numbers_are_canonical() -> None:
    private, public = generate_keypair()
    signed = sign(manifest(), private)
    verify_board_manifest(signed, public, "loa-3f9a0c12b7e4", NOW)
    body = canonical_bytes(signed).decode()
    assert '"duration_s":8.0' in body and '"duration_s":10.5' in body and '"bytes":1234' in body
    # what the player receives round-trips to the same signed message
    again = BoardManifest.model_validate_json(signed.model_dump_json())
    verify_board_manifest(again, public, "loa-3f9a0c12b7e4", NOW)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda m, k: m.model_copy(update={"signature": ""}), "unsigned"),
        (lambda m, k: m.model_copy(update={"killed": True}), "bad_signature"),
        (lambda m, k: sign(m, generate_keypair()[0]), "bad_signature"),
        (lambda m, k: sign(m.model_copy(update={"device_id": "loa-000000000000"}), k), "wrong_device"),
        (lambda m, k: sign(m.model_copy(update={"valid_until": NOW}), k), "expired"),
        (lambda m, k: sign(m.model_copy(update={"version": 2}), k), "stale_manifest"),
    ],
)
def test_refusals(change, reason) -> None:  # type: ignore[no-untyped-def]
    private, public = generate_keypair()
    bad = change(sign(manifest(), private), private)
    with pytest.raises(CommandRejected) as exc:
        verify_board_manifest(bad, public, "loa-3f9a0c12b7e4", NOW, current_version=3)
    assert exc.value.reason == reason


def test_emergency_is_signed_alone_and_inside() -> None:
    private, public = generate_keypair()
    em = BoardEmergency(emergency_id="em-1a2b3c4d5e6f", unit_code="06652", title="Bão số 15", issued_at=NOW)
    good = signed_emergency(em, private)
    verify_board_manifest(sign(manifest(emergency=good), private), public, "loa-3f9a0c12b7e4", NOW)
    forged = em.model_copy(update={"signature": good.signature, "title": "Giả mạo"})
    with pytest.raises(CommandRejected):
        verify_board_manifest(sign(manifest(emergency=forged), private), public, "loa-3f9a0c12b7e4", NOW)


def test_a_slide_in_a_zone_its_layout_lacks_is_invalid() -> None:
    data = json.loads(manifest().model_dump_json())
    data["timeline"][0]["slides"][0]["zone"] = "clock"
    with pytest.raises(ValidationError, match="vùng clock"):
        BoardManifest.model_validate(data)
    data["timeline"][0]["slides"][0]["zone"] = "main"
    del data["timeline"][0]["slides"][1]["media"]
    with pytest.raises(ValidationError, match="media"):
        BoardManifest.model_validate(data)


def test_media_listed_once() -> None:
    assert [m.sha256 for m in manifest().media()] == [SHA]


def test_brightness_schedule_is_sorted_distinct_and_read_across_midnight() -> None:
    steps = [{"at": "06:00", "percent": 100}, {"at": "22:00", "percent": 20}]
    m = manifest(brightness=steps)
    assert [(s.at, s.percent) for s in m.brightness] == [("06:00", 100), ("22:00", 20)]
    assert brightness_at(m.brightness, "05:59") == 20  # the day's last step holds past midnight
    assert brightness_at(m.brightness, "06:00") == 100
    assert brightness_at(m.brightness, "23:30") == 20
    assert brightness_at([], "12:00") is None
    for bad, match in (
        ([steps[1], steps[0]], "thứ tự"),
        ([steps[0], steps[0]], "khác nhau"),
        ([{"at": "6:00", "percent": 50}], "HH:MM"),
        ([{"at": "06:00", "percent": 101}], "less than or equal"),
        (
            [{"at": f"{h:02d}:00", "percent": 50} for h in range(24)] + [{"at": "23:30", "percent": 1}],
            "at most",
        ),
    ):
        with pytest.raises(ValidationError, match=match):
            manifest(brightness=bad)
