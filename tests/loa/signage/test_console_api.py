"""Board content through the API and the console: a slide refused with its Vietnamese message (nothing kept), a
playlist approved by another person, scheduled and previewed at the board's resolution; board files by the
board's own credentials; a commune never sees another commune's board content."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from loa.accounts.roles import Role
from loa.fleet import broker
from loa.signage import store
from loa.signage.compile import compile_board_manifests
from loa.signage.models import Playlist, Slide


@pytest.fixture
def people(make_user: Any, tree: Any, client_for: Any) -> dict[str, Any]:
    op = make_user("op", Role.COMMUNE_OPERATOR, tree["a"])
    ap = make_user("ap", Role.APPROVER, tree["a"])
    other = make_user("other", Role.COMMUNE_OPERATOR, tree["b"])
    return {"op": client_for(op), "ap": client_for(ap), "other": client_for(other)}


def test_api_slide_playlist_schedule_preview_and_files(
    people: dict[str, Any], tree: Any, make_boards: Any, image_file: Path
) -> None:
    board = make_boards(tree["a"], 1, "portrait", (1080, 1920))[0]
    op, ap, other = people["op"], people["ap"], people["other"]
    r = op.post("/api/v1/signage/slides", {"unit": tree["a"].code, "kind": "text", "text": "Chữ " * 3000})
    assert r.status_code == 400
    assert r.json()["error"]["code"] in ("text_too_long", "text_does_not_fit")
    assert Slide.objects.count() == 0
    with image_file.open("rb") as fh:
        r = op.post("/api/v1/signage/slides", {"unit": tree["a"].code, "kind": "image", "file": fh})
    assert r.status_code == 201, r.content
    image = r.json()
    with (Path(__file__).parent / "conftest.py").open("rb") as fh:  # not an image
        r = op.post("/api/v1/signage/slides", {"unit": tree["a"].code, "kind": "image", "file": fh})
    assert r.status_code == 400 and r.json()["error"]["code"] == "not_image"
    assert Slide.objects.count() == 1
    r = op.post(
        "/api/v1/signage/playlists",
        {"unit": tree["a"].code, "title": "Ảnh", "items": [{"slide_id": image["id"], "duration_s": 7}]},
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["state"] == "pending"
    pid = r.json()["id"]
    assert (
        op.post(
            f"/api/v1/signage/playlists/{pid}/decision", {"approve": True}, content_type="application/json"
        ).status_code
        == 403
    )
    r = ap.post(
        f"/api/v1/signage/playlists/{pid}/decision", {"approve": True}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["state"] == "approved"
    r = op.post(
        "/api/v1/signage/schedules",
        {"unit": tree["a"].code, "playlist_id": pid, "title": "Sáng", "kind": "daily", "times": ["08:00"],
         "minutes": 30, "target_boards": [board.device_id]},
        content_type="application/json",
    )  # fmt: skip
    assert r.status_code == 201, r.content
    # the preview at the board's own resolution, of the playlist before (or after) it is scheduled
    r = op.get(f"/api/v1/signage/boards/{board.device_id}/preview?playlist={pid}")
    assert r.status_code == 200
    frame = r.json()
    assert frame["screen"]["width"] == 1080 and frame["screen"]["height"] == 1920
    assert [s["kind"] for s in frame["slides"]] == ["image"]
    page = op.get(f"/signage/boards/{board.device_id}/preview/?playlist={pid}")
    assert page.status_code == 200 and b"1080\xc3\x971920" in page.content
    # another commune sees none of it
    assert other.get(f"/api/v1/signage/playlists/{pid}").status_code == 404
    assert other.get(f"/api/v1/signage/slides/{image['id']}").status_code == 404
    assert other.get(f"/api/v1/signage/boards/{board.device_id}/preview").status_code == 404
    assert other.get(f"/signage/playlists/{pid}/").status_code == 404
    url = store.url_of(image["renditions"]["portrait"]["sha256"], "jpg")
    assert other.get(url).status_code == 404
    assert op.get(url).status_code == 200
    # the board fetches its files with its own credentials, once its manifest names them
    password = broker.new_password()
    board.credentials_hash = broker.hash_password(password)
    board.save(update_fields=["credentials_hash"])
    auth = {
        "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{board.device_id}:{password}".encode()).decode()
    }
    from django.test import Client

    anon = Client()
    assert anon.get(url).status_code == 401
    assert anon.get(url, **auth).status_code == 404
    compile_board_manifests(dt.datetime.now(dt.UTC))
    assert anon.get(url, **auth).status_code == 200
    r = anon.get(f"/api/v1/signage/manifests/{board.device_id}", **auth)
    assert r.status_code == 200 and r.json()["device_id"] == board.device_id


def test_console_pages(people: dict[str, Any], tree: Any, make_boards: Any) -> None:
    board = make_boards(tree["a"], 1)[0]
    op = people["op"]
    r = op.post(
        "/signage/slides/new/", {"kind": "text", "text": "Chữ " * 500, "screen_classes": ["led_192x96"]}
    )
    assert r.status_code == 400
    assert "không vừa vùng hiển thị của bảng led 192×96" in r.content.decode()
    r = op.post("/signage/slides/new/", {"kind": "clock", "screen_classes": ["landscape"]})
    assert r.status_code == 302
    slide = Slide.objects.get()
    assert op.get(f"/signage/slides/{slide.pk}/").status_code == 200
    r = op.post(
        "/signage/playlists/new/", {"title": "Đồng hồ", f"use_{slide.pk}": "1", f"duration_{slide.pk}": "20"}
    )
    assert r.status_code == 302
    playlist = Playlist.objects.get()
    assert playlist.programme.state == "approved"
    r = op.post(
        f"/signage/playlists/{playlist.pk}/schedule/",
        {"kind": "daily", "times": "07:00", "minutes": "60", "target_units": [tree["a"].code]},
    )
    assert r.status_code == 302
    page = op.get(f"/signage/playlists/{playlist.pk}/")
    assert page.status_code == 200 and "Hằng ngày" in page.content.decode()
    assert op.get("/signage/").status_code == 200
    assert op.get(f"/signage/boards/{board.device_id}/plan/").status_code == 200
    assert op.get("/signage/font/BeVietnamPro-SemiBold.ttf").status_code == 200
