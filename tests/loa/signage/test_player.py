"""The board player's server side: only a board's own credentials open its manifest, its files and its proof upload;
proof of display is stored once however often it is uploaded; a board sees its own area's emergencies only."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from loa.broadcast.models import Emergency
from loa.fleet import keys
from loa.fleet.models import Device, DeviceKind
from loa.fleet.services import do_provision_device
from loa.signage import player
from loa.signage.models import BoardManifestRow, ProofOfDisplay
from loa.units.models import Unit
from loa_protocol.board import BoardEmergency, BoardManifest
from loa_protocol.signing import sign, signature_is_valid

pytestmark = pytest.mark.django_db


def _board(unit: Unit, serial: str, kind: str = DeviceKind.EBOARD) -> tuple[Device, Client]:
    device, password = do_provision_device(unit, actor=None, serial=serial)
    Device.objects.filter(pk=device.pk).update(kind=kind)
    device.refresh_from_db()
    token = base64.b64encode(f"{device.device_id}:{password}".encode()).decode()
    return device, Client(HTTP_AUTHORIZATION=f"Basic {token}")


def _publish(device: Device, media: list[dict[str, Any]]) -> BoardManifest:
    now = timezone.now()
    manifest = BoardManifest.model_validate(
        {
            "device_id": device.device_id, "version": 4, "issued_at": now, "valid_until": now + dt.timedelta(hours=48),
            "screen": {"screen_class": "landscape", "width": 1920, "height": 1080, "orientation": "landscape"},
            "layouts": [{"layout_id": "full", "zones": [{"zone_id": "main", "role": "full", "width": 1920, "height": 1080}]}],
            "timeline": [{
                "entry_id": "b1", "start": now, "end": now + dt.timedelta(hours=1), "playlist_id": "1", "layout_id": "full",
                "slides": [{"slide_id": f"s{i}", "kind": "image", "duration_s": 5.0, "zone": "main", "media": m}
                           for i, m in enumerate(media)],
            }],
        }
    )  # fmt: skip
    signed = sign(manifest, keys.private_key())
    BoardManifestRow.objects.update_or_create(
        device=device, defaults={"version": signed.version, "payload": signed.model_dump_json().encode()}
    )
    return signed


def _file(settings: Any, tmp_path: Path, content: bytes) -> dict[str, Any]:
    from loa.signage import store

    settings.MEDIA_ROOT = tmp_path
    sha = hashlib.sha256(content).hexdigest()
    path = store.path_of(sha, "png")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return {"url": store.url_of(sha, "png"), "sha256": sha, "bytes": len(content), "mime": "image/png"}


def _display(**over: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()), "slide_id": "s0", "entry_id": "b1", "playlist_id": "1", "zone": "main",
        "kind": "image", "content_sha256": "a" * 64, "started_at": "2026-12-05T01:00:00.000Z",
        "ended_at": "2026-12-05T01:00:05.010Z", "planned_s": 5, "outcome": "shown", "manifest_version": 4,
    } | over  # fmt: skip


def test_only_a_boards_own_credentials_open_its_endpoints(tree: dict[str, Unit]) -> None:
    board, as_board = _board(tree["a"], "B-1")
    _cluster, as_cluster = _board(tree["a"], "C-1", kind=DeviceKind.LOUDSPEAKER)
    wrong = Client(
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{board.device_id}:nope".encode()).decode()
    )
    for client in (Client(), as_cluster, wrong):
        for url in ("/board/api/manifest", "/board/api/identity", "/board/api/events"):
            r = client.get(url)
            assert r.status_code == 401 and "WWW-Authenticate" not in r, url
            assert r.json()["error"]["code"] == "board_credentials_invalid"
        assert client.post("/board/api/proof", "{}", content_type="application/json").status_code == 401
    assert as_board.get("/board/api/manifest").json()["error"]["code"] == "manifest_missing"
    identity = as_board.get("/board/api/identity").json()
    assert identity == {"device_id": board.device_id, "unit_codes": ["22", "06652"],
                        "server_public_key": keys.public_key()}  # fmt: skip


def test_manifest_is_served_byte_for_byte_and_its_files_only_to_its_board(
    tree: dict[str, Unit], settings: Any, tmp_path: Path
) -> None:
    a, as_a = _board(tree["a"], "B-A")
    b, as_b = _board(tree["b"], "B-B")
    mine = _file(settings, tmp_path, b"\x89PNG a")
    theirs = _file(settings, tmp_path, b"\x89PNG b")
    signed = _publish(a, [mine])
    _publish(b, [theirs])
    r = as_a.get("/board/api/manifest")
    assert r.status_code == 200 and r.content == signed.model_dump_json().encode()
    assert signature_is_valid(BoardManifest.model_validate_json(r.content), keys.public_key())
    got = as_a.get(mine["url"])
    assert got.status_code == 200 and b"".join(got.streaming_content) == b"\x89PNG a"  # type: ignore[attr-defined]
    assert got["Content-Type"] == "image/png"
    assert as_a.get(theirs["url"]).status_code == 404  # B's file, not in A's manifest
    assert as_b.get(mine["url"]).status_code == 404
    assert Client().get(mine["url"]).status_code == 401


def test_proof_is_stored_once_however_often_it_is_uploaded(tree: dict[str, Unit]) -> None:
    board, as_board = _board(tree["a"], "B-1")
    batch = {"device_id": board.device_id, "displays": [_display(), _display(slide_id="s1", outcome="partial",
             reason="preempted", ended_at="2026-12-05T01:00:02Z", offline=True)]}  # fmt: skip
    for _ in range(3):  # the answer was lost twice: the player sends the same events again
        r = as_board.post("/board/api/proof", json.dumps(batch), content_type="application/json")
        assert r.status_code == 200
        assert r.json()["stored"] == [d["event_id"] for d in batch["displays"]]
    rows = ProofOfDisplay.objects.order_by("slide_id")
    assert [(r.slide_id, r.outcome, r.reason, r.offline, r.unit_id) for r in rows] == [
        ("s0", "shown", "", False, tree["a"].pk),
        ("s1", "partial", "preempted", True, tree["a"].pk),
    ]
    assert rows[0].ended_at - rows[0].started_at == dt.timedelta(seconds=5.01)

    other, _ = _board(tree["b"], "B-2")
    foreign = {"device_id": other.device_id, "displays": [_display()]}
    r = as_board.post("/board/api/proof", json.dumps(foreign), content_type="application/json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_device"
    bad = {"device_id": board.device_id, "displays": [_display(content_sha256="=HYPERLINK(1)")]}
    r = as_board.post("/board/api/proof", json.dumps(bad), content_type="application/json")
    assert r.status_code == 422 and r.json()["error"]["message"].startswith(
        "Lô bằng chứng hiển thị không hợp lệ"
    )
    assert ProofOfDisplay.objects.count() == 2


def test_a_board_sees_its_areas_emergency_signed_and_its_cancel(tree: dict[str, Unit]) -> None:
    board, _ = _board(tree["zone_a"], "B-Z")
    path = board.unit.path

    def look(generation: Any = None) -> dict[str, Any]:
        player._generation = (0.0, ())  # read the database now (as after EMERGENCY_CHECK_S)
        return player.snapshot([board.device_id], {path}, generation)

    first = look()
    assert first["emergencies"] == {path: (None, None)} and player.board_emergency(board) is None
    assert first["versions"] == {} and first["commands"] == {}

    def emergency(unit: Unit, title: str) -> Emergency:
        return Emergency.objects.create(
            unit=unit, title=title, text="Di chuyển lên vùng cao.", item_id=f"em-{title}", sha256="0" * 64,
            media_url="x", duration_s=10.0, requested_at=timezone.now(),
        )  # fmt: skip

    emergency(tree["b"], "Cao Xanh")  # another commune: not this board's
    other = look(first["generation"])
    assert other["emergencies"] == {path: (None, None)} and player.board_emergency(board) is None
    assert look(other["generation"])["emergencies"] is None  # nothing moved: no area is looked at
    e = emergency(tree["a"], "Lũ quét")  # the board's commune, above its zone
    started = look(other["generation"])
    key, text = started["emergencies"][path]
    shown = BoardEmergency.model_validate_json(text)
    assert (shown.emergency_id, shown.unit_code, shown.title, shown.cancelled_at) == (
        f"em{e.pk}", "06652", "Lũ quét", None,
    )  # fmt: skip
    assert key == (f"em{e.pk}", None) and signature_is_valid(shown, keys.public_key())
    assert player.board_emergency(board) == shown

    Emergency.objects.filter(pk=e.pk).update(state=Emergency.State.CANCELLED, cancelled_at=timezone.now())
    cancelled = BoardEmergency.model_validate_json(look(started["generation"])["emergencies"][path][1])
    assert cancelled.emergency_id == f"em{e.pk}" and cancelled.cancelled_at is not None
    assert player.board_emergency(board) is None


def test_the_push_state_of_many_boards_is_read_in_a_few_queries(
    tree: dict[str, Unit], django_assert_max_num_queries: Any, settings: Any, tmp_path: Path
) -> None:
    from loa.fleet.services import do_send_command

    boards = [_board(tree["a"], f"B-{i}")[0] for i in range(30)]
    image = _file(settings, tmp_path, b"\x89PNG")
    for b in boards[:3]:
        _publish(b, [image])
    do_send_command(actor=None, action="screenshot", target_device=boards[5])
    ids = [b.device_id for b in boards]
    player._generation = (0.0, ())
    with django_assert_max_num_queries(6):
        snap = player.snapshot(ids, {tree["a"].path}, None)
    assert snap["versions"] == {b.device_id: 4 for b in boards[:3]}
    ((n, latest),) = snap["commands"].values()
    assert list(snap["commands"]) == [boards[5].device_id] and n == 1 and latest is not None


def test_assets_and_the_service_worker_scope() -> None:
    r = Client().get("/board/sw.js")
    assert r.status_code == 200 and r["Service-Worker-Allowed"] == "/board/"
    assert r["Content-Type"].startswith("text/javascript")
    assert Client().get("/board/nothing.js").status_code == 404
    page = Client().get("/board/")
    assert page.status_code == 200 and 'src="/board/player.js"' in page.content.decode()
