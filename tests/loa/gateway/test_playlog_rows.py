"""The gateway stores exactly what a device sent in a play log, field by field, on SQLite and PostgreSQL alike; an
event already stored, or sent twice in one batch, is stored once and keeps its first received_at."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from django.utils import timezone

from loa.fleet.models import Device, PlayLog
from loa.gateway.ingest import Incoming, Ingestor
from loa.gateway.sample_messages import playlog_event, playlog_payload
from loa.units.models import Unit
from loa_protocol import topics
from tests.loa.broadcast.conftest import make_devices  # type: ignore[import-not-found]  # noqa: F401


def test_a_stored_play_log_is_what_the_device_sent(
    tree: dict[str, Unit],
    make_devices: Callable[[Unit, int], list[Device]],  # noqa: F811 - the imported fixture
) -> None:
    device = make_devices(tree["a"], 1)[0]
    at = dt.datetime(2026, 12, 6, 1, 2, 3, 456789, tzinfo=dt.UTC)
    command_id = uuid.uuid4()
    full = playlog_event(
        device.device_id,
        kind="interrupted",
        item_id="khẩn-cấp-bão-số-9",
        media_sha256="b" * 64,
        at=at,
        offset_s=12.345,
        duration_s=30.5,
        priority=1,
        command_id=command_id,
        schedule_id="lịch-1",
        manifest_entry_id="entry-7",
        reason="preempted",
    )
    bare = playlog_event(device.device_id, kind="start", media_sha256=None, at=at)
    payload = playlog_payload(device.device_id, [full, bare])
    before = timezone.now()
    Ingestor().ingest_batch(
        [Incoming(topics.playlog_topic(device.device_id), payload)] * 2
    )  # twice in one batch
    Ingestor().ingest_batch([Incoming(topics.playlog_topic(device.device_id), payload)])  # and again later
    assert PlayLog.objects.count() == 2
    row = PlayLog.objects.get(event_id=full.event_id)
    assert (row.device_id, row.unit_id, row.kind, row.item_id, row.media_sha256) == (
        device.device_id,
        tree["a"].pk,
        "interrupted",
        "khẩn-cấp-bão-số-9",
        "b" * 64,
    )
    assert (row.at, row.offset_s, row.duration_s, row.priority, row.command_id) == (
        at,
        12.345,
        30.5,
        1,
        command_id,
    )
    assert (row.schedule_id, row.manifest_entry_id, row.reason) == ("lịch-1", "entry-7", "preempted")
    assert before <= row.received_at <= timezone.now()
    first_received = row.received_at
    other = PlayLog.objects.get(event_id=bare.event_id)
    assert (other.media_sha256, other.duration_s, other.command_id, other.schedule_id, other.reason) == (
        "",
        None,
        None,
        "",
        "",
    )
    assert other.received_at == first_received  # one batch, one received_at; the re-sends kept the first
