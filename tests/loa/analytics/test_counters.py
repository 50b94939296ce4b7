"""On-ingest counters (issue 12 item 1): as the gateway stores play logs and status samples, today's rollup rows
move at once; a re-sent event is not counted twice; yesterday's late event is left to the rollup; and the rollup of
the day gives exactly the rows the counters built (idempotent with the rebuild), before and after more arrive. The
expected seconds are summed from the events the test sends, not read from the code."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone

from loa.analytics import counters, rollup
from loa.analytics.models import DailyStat, UnitDailyStat
from loa.broadcast import proof
from loa.fleet.models import Device
from loa.gateway.ingest import Incoming, Ingestor
from loa.gateway.sample_messages import playlog_event, playlog_payload, status_payload
from loa.units.models import Unit
from loa_protocol import topics

# (device index, kind, duration_s, days ago)
EVENTS = [
    (0, "start", None, 0),
    (0, "end", 300.0, 0),
    (0, "interrupted", 42.5, 0),
    (1, "end", 120.0, 0),
    (1, "refused", None, 0),
    (1, "end", 999.0, 1),  # yesterday's, uploaded late: the rollup's, not a counter's
]


def rows(day: dt.date, metric: str) -> tuple[dict[str, float], dict[int, float]]:
    device = dict(DailyStat.objects.filter(day=day, metric=metric).values_list("device_id", "value"))
    unit = dict(UnitDailyStat.objects.filter(day=day, metric=metric).values_list("unit_id", "value"))
    return device, unit


def test_counters_follow_ingest_and_agree_with_the_rollup(
    tree: dict[str, Unit], make_devices: Callable[[Unit, int], list[Device]]
) -> None:
    assert counters.HEARD_KINDS == proof.HEARD_KINDS
    devices = make_devices(tree["a"], 1) + make_devices(tree["b"], 1)
    now = timezone.now()
    Device.objects.update(enrolled_at=now - dt.timedelta(days=3))
    today = rollup.local_day(now)
    ingestor = Ingestor()
    events = [
        (
            devices[i],
            playlog_event(devices[i].device_id, kind=k, duration_s=s, at=now - dt.timedelta(days=ago)),
        )
        for i, k, s, ago in EVENTS
    ]
    batch = [
        Incoming(
            topics.playlog_topic(d.device_id),
            playlog_payload(d.device_id, [e for dd, e in events if dd == d]),
        )
        for d in devices
    ] + [Incoming(topics.status_topic(d.device_id), status_payload(d.device_id, ts=now)) for d in devices]
    ingestor.ingest_batch(batch)
    a, b = devices[0].device_id, devices[1].device_id
    assert rows(today, "airtime_s") == ({a: 342.5, b: 120.0}, {tree["a"].pk: 342.5, tree["b"].pk: 120.0})
    assert rows(today, "samples")[0] == {a: 1, b: 1}
    # the same upload again (a cluster re-sends after a lost ack): nothing moves
    ingestor.ingest_batch(batch[:2])
    assert rows(today, "airtime_s")[0] == {a: 342.5, b: 120.0}
    # the rollup of today recounts the raw rows and gives the same rows
    before = rows(today, "airtime_s"), rows(today, "samples")
    rollup.rollup_day(today, now=timezone.now())
    assert (rows(today, "airtime_s"), rows(today, "samples")) == before
    # more arrives after the rollup: the counters carry on from its rows, and a second rollup agrees again
    late = playlog_event(b, kind="end", duration_s=30.0, at=timezone.now())
    ingestor.ingest_batch([Incoming(topics.playlog_topic(b), playlog_payload(b, [late]))])
    assert rows(today, "airtime_s")[0] == {a: 342.5, b: 150.0}
    counted = rows(today, "airtime_s")
    rollup.rollup_day(today, now=timezone.now())
    assert rows(today, "airtime_s") == counted
    # yesterday's late event is the rollup's (no counter row was made for it)
    yesterday = today - dt.timedelta(days=1)
    assert rows(yesterday, "airtime_s")[0] == {}
    rollup.rollup_day(yesterday, now=timezone.now())
    assert rows(yesterday, "airtime_s")[0] == {b: 999.0}


def test_counters_of_a_large_batch_count_each_stored_event_once(
    tree: dict[str, Unit], make_devices: Callable[[Unit, int], list[Device]]
) -> None:
    """The batch's stored rows are read back by the batch's received_at: a batch of a thousand heard events, the
    same upload twice in one batch, and two devices sending the same event id (a careless or hostile firmware) are
    each counted exactly once per stored row, and the rollup agrees."""
    devices = make_devices(tree["a"], 3)
    now = timezone.now()
    today = rollup.local_day(now)
    ingestor = Ingestor()
    shared_id = playlog_event(devices[0].device_id).event_id
    expected: dict[str, float] = {}
    batch = []
    for n, device in enumerate(devices):
        events = [
            playlog_event(device.device_id, kind="end", duration_s=float(n + 1), at=now) for _ in range(350)
        ]
        events.append(playlog_event(device.device_id, kind="end", duration_s=7.0, at=now, event_id=shared_id))
        expected[device.device_id] = 350 * float(n + 1) + 7.0
        batch += [
            Incoming(
                topics.playlog_topic(device.device_id), playlog_payload(device.device_id, events[i : i + 50])
            )
            for i in range(0, len(events), 50)
        ]
    batch.append(batch[0])  # the first upload again in the same batch: already stored, not counted again
    ingestor.ingest_batch(batch)
    assert rows(today, "airtime_s")[0] == expected
    assert rows(today, "airtime_s")[1] == {tree["a"].pk: sum(expected.values())}
    rollup.rollup_day(today, now=timezone.now())
    assert rows(today, "airtime_s")[0] == expected
