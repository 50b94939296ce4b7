"""`loa demo`'s seed: every printed login works, asks for TOTP where required, and shows its scope."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from django.test import Client
from django_otp.oath import totp

from loa.accounts.models import User
from loa.console.demo import do_seed_demo
from loa.units.models import Unit


@pytest.fixture
def seeded(db: Any) -> tuple[Unit, list[Any]]:
    return do_seed_demo("22")


def test_each_printed_login_works(seeded: tuple[Unit, list[Any]]) -> None:
    _province, logins = seeded
    assert len({login.password for login in logins}) == len(logins), "no two users share a password"
    roles = {login.role for login in logins}
    assert len(roles) >= 8, "one user per role"
    for login in logins:
        client = Client()
        r = client.post("/accounts/login/", {"username": login.username, "password": login.password})
        assert r.status_code == 302, f"{login.username} cannot sign in"
        r = client.get("/")
        assert r["Location"].startswith("/accounts/password/"), "the printed password is for one use"
        new = f"Mat-khau-rieng-{login.username}-2026"
        client.post("/accounts/password/", {"new_password1": new, "new_password2": new})
        r = client.get("/")
        if login.two_factor:
            assert r.status_code == 302 and r["Location"].startswith("/accounts/2fa/setup/"), login.username
            page = client.get(r["Location"]).content.decode()
            secret = re.search(r'id="otp-secret">([A-Z2-7]+)<', page)
            assert secret is not None
            key = base64.b32decode(secret.group(1) + "=" * (-len(secret.group(1)) % 8))
            assert client.post("/accounts/2fa/setup/", {"token": f"{totp(key):06d}"}).status_code == 200
            r = client.get("/")
        assert r.status_code == 200, f"{login.username} does not reach the console"
        assert "Tổng quan" in r.content.decode()


def test_reseeding_gives_new_one_time_passwords(seeded: tuple[Unit, list[Any]]) -> None:
    _province, first = seeded
    _province, second = do_seed_demo("22")
    assert {x.password for x in first}.isdisjoint({x.password for x in second})
    assert User.objects.filter(username__in=[x.username for x in first]).count() == len(first)
    for login in first:
        assert (
            Client()
            .post("/accounts/login/", {"username": login.username, "password": login.password})
            .status_code
            == 400
        )


def test_a_second_province_has_people_of_its_own_who_see_nothing_of_the_first(
    seeded: tuple[Unit, list[Any]], client_for: Any
) -> None:
    """Two provinces on one instance (a provider renting Loa): each province's people see only their province."""
    from loa.accounts.access import access_units
    from loa.console.demo import do_seed_second_province

    first, _logins = seeded
    second, logins = do_seed_second_province("46")
    assert {x.username for x in logins} == {"tinh2.quantri", "tinh2.bientap", "tinh2.duyet", "xa3.vanhanh"}
    User.objects.filter(username__in=["tinh2.quantri", "tinh.quantri"]).update(must_change_password=False)
    admin2 = User.objects.get(username="tinh2.quantri")
    admin1 = User.objects.get(username="tinh.quantri")
    assert not access_units(admin2, "unit.view").filter(path__startswith=first.path).exists()
    assert not access_units(admin1, "unit.view").filter(path__startswith=second.path).exists()
    commune_of_first = first.children.order_by("code").first()
    assert commune_of_first is not None
    assert client_for(admin2).get(f"/units/{commune_of_first.code}/").status_code == 404
    assert client_for(admin1).get(f"/units/{second.code}/").status_code == 404
    assert client_for(admin2).get(f"/units/{second.code}/").status_code == 200


def test_the_demo_has_published_bulletins_with_audio_to_read_and_play(
    seeded: tuple[Unit, list[Any]], client_for: Any
) -> None:
    """A new user finds bulletins at once: the province's notice in the demo communes' inboxes and the first
    commune's own notice, each approved by another person, published, with its TTS audio — offered by "Phát ngay"
    and read in the citizens' app; a second seed adds none."""
    from loa.content.demo import COMMUNE_NOTICE, PROVINCE_NOTICE
    from loa.content.models import Bulletin, FeedItem, State

    province, _logins = seeded
    published = Bulletin.objects.filter(state=State.PUBLISHED).select_related("origin_unit", "audio_asset")
    assert {b.title for b in published} == {PROVINCE_NOTICE["title"], COMMUNE_NOTICE["title"]}
    assert all(b.audio_asset is not None and (b.audio_asset.duration_s or 0) > 2 for b in published)
    commune = province.children.order_by("code").first()
    assert commune is not None
    assert FeedItem.objects.filter(bulletin__origin_unit=province, unit=commune).exists()  # in its inbox
    operator = User.objects.get(username="xa.vanhanh")
    User.objects.filter(pk=operator.pk).update(must_change_password=False)
    operator.refresh_from_db()
    form = client_for(operator).get("/fleet/commands/new/?action=play").content.decode()
    assert PROVINCE_NOTICE["title"] in form and COMMUNE_NOTICE["title"] in form
    feed = Client().get(f"/congdan/xa/{commune.code}/").content.decode()
    assert COMMUNE_NOTICE["title"] in feed
    do_seed_demo("22")
    assert Bulletin.objects.filter(state=State.PUBLISHED).count() == 2
