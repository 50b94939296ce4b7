"""The public app and its JSON API show published bulletins only: drafts, submitted, approved-but-unpublished,
cancelled and expired bulletins (also those whose validity ended before the expiry job ran), author e-mails and
internal fields never appear on any public page or endpoint — every one of them, discovered from the URL
configuration and the OpenAPI schema — and a bulletin's audio is served only while it is public."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from loa.citizen import public_cache
from loa.citizen.public_feed import fold, near_communes, search_communes
from loa.content.models import Attachment
from loa.units.models import Unit
from tests.loa.citizen.public_world import (  # type: ignore[import-not-found]
    APPROVED_PLAY,
    EMERGENCY,
    HIDDEN,
    OTHER_COMMUNE,
    PROVINCE_PUBLISHED,
    PUBLISHED,
    SECRET_EMAIL,
    SECRET_EXTRA,
    SECRET_READ_AS,
    PublicWorld,
    build,
)
from tests.loa.content.helpers import PEOPLE, Api, People  # type: ignore[import-not-found]
from tests.loa.test_permission_matrix import console_routes  # type: ignore[import-not-found]

pytestmark = pytest.mark.django_db

# what no public answer may hold: the unpublished bulletins' titles, the author's e-mail, internal fields
NEVER = (*HIDDEN.values(), SECRET_EMAIL, SECRET_READ_AS, SECRET_EXTRA, "op_a", "appr_a", "editor_p")
INTERNAL_KEYS = {"author_name", "author_pen_name", "author_email", "created_by", "updated_by", "published_by",
                 "read_as", "extras", "state", "receivers", "provenance", "actions", "note", "version"}  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    public_cache.clear()
    yield
    public_cache.clear()


@pytest.fixture
def people(
    tree: dict[str, Unit], make_user: Callable[..., Any], client_for: Callable[[Any], Client]
) -> People:
    """The people of the bulletin tests (tests/loa/content/helpers.py): operators, approvers, editors."""
    out = People(tree=tree)
    for key, (role, unit_key) in PEOPLE.items():
        user = make_user(key, role, tree[unit_key])
        out.api[key] = Api(client_for(user), user)
    return out


@pytest.fixture
def world(people: People, settings: Any, tmp_path: Path) -> PublicWorld:
    settings.MEDIA_ROOT = tmp_path / "media"
    return build(people, tmp_path)


def _public_urls(w: PublicWorld) -> list[str]:
    """Every public page (the app's URL patterns) and every public API operation, for every bulletin of the world
    (public or not) and for the commune."""
    attachment = Attachment.objects.filter(bulletin_id=w.ids["published"]).first()
    assert attachment is not None
    urls: set[str] = set()
    for _route, name, params in console_routes():
        if not name.startswith("citizen_public:"):
            continue
        for bid in w.ids.values():
            values = {"code": w.commune, "bulletin_id": bid, "attachment_id": attachment.pk}
            urls.add(reverse(name, kwargs={p: values[p] for p in params}))
    from loa.api.main import api

    for path in api.get_openapi_schema()["paths"]:
        if not path.startswith("/api/v1/public/"):
            continue
        for bid in w.ids.values():
            urls.add(path.format(code=w.commune, bulletin_id=bid))
    urls |= {"/api/v1/public/communes?q=ha+tu", "/api/v1/public/communes/near?lat=20.95&lon=107.07",
             "/congdan/?q=ha+tu", "/congdan/gan-toi/?lat=20.95&lon=107.07"}  # fmt: skip
    return sorted(urls)


def _walk_json(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _walk_json(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk_json(v)


def test_nothing_unpublished_or_personal_reaches_any_public_page_or_endpoint(world: PublicWorld) -> None:
    anonymous = Client()
    urls = _public_urls(world)
    assert len(urls) > 30
    answered = 0
    for url in urls:
        for lang in ("vi", "en"):
            r = anonymous.get(url, HTTP_ACCEPT_LANGUAGE=lang)
            assert r.status_code in (200, 302, 400, 404, 422), f"{url}: {r.status_code}"
            body = b"".join(r.streaming_content) if r.streaming else r.content
            text = body.decode("utf-8", "replace")
            for secret in NEVER:
                assert secret not in text, f"{url} ({lang}) shows {secret!r}"
            if r.get("Content-Type", "").startswith("application/json") and r.status_code == 200:
                keys = set(_walk_json(json.loads(body)))
                assert not keys & INTERNAL_KEYS, f"{url}: internal fields {keys & INTERNAL_KEYS}"
            answered += r.status_code == 200
    assert answered > 10
    # the positive side: the feed shows what is public, once, in both places
    page = anonymous.get(f"/congdan/xa/{world.commune}/").content.decode()
    feed = anonymous.get(f"/api/v1/public/communes/{world.commune}/feed").json()
    titles = [b["title"] for b in feed["bulletins"]]
    assert sorted(titles) == sorted([PUBLISHED, PROVINCE_PUBLISHED, EMERGENCY])
    for title in (PUBLISHED, PROVINCE_PUBLISHED, EMERGENCY, APPROVED_PLAY):
        assert title in page
    assert OTHER_COMMUNE not in page and OTHER_COMMUNE not in json.dumps(feed, ensure_ascii=False)
    assert [e["title"] for e in feed["emergencies"]] == [EMERGENCY]
    assert 'role="alert"' in page
    assert [p["title"] for p in feed["today"]] == [APPROVED_PLAY, APPROVED_PLAY]
    assert [p["start"] for p in feed["today"]] == ["00:00", "23:58"]


def test_every_bulletin_page_and_audio_is_public_only_while_published(world: PublicWorld) -> None:
    anonymous = Client()
    for key, bid in world.ids.items():
        public = key in ("published", "province", "emergency", "other_commune")
        page = anonymous.get(f"/congdan/ban-tin/{bid}/")
        api = anonymous.get(f"/api/v1/public/bulletins/{bid}")
        audio = anonymous.get(f"/congdan/ban-tin/{bid}/am-thanh.mp3")
        assert page.status_code == (200 if public else 404), key
        assert api.status_code == (200 if public else 404), key
        if not public:
            assert api.json()["error"]["code"] == "bulletin_not_public"
            assert audio.status_code == 404, key  # cancelled and expired ones had audio too
    bid = world.ids["published"]
    audio = anonymous.get(f"/congdan/ban-tin/{bid}/am-thanh.mp3", HTTP_RANGE="bytes=0-99")
    assert audio.status_code == 206 and audio["Content-Type"] == "audio/mpeg"
    data = anonymous.get(f"/api/v1/public/bulletins/{bid}").json()
    assert data["audio_url"] == f"/congdan/ban-tin/{bid}/am-thanh.mp3"
    image = anonymous.get(data["images"][0]["url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    # the same stored file the loudspeakers play
    from loa.content.models import Bulletin
    from loa.media.services import asset_file_path

    stored = asset_file_path(Bulletin.objects.get(pk=bid).audio_asset).read_bytes()
    assert b"".join(anonymous.get(f"/congdan/ban-tin/{bid}/am-thanh.mp3").streaming_content) == stored


def test_cancelling_takes_a_bulletin_off_the_feed_at_once(world: PublicWorld, people: People) -> None:
    anonymous = Client()
    url = f"/api/v1/public/communes/{world.commune}/feed"
    first = anonymous.get(url)
    assert PUBLISHED in first.content.decode()
    again = anonymous.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and "public" in first["Cache-Control"]
    public_cache.clear()  # another web process made its own copy later: same content, same ETag
    assert anonymous.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    status, data = people["op_a"].transition(world.ids["published"], "cancel")
    assert status == 200, data
    after = anonymous.get(url, HTTP_IF_NONE_MATCH=first["ETag"])  # the audit entry made the cache miss
    assert after.status_code == 200 and PUBLISHED not in after.content.decode()
    assert anonymous.get(f"/congdan/ban-tin/{world.ids['published']}/am-thanh.mp3").status_code == 404


def test_commune_search_with_and_without_diacritics(tree: dict[str, Unit]) -> None:
    from loa.citizen.public_feed import places

    places(refresh=True)
    assert fold("Phường Hà Tu") == "phuong ha tu" and fold("Đặc khu Vân Đồn") == "dac khu van don"
    for q in ("ha tu", "Hà Tu", "HA TU", "phuong ha", "06652"):
        assert [c["code"] for c in search_communes(q)][:1] == ["06652"], q
    assert search_communes("cao xanh")[0]["name"] == "Phường Cao Xanh"
    assert search_communes("zzz") == []
    r = Client().get("/api/v1/public/communes", {"q": "ha tu"})
    assert r.status_code == 200 and r.json()["items"][0]["province"] == "Quảng Ninh"
    assert "Phường Hà Tu" in Client().get("/congdan/", {"q": "ha tu"}).content.decode()


def test_near_me_matches_the_nearest_commune_by_its_clusters(tree: dict[str, Unit]) -> None:
    """Commune A has no position of its own, only a cluster in its zone; B has its reference point."""
    from loa.citizen.public_feed import places
    from loa.fleet.models import Device

    Unit.objects.filter(pk=tree["b"].pk).update(latitude=20.97, longitude=107.10)
    Device.objects.create(device_id="loa-00000000a0a0", unit=tree["zone_a"], serial="A-1",
                          latitude=20.9400, longitude=107.0600)  # fmt: skip
    places(refresh=True)
    assert [c["code"] for c in near_communes(20.9410, 107.0610)] == ["06652", "06658"]
    assert near_communes(20.9410, 107.0610)[0]["distance_km"] < 1
    assert [c["code"] for c in near_communes(20.9700, 107.1001)][:1] == ["06658"]
    r = Client().get("/api/v1/public/communes/near", {"lat": 20.941, "lon": 107.061})
    assert r.status_code == 200 and r.json()["items"][0]["code"] == "06652"
    assert Client().get("/api/v1/public/communes/near", {"lat": 200, "lon": 1}).status_code == 422


def test_the_app_is_installable_and_its_pages_need_no_sign_in(tree: dict[str, Unit]) -> None:
    anonymous = Client()
    manifest = anonymous.get("/congdan/manifest.webmanifest")
    data = manifest.json()
    assert data["display"] == "standalone" and data["start_url"].startswith("/congdan/")
    assert {"192x192", "512x512"} <= {i["sizes"] for i in data["icons"]}
    sw = anonymous.get("/congdan/sw.js")
    assert sw.status_code == 200 and "__SHELL__" not in sw.content.decode()
    assert sw["Service-Worker-Allowed"] == "/congdan/"
    home = anonymous.get("/congdan/").content.decode()
    assert 'rel="manifest"' in home and "/congdan/phan-anh/" in home and "/congdan/tham-do/" in home
    assert re.search(r"<button[^>]*data-subscribe", home)
    assert anonymous.get("/congdan/xa/99999/").status_code == 404
    # a code no unit can have is "not found" before the cache is asked (no street text becomes a cache key)
    for garbage in ("%C3%A7%F1%BC%AF%AE", "x" * 17, "06652%20", "a:b"):
        for url in (f"/congdan/xa/{garbage}/", f"/api/v1/public/communes/{garbage}/feed"):
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # Django's CacheKeyWarning would be an error here
                r = anonymous.get(url)
            assert r.status_code == 404, (url, r.status_code)
    english = anonymous.get("/congdan/ngon-ngu/", {"lang": "en", "next": "https://evil.example/"})
    assert english.status_code == 302 and english["Location"] == "/congdan/"
    assert Client().get("/congdan/ngon-ngu/").cookies == {}  # the bare address sets no language
    english = anonymous.get("/congdan/ngon-ngu/", {"lang": "en", "next": "/congdan/xa/06652/"})
    assert english.status_code == 302 and english["Location"] == "/congdan/xa/06652/"
    page = anonymous.get("/congdan/").content.decode()  # the cookie is sent back
    assert '<html lang="en">' in page and "Tiếng Việt" in page and "Tìm xã" not in page
