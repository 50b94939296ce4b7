"""The loopback push service (tests/push_service.py) and the settings that let Loa reach it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.push_service import PushService


@pytest.fixture
def push_service(settings: Any) -> Iterator[PushService]:
    with PushService() as service:
        settings.LOA_PUSH_SERVICE_HOSTS = ("127.0.0.1",)
        settings.LOA_PUSH_CA_FILE = service.ca_file
        settings.LOA_PUSH_RETRY_BASE_S = 0.01
        settings.LOA_PUSH_CONTACT = "mailto:kiem-thu@loa.invalid"
        yield service
