"""Fixtures for bulletin tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.units.models import Unit
from tests.loa.content.helpers import PEOPLE, Api, People  # type: ignore[import-not-found]


@pytest.fixture
def people(
    tree: dict[str, Unit], make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> People:
    out = People(tree=tree)
    for key, (role, unit_key) in PEOPLE.items():
        user = make_user(key, role, tree[unit_key])
        out.api[key] = Api(client_for(user), user)
    return out
