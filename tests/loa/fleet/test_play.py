""" "Play now" through the API and the console: a published bulletin (inbox included), a library asset or text
through TTS becomes a signed play command that names library audio by its content address; nothing else plays.
Receiving communes may listen to a province bulletin's audio."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from loa.accounts.roles import Role
from loa.audit.models import AuditEntry
from loa.content.models import Bulletin
from loa.fleet.models import Command
from loa.fleet.services import FleetError, do_send_command
from loa.media.models import MediaAsset
from loa.tts.models import SpeechClip
from tests.loa.fleet.devices import provision  # type: ignore[import-not-found]
from tests.loa.fleet.helpers import (  # type: ignore[import-not-found]
    publish_province_bulletin_with_tts,
    send_from_console,
)

COMMANDS = "/api/v1/fleet/commands"


def _post(token: str, body: dict[str, Any]) -> Any:
    return Client().post(
        COMMANDS, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def _get(token: str, url: str) -> Any:
    return Client().get(url, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def fleet(tree: dict, mqtt_dir: Path) -> dict[str, Any]:
    return {
        "a": provision(tree["a"], 2, write_files=False),
        "zone_a": provision(tree["zone_a"], 1, write_files=False),
        "b": provision(tree["b"], 1, write_files=False),
    }


def test_bulletin_from_the_inbox_plays_with_its_priority_and_receivers_can_listen(
    tree: dict, make_user: Any, client_for: Any, token_for: Any, fleet: dict, settings: Any
) -> None:
    settings.LOA_PUBLIC_URL = "https://loa.example.vn"
    bulletin = publish_province_bulletin_with_tts(tree, make_user, client_for)
    asset = bulletin.audio_asset
    assert asset is not None and asset.unit_id == tree["province"].pk
    op_a = make_user("op_a", Role.COMMUNE_OPERATOR, tree["a"])
    op_b = make_user("op_b", Role.COMMUNE_OPERATOR, tree["b"])
    ta, tb = token_for(op_a), token_for(op_b)

    resp = _post(ta, {"action": "play", "unit": "06652", "bulletin_id": bulletin.pk})
    assert resp.status_code == 201, resp.content
    params = resp.json()["params"]
    assert params == {
        "item_id": f"bt-{bulletin.uid.hex[:16]}",
        "media_url": f"https://loa.example.vn/media/files/{asset.sha256}.mp3",
        "sha256": asset.sha256,
        "duration_s": pytest.approx(asset.duration_s, abs=0.001),
        "priority": 4,  # MucDoUuTien 3 (normal) → device class 4
        "repeat": 1,
    }
    assert resp.json()["summary"] == {"pending": 3}  # the commune's clusters and its zone's
    entry = AuditEntry.objects.filter(action="fleet.command_sent").latest("pk")
    assert entry.data["source"] == "bulletin" and entry.data["bulletin"] == bulletin.pk
    # the operator's choice wins over the mapping
    resp = _post(
        ta, {"action": "play", "unit": "06652", "bulletin_id": bulletin.pk, "params": {"priority": 3}}
    )
    assert resp.status_code == 201 and resp.json()["params"]["priority"] == 3
    # emergency priority needs the TOTP code, like every emergency command
    resp = _post(
        ta, {"action": "play", "unit": "06652", "bulletin_id": bulletin.pk, "params": {"priority": 1}}
    )
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "totp_required"
    # commune B did not receive it: it cannot see it, play it or listen to it
    resp = _post(tb, {"action": "play", "unit": "06658", "bulletin_id": bulletin.pk})
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "bulletin_not_found"
    assert _get(tb, f"/api/v1/media/{asset.pk}/audio").status_code == 404
    assert client_for(op_b).get(f"/media/{asset.pk}/").status_code == 404
    # commune A received it: its operator listens to the province's audio (API and console)
    audio = _get(ta, f"/api/v1/media/{asset.pk}/audio")
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/mpeg"
    assert hashlib.sha256(b"".join(audio.streaming_content)).hexdigest() == asset.sha256
    assert client_for(op_a).get(f"/media/{asset.pk}/").status_code == 200
    # but not upload into the province's library or see the rest of it
    listed = _get(ta, "/api/v1/media").json()
    assert asset.pk not in [i["id"] for i in listed["items"]]
    assert Command.objects.filter(issued_by=op_a).count() == 2


def test_priority_bulletin_maps_to_class_3(
    tree: dict, make_user: Any, client_for: Any, token_for: Any, fleet: dict
) -> None:
    bulletin = publish_province_bulletin_with_tts(tree, make_user, client_for, priority=2, title="Bão số 3")
    op_a = make_user("op_a", Role.COMMUNE_OPERATOR, tree["a"])
    resp = _post(token_for(op_a), {"action": "play", "unit": "06652", "bulletin_id": bulletin.pk})
    assert resp.status_code == 201, resp.content
    assert resp.json()["params"]["priority"] == 3


def test_text_and_unapproved_audio_are_refused_approved_audio_plays(
    tree: dict, make_user: Any, client_for: Any, token_for: Any, fleet: dict, settings: Any
) -> None:
    """Typed text and library audio that never went through approval do not play now (docs/adr/0007); the
    audio of a published bulletin plays by id or by sha256 (with or without our URL)."""
    settings.LOA_PUBLIC_URL = "https://loa.example.vn"
    op_a = make_user("op_a", Role.COMMUNE_OPERATOR, tree["a"])
    ta = token_for(op_a)
    clips = SpeechClip.objects.count()
    resp = _post(
        ta, {"action": "play", "unit": "06652.001", "text": "Mời bà con tổ 1 đi họp lúc 8 giờ sáng mai."}
    )
    assert resp.status_code == 409 and resp.json()["error"]["code"] == "play_text_not_approved", resp.content
    assert SpeechClip.objects.count() == clips  # refused before any synthesis
    clip = MediaAsset.objects.create(
        unit=tree["a"], sha256="a" * 64, original_sha256="9" * 64, duration_s=3.0
    )
    for body in ({"media_asset_id": clip.pk}, {"params": {"sha256": clip.sha256}}):
        resp = _post(ta, {"action": "play", "unit": "06652", **body})
        assert resp.status_code == 409 and resp.json()["error"]["code"] == "play_audio_not_approved", (
            resp.content
        )
    assert not Command.objects.exists()
    # the audio of a published bulletin is approved audio: by id …
    spoken = publish_province_bulletin_with_tts(tree, make_user, client_for).audio_asset
    resp = _post(
        ta, {"action": "play", "unit": "06652", "media_asset_id": spoken.pk, "params": {"repeat": 2}}
    )
    assert resp.status_code == 201 and resp.json()["params"]["item_id"] == f"media-{spoken.pk}", resp.content
    params = resp.json()["params"]
    assert params["repeat"] == 2 and params["priority"] == 4
    assert params["media_url"] == f"https://loa.example.vn/media/files/{spoken.sha256}.mp3"
    assert params["duration_s"] == pytest.approx(spoken.duration_s, abs=0.001) and spoken.duration_s > 1
    # … and by sha256, with or without our URL
    for extra in ({}, {"media_url": f"https://loa.example.vn/media/files/{spoken.sha256}.mp3"}):
        resp = _post(ta, {"action": "play", "unit": "06652", "params": {"sha256": spoken.sha256, **extra}})
        assert resp.status_code == 201, resp.content
    refused = {
        "media_url_not_allowed": {
            "params": {"sha256": spoken.sha256, "media_url": "https://evil.example/x.mp3"}
        },
        "media_not_found": {"params": {"sha256": "d" * 64}},
        "sha256_invalid": {"params": {"sha256": "xyz"}},
        "play_source_invalid": {"text": "Hai nguồn", "media_asset_id": spoken.pk},
        "params_invalid": {"media_asset_id": spoken.pk, "params": {"priority": 9}},
    }
    before = Command.objects.count()
    for code, extra in refused.items():
        resp = _post(ta, {"action": "play", "unit": "06652", **extra})
        body = resp.json()
        assert 400 <= resp.status_code < 500 and body["error"]["code"] in (code, "priority_invalid"), (
            code,
            body,
        )
        assert body["error"]["message"][:1].isupper()  # a sentence in Vietnamese, not a trace
    resp = _post(ta, {"action": "play", "unit": "06652"})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "play_source_invalid"
    resp = _post(ta, {"action": "stop", "unit": "06652", "text": "không phải lệnh phát"})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "play_source_invalid"
    # another commune's asset is not found; an unpublished bulletin of A does not play
    b_asset = MediaAsset.objects.create(
        unit=tree["b"], sha256="b" * 64, original_sha256="c" * 64, duration_s=3.0
    )
    resp = _post(ta, {"action": "play", "unit": "06652", "media_asset_id": b_asset.pk})
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "media_not_found"
    draft = Bulletin.objects.create(
        title="Nháp", origin_unit=tree["a"], produced_at="2030-01-01T00:00:00+07:00", created_by=op_a,
        updated_by=op_a, audio_asset=clip,
    )  # fmt: skip
    resp = _post(ta, {"action": "play", "unit": "06652", "bulletin_id": draft.pk})
    assert 400 <= resp.status_code < 500 and resp.json()["error"]["code"] in (
        "bulletin_not_published",
        "bulletin_not_found",
    )
    assert Command.objects.count() == before


def test_missing_totp_refuses_before_synthesis(tree: dict, make_user: Any, client_for: Any, token_for: Any,
                                               fleet: dict) -> None:  # fmt: skip
    admin = make_user("pa", Role.PROVINCE_ADMIN, tree["province"])
    client_for(admin)  # a confirmed TOTP device
    text_bulletin = Bulletin.objects.create(
        title="Thông báo toàn tỉnh",
        body="Thông báo toàn tỉnh.",
        origin_unit=tree["province"],
        produced_at="2030-01-01T00:00:00+07:00",
        created_by=admin,
        updated_by=admin,
        state="published",
    )  # fmt: skip  (published without audio: playing it needs synthesis)
    clips = SpeechClip.objects.count()
    resp = _post(token_for(admin), {"action": "play", "unit": "22", "bulletin_id": text_bulletin.pk})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "totp_required"
    assert SpeechClip.objects.count() == clips and not Command.objects.exists()


def test_every_play_command_names_library_audio(tree: dict, fleet: dict, settings: Any) -> None:
    """The chokepoint itself (hand-offs and emergencies call it too): no arbitrary URL reaches a device."""
    settings.LOA_PUBLIC_URL = "https://loa.example.vn"
    asset = MediaAsset.objects.create(
        unit=tree["a"], sha256="e" * 64, original_sha256="f" * 64, duration_s=2.0
    )
    base = {"item_id": "x", "sha256": asset.sha256, "duration_s": 2.0, "priority": 4}
    with pytest.raises(FleetError) as exc:
        do_send_command(actor=None, action="play", target_unit=tree["a"],
                        params=base | {"media_url": "http://10.0.0.1/relay.mp3"})  # fmt: skip
    assert exc.value.code == "media_url_not_allowed"
    with pytest.raises(FleetError) as exc:
        do_send_command(actor=None, action="play", target_unit=tree["a"],
                        params=base | {"sha256": "0" * 64, "media_url": "https://loa.example.vn/media/files/"
                                       + "0" * 64 + ".mp3"})  # fmt: skip
    assert exc.value.code == "media_not_found"
    ours = base | {"media_url": f"https://loa.example.vn/media/files/{asset.sha256}.mp3"}
    assert do_send_command(actor=None, action="play", target_unit=tree["a"], params=ours).params["sha256"]
    assert Command.objects.count() == 1


def test_console_form_offers_bulletins_and_approved_audio_never_text(
    tree: dict, make_user: Any, client_for: Any, fleet: dict
) -> None:
    bulletin = publish_province_bulletin_with_tts(tree, make_user, client_for, title="Lịch tiêm chủng")
    op_a = make_user("op_a", Role.COMMUNE_OPERATOR, tree["a"])
    op_b = make_user("op_b", Role.COMMUNE_OPERATOR, tree["b"])
    unapproved = MediaAsset.objects.create(
        unit=tree["a"],
        sha256="a" * 64,
        original_sha256="9" * 64,
        duration_s=3.0,
        original_name="ghi-am-moi.mp3",
    )
    page = client_for(op_a).get("/fleet/commands/new/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Lịch tiêm chủng" in html and f'value="{bulletin.pk}"' in html and 'name="text"' not in html
    library = html.split('name="media_asset_id"')[1].split("</select>")[0]
    assert f'value="{bulletin.audio_asset_id}"' in library and f'value="{unapproved.pk}"' not in library
    assert "Lịch tiêm chủng" not in client_for(op_b).get("/fleet/commands/new/").content.decode()
    client = client_for(op_a)
    resp = client.post(
        "/fleet/commands/new/", {"unit": "06652", "action": "play", "text": "Thử loa lúc 9 giờ."}
    )
    assert resp.status_code == 400 and "Văn bản gõ tay chưa được duyệt" in resp.content.decode()
    assert not Command.objects.exists()
    confirm = client.post("/fleet/commands/new/", {"unit": "06652", "action": "play",
                                                   "bulletin_id": str(bulletin.pk)})  # fmt: skip
    page = confirm.content.decode()  # the confirmation names what plays and where, and sends nothing yet
    assert confirm.status_code == 200 and 'id="command-confirm"' in page and "Lịch tiêm chủng" in page
    # a normal bulletin (plays at class 4) in the officer's own commune: no code is asked (services.totp_required)
    assert "Lệnh này không cần mã TOTP." in page and 'name="totp"' not in page
    assert "Mức ưu tiên: 4 — thông thường (theo bản tin)." in page, re.findall(r"Mức ưu tiên[^<]*", page)
    # the same audio from the library plays at the ordinary class, not "as the bulletin says"
    page = client.post("/fleet/commands/new/", {"unit": "06652", "action": "play",
                                                "media_asset_id": str(bulletin.audio_asset_id)}).content.decode()  # fmt: skip
    assert "Mức ưu tiên: 4 — thông thường (mặc định)." in page, re.findall(r"Mức ưu tiên[^<]*", page)
    assert not Command.objects.exists()
    resp = send_from_console(client, {"unit": "06652", "action": "play", "bulletin_id": str(bulletin.pk)})
    assert resp.status_code == 302, resp.content.decode()[:1000]
    assert Command.objects.get().params["sha256"] == bulletin.audio_asset.sha256
    resp = client.post("/fleet/commands/new/", {"unit": "06652", "action": "play", "text": "Hai",
                                                "bulletin_id": str(bulletin.pk)})  # fmt: skip
    assert resp.status_code == 400 and "Chọn đúng một nội dung để phát" in resp.content.decode()
    assert Command.objects.count() == 1
