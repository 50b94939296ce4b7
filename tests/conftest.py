"""Shared fixtures: a small real unit tree (one province, communes A and B), users per role, clients."""

# ruff: noqa: E402  (the test clock starts before Django or anything else reads the time)

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent / "clock_site"))
import loa_test_clock  # LOA_TEST_CLOCK shifts the clock before anything reads it; docs/testing.md)

loa_test_clock.start()

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from loa.accounts.models import ApiToken, RoleAssignment, User
from loa.accounts.roles import Role
from loa.units.models import Kind, Level, Unit

PASSWORD = "Mat-khau-thu-nghiem-2026"


def pytest_report_header() -> str | None:
    return loa_test_clock.describe() if loa_test_clock.offset_from_env() is not None else None


@pytest.fixture(autouse=True)
def _fast_hashing(settings: Any) -> None:
    # Argon2 is what production uses (tested in tests/loa/accounts); other tests need speed, not hardness.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOA_JOBS_INLINE = True
    # the public app reads the audit stamp on every request (not once a second): each test has its own database
    settings.LOA_PUBLIC_STAMP_TTL_S = 0


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language (Vietnamese): Django's LocaleMiddleware leaves the last request's
    language active in the thread, so a test's English request made the next test's job messages English."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


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
        # A token acts under its user's two-factor rule: whoever holds a 2FA role has enrolled an authenticator.
        if user.needs_two_factor and not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            TOTPDevice.objects.create(user=user, name="test", confirmed=True)
        key = ApiToken.new_key()
        ApiToken.objects.create(
            user=user, name="test", prefix=key[:8], key_hash=ApiToken.hash_key(key), scopes=scopes or ["*"]
        )
        return key

    return make
