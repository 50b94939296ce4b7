"""Who may fetch ``/media/files/<sha256>.mp3`` (issue 20, item 7): knowing the address is not enough.

Published bulletins' media is public (and cacheable by anyone); everything else goes to the devices a command or
their manifest sent it to (with their own MQTT credentials as HTTP Basic auth) and to users who may see the asset.
A revoked device gets nothing, not even what it fetched before."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.broadcast.services import media_url
from loa.fleet.models import Device
from loa.fleet.services import do_provision_device, do_send_command
from loa.media.models import MediaAsset
from loa.tts.services import do_synthesize
from loa.units.models import Unit
from tests.loa.fleet.brokers import mqtt_dir  # type: ignore[import-not-found]  # noqa: F401  (shared fixture)


def _basic(device_id: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{device_id}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


@pytest.fixture
def draft_audio(tree: dict[str, Unit], make_user: Callable[..., User]) -> MediaAsset:
    """Speech made in commune A's library: not published anywhere."""
    operator = make_user("op.a", Role.COMMUNE_OPERATOR, tree["a"])
    clip = do_synthesize("Thông báo nội bộ, chưa phát hành.", actor=operator, unit=tree["a"])
    return MediaAsset.objects.get(pk=clip.media_asset_id)


def _url(asset: MediaAsset) -> str:
    return f"/media/files/{asset.sha256}.mp3"


def test_unpublished_media_is_not_public(draft_audio: MediaAsset) -> None:
    r = Client().get(_url(draft_audio))
    assert r.status_code == 401 and r["WWW-Authenticate"].startswith("Basic")


def test_users_get_what_they_may_see_and_nothing_else(
    draft_audio: MediaAsset,
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    own = client_for(make_user("xem.a", Role.VIEWER, tree["a"]))
    r = own.get(_url(draft_audio))
    assert r.status_code == 200 and r["Cache-Control"].startswith("private")
    other = client_for(make_user("xem.b", Role.VIEWER, tree["b"]))
    assert other.get(_url(draft_audio)).status_code == 404


@pytest.mark.usefixtures("mqtt_dir")
def test_a_device_gets_what_it_was_sent_and_a_revoked_one_gets_nothing(
    draft_audio: MediaAsset, tree: dict[str, Unit]
) -> None:
    operator = User.objects.get(username="op.a")
    target, target_pw = do_provision_device(tree["a"], actor=None, serial="MF-1")
    bystander, bystander_pw = do_provision_device(tree["b"], actor=None, serial="MF-2")
    # before any command names it, even an enrolled device of the commune cannot fetch it
    assert Client().get(_url(draft_audio), **_basic(target.device_id, target_pw)).status_code == 404
    do_send_command(
        actor=operator,
        action="play",
        params={"item_id": "mf-1", "media_url": media_url(draft_audio.sha256),
                "sha256": draft_audio.sha256, "duration_s": float(draft_audio.duration_s or 1), "priority": 4},
        target_device=target,
    )  # fmt: skip
    r = Client().get(_url(draft_audio), **_basic(target.device_id, target_pw))
    assert r.status_code == 200 and r["Cache-Control"].startswith("private")
    body = b"".join(r.streaming_content)
    assert hashlib.sha256(body).hexdigest() == draft_audio.sha256
    # a device the command did not reach, a wrong password, a forged Basic header
    assert Client().get(_url(draft_audio), **_basic(bystander.device_id, bystander_pw)).status_code == 404
    assert Client().get(_url(draft_audio), **_basic(target.device_id, "sai")).status_code == 401
    assert Client().get(_url(draft_audio), HTTP_AUTHORIZATION="Basic !!!").status_code == 401
    # revoked: nothing, not even the file it fetched a minute ago
    Device.objects.filter(pk=target.pk).update(revoked_at=timezone.now() - dt.timedelta(seconds=1))
    assert Client().get(_url(draft_audio), **_basic(target.device_id, target_pw)).status_code == 401


def test_published_bulletin_media_is_public_and_cacheable(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    from tests.loa.fleet.helpers import publish_province_bulletin_with_tts  # type: ignore[import-not-found]

    bulletin = publish_province_bulletin_with_tts(tree, make_user, client_for)
    asset = bulletin.audio_asset
    assert asset is not None
    r = Client().get(_url(asset))
    assert r.status_code == 200
    assert r["Cache-Control"] == "public, max-age=31536000, immutable"


def test_a_published_bulletin_past_its_validity_is_public_no_more(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    """The same rule as the citizens' pages: once ``valid_until`` has passed, even before the expiry job ran."""
    from loa.content.models import Bulletin
    from tests.loa.fleet.helpers import publish_province_bulletin_with_tts  # type: ignore[import-not-found]

    bulletin = publish_province_bulletin_with_tts(tree, make_user, client_for)
    asset = bulletin.audio_asset
    assert asset is not None
    assert Client().get(_url(asset)).status_code == 200
    Bulletin.objects.filter(pk=bulletin.pk).update(valid_until=timezone.now() - dt.timedelta(minutes=1))
    assert Client().get(_url(asset)).status_code in (401, 403, 404)
    Bulletin.objects.filter(pk=bulletin.pk).update(
        valid_until=None, valid_from=timezone.now() + dt.timedelta(hours=1)
    )
    assert Client().get(_url(asset)).status_code in (401, 403, 404), "not yet valid: not public yet"


@pytest.mark.usefixtures("mqtt_dir")
def test_a_device_gets_what_its_manifest_names(draft_audio: MediaAsset, tree: dict[str, Unit]) -> None:
    """A scheduled item reaches a device in its signed manifest, not in a command: that is enough to fetch it."""
    import json

    from loa.broadcast.models import DeviceManifest

    device, password = do_provision_device(tree["a"], actor=None, serial="MF-3")
    assert Client().get(_url(draft_audio), **_basic(device.device_id, password)).status_code == 404
    entry = {"item_id": "sch-1", "media_url": media_url(draft_audio.sha256), "sha256": draft_audio.sha256}
    DeviceManifest.objects.create(device=device, version=1, payload=json.dumps({"entries": [entry]}).encode())
    assert Client().get(_url(draft_audio), **_basic(device.device_id, password)).status_code == 200


@pytest.mark.usefixtures("mqtt_dir")
def test_an_emergency_s_audio_is_public_while_it_is_in_force(
    tree: dict[str, Unit], make_user: Callable[..., User]
) -> None:
    """While an emergency plays (its text is on the citizens' feed for exactly as long) its audio is public, with a
    shared-cache lifetime that ends when the emergency does; cancelled or over, it is private again (ADR 0019)."""
    from loa.broadcast import emergency as em
    from loa.broadcast.models import Emergency
    from loa.citizen.public_feed import emergency_until
    from tests.conftest import verified_client  # type: ignore[import-not-found]
    from tests.loa.broadcast.conftest import totp_next, totp_now  # type: ignore[import-not-found]

    chairman = make_user("chu-tich-a", Role.APPROVER, tree["a"])
    verified_client(chairman)
    do_provision_device(tree["a"], actor=None, serial="EM-1")
    e = em.do_start_emergency(
        tree["a"], actor=chairman, totp=totp_now(chairman), text="Lũ đang lên, sơ tán ngay."
    )
    url = f"/media/files/{e.sha256}.mp3"
    r = Client().get(url)
    assert r.status_code == 200 and hashlib.sha256(b"".join(r.streaming_content)).hexdigest() == e.sha256
    max_age = int(r["Cache-Control"].split("max-age=")[1].split(",")[0])
    left = (emergency_until(e) - timezone.now()).total_seconds()
    assert r["Cache-Control"].startswith("public, ") and left - 5 <= max_age <= left
    # over: the feed no longer shows it, the file is no longer public
    Emergency.objects.filter(pk=e.pk).update(requested_at=timezone.now() - dt.timedelta(hours=3))
    assert Client().get(url).status_code == 401
    Emergency.objects.filter(pk=e.pk).update(requested_at=timezone.now())
    assert Client().get(url).status_code == 200
    em.do_cancel_emergency(Emergency.objects.get(pk=e.pk), actor=chairman, totp=totp_next(chairman))
    assert Client().get(url).status_code == 401
