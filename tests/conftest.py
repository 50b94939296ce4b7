"""Shared fixtures: a small real unit tree (one province, communes A and B), users per role, clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from loa.accounts.models import ApiToken, RoleAssignment, User
from loa.accounts.roles import Role
from loa.units.models import Kind, Level, Unit

PASSWORD = "Mat-khau-thu-nghiem-2026"


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    # Argon2 is what production uses (tested in tests/loa/accounts); other tests need speed, not hardness.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOA_JOBS_INLINE = True


@pytest.fixture
def password() -> str:
    """The password every user made by ``make_user`` has."""
    return PASSWORD


@pytest.fixture
def tree(db: Any) -> dict[str, Unit]:
    """Province 22 (Quảng Ninh) with two real communes A and B, each with a zone; and another province."""
    province = Unit.objects.create(code="22", name="Quảng Ninh", kind=Kind.TINH, level=Level.PROVINCE)
    a = Unit.objects.create(
        code="06652", name="Phường Hà Tu", kind=Kind.PHUONG, level=Level.COMMUNE, parent=province
    )
    b = Unit.objects.create(
        code="06658", name="Phường Cao Xanh", kind=Kind.PHUONG, level=Level.COMMUNE, parent=province
    )
    za = Unit.objects.create(
        code="06652.001", name="Tổ dân phố 1", kind=Kind.TO_DAN_PHO, level=Level.ZONE, parent=a
    )
    zb = Unit.objects.create(
        code="06658.001", name="Tổ dân phố 5", kind=Kind.TO_DAN_PHO, level=Level.ZONE, parent=b
    )
    other = Unit.objects.create(code="46", name="Thành phố Huế", kind=Kind.THANH_PHO, level=Level.PROVINCE)
    other_commune = Unit.objects.create(
        code="19768", name="Phường Phú Xuân", kind=Kind.PHUONG, level=Level.COMMUNE, parent=other
    )
    return {
        "province": province,
        "a": a,
        "b": b,
        "zone_a": za,
        "zone_b": zb,
        "other": other,
        "other_commune": other_commune,
    }


@pytest.fixture
def make_user(db: Any) -> Callable[..., User]:
    def make(username: str, role: str | None = None, unit: Unit | None = None, **extra: Any) -> User:
        user = User.objects.create_user(username=username, password=PASSWORD, full_name=username, **extra)
        if role is not None:
            RoleAssignment.objects.create(
                user=user, role=role, unit=None if role == Role.SYSTEM_ADMIN else unit
            )
        return user

    return make


def verified_client(user: User) -> Client:
    """A client signed in as ``user``, with a confirmed TOTP device and a verified session."""
    client = Client()
    client.force_login(user)
    if user.needs_two_factor:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        session = client.session
        session["otp_device_id"] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    return verified_client


@pytest.fixture
def token_for(db: Any) -> Callable[..., str]:
    def make(user: User, scopes: list[str] | None = None) -> str:
        key = ApiToken.new_key()
        ApiToken.objects.create(
            user=user, name="test", prefix=key[:8], key_hash=ApiToken.hash_key(key), scopes=scopes or ["*"]
        )
        return key

    return make
