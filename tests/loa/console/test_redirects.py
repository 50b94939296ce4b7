"""Open redirects: every ``next`` the console follows stays on this site, whatever a link or form sends."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.units.models import Unit

PASSWORD = "Mat-khau-thu-nghiem-2026"  # what make_user gives (tests/conftest.py)
# "/\evil" is read by browsers as "//evil": a hand-made startswith("/") check lets it through.
OFFSITE = [
    "//evil.example/",
    "/\\evil.example/",
    "/\\/evil.example/",
    "https://evil.example/",
    "/\t/evil.example",
]


@pytest.mark.parametrize("target", OFFSITE)
def test_unit_picker_does_not_redirect_off_site(
    target: str, tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    console = client_for(make_user("op", Role.COMMUNE_OPERATOR, tree["a"]))
    response = console.post("/pick-unit/", {"unit": "06652", "next": target})
    assert response.status_code == 302 and response["Location"] == "/"


def test_unit_picker_returns_to_the_page_it_was_on(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    console = client_for(make_user("op", Role.COMMUNE_OPERATOR, tree["a"]))
    response = console.post("/pick-unit/", {"unit": "06652", "next": "/bulletins/?q=a&state=draft"})
    assert response["Location"] == "/bulletins/?q=a&state=draft"


@pytest.mark.parametrize("target", OFFSITE)
def test_sign_in_does_not_redirect_off_site(
    target: str, tree: dict[str, Unit], make_user: Callable[..., User]
) -> None:
    make_user("op", Role.COMMUNE_OPERATOR, tree["a"])
    response = Client().post("/accounts/login/", {"username": "op", "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert not urlsplit(response["Location"]).netloc and not response["Location"].startswith(("//", "/\\"))


def test_two_factor_keeps_the_whole_address_it_interrupted(
    tree: dict[str, Unit], make_user: Callable[..., User]
) -> None:
    """The page asked for (query string included) survives the detour, as one ``next`` value."""
    admin = make_user("tinh", Role.PROVINCE_ADMIN, tree["province"])
    browser = Client()
    browser.force_login(admin)
    response = browser.get("/bulletins/?q=a&next=https://evil.example/")
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["next"] == ["/bulletins/?q=a&next=https://evil.example/"]
