"""Times sent to the API: offsets and years no clock shows are refused before they reach the database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from loa.accounts.models import ApiToken, User
from loa.accounts.roles import Role
from loa.units.models import Unit


@pytest.mark.parametrize(
    "since", ["0314-01-14T10:22:51-17:26", "1800-01-01T00:00:00Z", "2030-01-01T00:00:00+23:00"]
)
def test_impossible_times_in_a_query_are_a_422(
    since: str, tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    client = client_for(make_user("tinh", Role.PROVINCE_ADMIN, tree["province"]))
    r = client.get("/api/v1/fleet/playlogs", {"since": since})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error" and "since" in r.json()["error"]["message"]
    assert client.get("/api/v1/fleet/playlogs").status_code == 200, "the database is still usable afterwards"


def test_naive_times_are_read_in_vietnam(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    client = client_for(make_user("op", Role.COMMUNE_OPERATOR, tree["a"]))
    r = client.post(
        "/api/v1/accounts/tokens",
        {"name": "x", "scopes": ["*"], "expires_at": "2031-01-01T07:00:00"},
        content_type="application/json",
    )
    assert r.status_code == 201
    token = ApiToken.objects.get(pk=r.json()["id"])
    assert token.expires_at is not None and token.expires_at.isoformat() == "2031-01-01T00:00:00+00:00"
    r = client.post(
        "/api/v1/accounts/tokens",
        {"name": "y", "scopes": ["*"], "expires_at": "2031-01-01T07:00:00-17:26"},
        content_type="application/json",
    )
    assert r.status_code == 422 and "múi giờ" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        # pydantic alone reads a number as seconds since 1970; the schema says text, and so does the API
        ("/api/v1/bulletins", {"date_from": "8.224593631668227e-236"}, "date_from"),
        ("/api/v1/bulletins", {"date_to": "1700000000"}, "date_to"),
        ("/api/v1/bulletins", {"date_from": "2026-1-5"}, "date_from"),
        ("/api/v1/fleet/playlogs", {"since": "1700000000"}, "since"),
        ("/api/v1/fleet/playlogs", {"since": "0"}, "since"),
    ],
)
def test_numbers_where_a_day_or_a_time_is_due_are_a_422(
    path: str,
    params: dict[str, str],
    field: str,
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    client = client_for(make_user("tinh", Role.PROVINCE_ADMIN, tree["province"]))
    r = client.get(path, params)
    assert r.status_code == 422, r.content
    error = r.json()["error"]
    assert error["code"] == "validation_error" and field in error["message"] and "dạng" in error["message"]
    day = "2026-11-26" if field.startswith("date") else "2026-11-26T08:00:00+07:00"
    assert client.get(path, {field: day}).status_code == 200, "a real day still works"


@pytest.mark.parametrize("value", [0, 1700000000, 2.5, True])
def test_numbers_in_a_body_are_not_days_or_times(
    value: object,
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    client = client_for(make_user("op", Role.COMMUNE_OPERATOR, tree["a"]))
    r = client.post(
        "/api/v1/accounts/tokens",
        {"name": "x", "scopes": ["*"], "expires_at": value},
        content_type="application/json",
    )
    assert r.status_code == 422 and "expires_at" in r.json()["error"]["message"], r.content
    assert not ApiToken.objects.filter(name="x").exists()


@pytest.mark.parametrize("value", ["1", "0", "yes", "off", "t"])
def test_a_yes_or_no_in_a_query_is_true_or_false(
    value: str,
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    client = client_for(make_user("tinh", Role.PROVINCE_ADMIN, tree["province"]))
    r = client.get("/api/v1/fleet/devices", {"online": value})
    assert r.status_code == 422 and "online" in r.json()["error"]["message"], r.content
    assert client.get("/api/v1/fleet/devices", {"online": "true"}).status_code == 200
    assert client.get("/api/v1/fleet/devices", {"online": "False"}).status_code == 200
