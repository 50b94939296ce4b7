"""Windows that together cover the whole day (issue 8, defect 2): the compiled manifest must let the real agent core
play a normal entry. They used to be written ``00:00–00:00``, which the server read as always open and the agent as
never open, so every normal entry was refused on the device as ``outside_window``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.broadcast.compile import manifest_payload
from loa.broadcast.models import Programme
from loa.broadcast.recurrence import local_to_utc
from loa.fleet import keys
from loa.fleet.services import do_provision_device
from loa.units.models import Unit
from loa_agent.core import AgentCore
from loa_agent.player import NullPlayer
from loa_agent.playlog import MemoryPlayLogStore

API = "/api/v1/broadcast"
TOMORROW = dt.date.today() + dt.timedelta(days=1)


def post(client: Client, path: str, data: dict[str, Any]) -> Any:
    return client.post(API + path, json.dumps(data), content_type="application/json")


@pytest.fixture
def world(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    make_programme: Callable[..., Programme],
) -> dict[str, Any]:
    device, _password = do_provision_device(tree["a"], actor=None, serial="HT-NGAY")
    return {
        "device": device,
        "admin": client_for(make_user("so-vhttdl", Role.PROVINCE_ADMIN, tree["province"])),
        "operator": client_for(make_user("can-bo-ha-tu", Role.COMMUNE_OPERATOR, tree["a"])),
        "approver": client_for(make_user("chu-tich-ha-tu", Role.APPROVER, tree["a"])),
        "news": make_programme(tree["a"], "Bản tin sáng", (120.0,)),
        "night": make_programme(tree["a"], "Tiếp sóng đêm", (7 * 3600.0,)),
    }


def schedule(client: Client, programme: Programme, at: str, **over: Any) -> Any:
    data = {"unit": "06652", "programme_id": programme.pk, "target_units": ["06652"], "title": programme.title,
            "kind": "once", "start_date": TOMORROW.isoformat(), "times": [at], **over}  # fmt: skip
    return post(client, "/schedules", data)


def play_on_the_agent(device_id: str, start: dt.datetime) -> list[tuple[str, str, str | None]]:
    """The real agent core receives the signed manifest and runs its clock through ``start``."""
    core = AgentCore(device_id, keys.public_key(), NullPlayer(), MemoryPlayLogStore(),
                     media_lookup=lambda sha: Path("/dev/null"))  # fmt: skip
    payload = manifest_payload(device_id)
    assert payload is not None
    assert core.receive_manifest(payload, start - dt.timedelta(minutes=1)) is not None, "manifest refused"
    core.tick(start - dt.timedelta(seconds=1))
    core.tick(start)
    return [(e.kind, e.item_id, e.reason) for e in core.history]


def test_a_province_whose_windows_cover_the_day_plays_at_0315(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    r = world["admin"].put(f"{API}/guardrails/22", json.dumps({"windows": [["22:00", "05:00"], ["05:00", "22:00"]]}),
                           content_type="application/json")  # fmt: skip
    assert r.status_code == 200, r.content
    with django_capture_on_commit_callbacks(execute=True):
        r = schedule(world["operator"], world["news"], "03:15")
    assert r.status_code == 201, r.content  # the whole day is allowed: no override needed
    history = play_on_the_agent(world["device"].device_id, local_to_utc(TOMORROW, dt.time(3, 15)))
    assert [(kind, reason) for kind, _item, reason in history] == [("start", None)]


def test_an_overnight_override_merged_into_the_default_window_keeps_normal_entries_playing(
    world: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        night = schedule(world["approver"], world["night"], "22:00",
                         override_reason="Tiếp sóng đêm theo chỉ đạo của tỉnh trong mùa mưa bão")  # fmt: skip
        assert night.status_code == 201, night.content
        assert [v["code"] for v in night.json()["violations"]] == ["outside_window"]
        news = schedule(world["operator"], world["news"], "06:00")
        assert news.status_code == 201, news.content
    # 22:00–05:00 (the override) + 05:00–22:00 (the default) = the whole day
    history = play_on_the_agent(world["device"].device_id, local_to_utc(TOMORROW, dt.time(6, 0)))
    assert [(kind, reason) for kind, _item, reason in history] == [("start", None)]
