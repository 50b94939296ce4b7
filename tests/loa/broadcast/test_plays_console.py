"""Every play shows where the officer looks: a scheduled item, a "Phát ngay", a province priority bulletin played by
itself and an emergency appear in the commune's plan for today, its proof of play (one row per time slot, with who
or what started it, and counts that match the play logs), the expand by cluster name and thôn, the CSV (one row per
cluster per slot) and the dashboard.

The plays are made by the real services (signed commands, deliveries, real TTS); what the clusters did comes back
through the gateway's ingest of protocol messages (play logs and acks), as from real devices.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loa.accounts.models import User
from loa.accounts.roles import Role
from loa.broadcast import handoffs, plays
from loa.broadcast.compile import compile_manifests
from loa.broadcast.models import Emergency, Programme, Schedule
from loa.broadcast.recurrence import LOCAL_TZ, local_to_utc
from loa.content.models import BroadcastHandoff, Bulletin, Priority, State
from loa.fleet.models import Alarm, Command, CommandDelivery, Device, PlayLog
from loa.gateway.ingest import Incoming, Ingestor
from loa.units.models import Unit
from loa_protocol import topics
from loa_protocol.messages import CommandAck, PlayLogBatch, PlayLogEvent, encode
from loa_protocol.topics import new_device_id
from tests.loa.broadcast.conftest import totp_now
from tests.loa.fleet.helpers import (  # type: ignore[import-not-found]
    publish_province_bulletin_with_tts,
    send_from_console,
)


@pytest.fixture(autouse=True)
def after_the_morning_slots() -> Any:
    """These tests file plays at 00:01 today and read today's pages: run them at 12:00 Vietnam time today, when
    every such slot has ended, whatever hour the suite runs at (at 00:03 the 00:01 slot was still open)."""
    today = timezone.now().astimezone(LOCAL_TZ).date()
    with time_machine.travel(local_to_utc(today, dt.time(12, 0)), tick=True):
        yield


NAMES_A = ["Cụm loa chợ Hà Tu", "Cụm loa nhà văn hóa", "Cụm loa trường học"]
NAMES_ZONE = ["Cụm loa đầu tổ 1", "Cụm loa cuối tổ 1"]


def _devices(unit: Unit, names: list[str]) -> list[Device]:
    return Device.objects.bulk_create(
        [Device(device_id=new_device_id(), unit=unit, name=n, serial=f"P-{n}") for n in names]
    )


def _log(
    device: Device, kind: str, at: dt.datetime, *, item_id: str, duration: float | None = None,
    offset: float = 0.0, priority: int = 4, command_id: Any = None, entry_id: str = "", schedule_id: str = "",
    reason: str | None = None,
) -> PlayLogEvent:  # fmt: skip
    return PlayLogEvent(
        event_id=uuid.uuid4(), device_id=device.device_id, kind=kind, item_id=item_id, at=at, offset_s=offset,
        duration_s=duration, priority=priority, command_id=command_id, schedule_id=schedule_id or None,
        manifest_entry_id=entry_id or None, reason=reason,
    )  # fmt: skip


def _ingest(events: list[PlayLogEvent], acks: list[CommandAck] | None = None) -> None:
    """What the gateway does with the clusters' messages: one batch per device, through the protocol."""
    batch: list[Incoming] = []
    by_device: dict[str, list[PlayLogEvent]] = {}
    for e in events:
        by_device.setdefault(e.device_id, []).append(e)
    for device_id, evs in by_device.items():
        batch.append(
            Incoming(topics.playlog_topic(device_id), encode(PlayLogBatch(device_id=device_id, events=evs)))
        )
    for a in acks or []:
        batch.append(Incoming(topics.ack_topic(a.device_id), encode(a)))
    result = Ingestor().ingest_batch(batch)
    assert result.playlog_events == len(events)


def _ack(command_id: Any, device: Device, status: str, reason: str | None = None) -> CommandAck:
    return CommandAck(command_id=command_id, device_id=device.device_id, status=status, reason=reason,
                      at=timezone.now())  # fmt: skip


def _slots(html: str) -> dict[str, dict[str, Any]]:
    """The proof/plan table as {slot key: {origin, starter, counts…}} read from the page."""
    out: dict[str, dict[str, Any]] = {}
    for m in re.finditer(r'<tr data-slot="([^"]+)" data-origin="([^"]+)">(.*?)</tr>', html, re.S):
        row = m.group(3)
        starter = re.search(r"data-starter>([^<]*)<", row)
        counts = {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', row)}
        out[m.group(1)] = {"origin": m.group(2), "starter": starter.group(1) if starter else "", **counts}
    return out


@pytest.fixture
def day(
    tree: dict[str, Unit],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
    make_programme: Callable[..., Programme],
) -> dict[str, Any]:
    """Commune A's five clusters (three in the commune, two in its Tổ dân phố 1) and B's two; one play of each kind
    in A today, and what the clusters reported."""
    devices = _devices(tree["a"], NAMES_A) + _devices(tree["zone_a"], NAMES_ZONE)
    others = _devices(tree["b"], ["Cụm loa phường Cao Xanh 1", "Cụm loa phường Cao Xanh 2"])
    operator = make_user("op_a", Role.COMMUNE_OPERATOR, tree["a"])
    operator.full_name = "Nguyễn Văn An"
    operator.save()
    approver = make_user("appr_a", Role.APPROVER, tree["a"])
    approver.full_name = "Trần Thị Bình"
    approver.save()
    editor = make_user("editor_prov", Role.EDITOR, tree["province"])
    now = timezone.now()
    today = now.astimezone(LOCAL_TZ).date()

    # 1. a schedule: today 00:01, one item of 300 s, on the whole commune
    at = local_to_utc(today, dt.time(0, 1))
    programme = make_programme(tree["a"], "Bản tin sáng", (300.0,))
    s = Schedule.objects.create(unit=tree["a"], programme=programme, title="Bản tin sáng", kind="once",
                                times=["00:01"], start_date=today, created_by=operator)  # fmt: skip
    s.target_units.set([tree["a"]])
    compile_manifests(at - dt.timedelta(hours=1))
    entry_id = f"s{s.pk}-{at.astimezone(dt.UTC):%Y%m%dT%H%M%S}Z-0"
    item = f"pi-{programme.items.get().pk}"
    sched = {"item_id": item, "entry_id": entry_id, "schedule_id": str(s.pk)}
    events = [
        _log(devices[0], "start", at, **sched, duration=300),
        _log(devices[0], "end", at + dt.timedelta(seconds=300), **sched, offset=300, duration=300),
        _log(devices[1], "start", at, **sched, duration=300),
        _log(devices[1], "end", at + dt.timedelta(seconds=300), **sched, offset=300, duration=300),
        _log(devices[3], "start", at, **sched, duration=300),
        _log(devices[3], "interrupted", at + dt.timedelta(seconds=120), **sched, offset=120, duration=120,
             reason="preempted_by:em-1"),
        _log(devices[4], "refused", at, **sched, reason="outside_window"),
    ]  # fmt: skip  # devices[2] reports nothing

    # 2. "Phát ngay" of a published bulletin from the fleet's console form, by the operator (real TTS)
    notice = publish_province_bulletin_with_tts(tree, make_user, client_for, title="Lịch tiêm chủng")
    op = client_for(operator)
    r = send_from_console(op, {"unit": tree["a"].code, "action": "play", "bulletin_id": str(notice.pk)})
    assert r.status_code == 302, re.findall(r"msg-error[^>]*>([^<]*)", r.content.decode())
    play_now = Command.objects.get(issued_by=operator)
    p = play_now.params
    events += [
        e for d in devices[:4] for e in (
            _log(d, "start", now, item_id=p["item_id"], duration=p["duration_s"], command_id=play_now.id),
            _log(d, "end", now, item_id=p["item_id"], offset=p["duration_s"], duration=p["duration_s"],
                 command_id=play_now.id),
        )
    ]  # fmt: skip
    acks = [_ack(play_now.id, d, "done") for d in devices[:4]] + [
        _ack(play_now.id, devices[4], "refused", "expired")
    ]

    # 3. a province priority bulletin, handed to commune A and played by itself
    bulletin = Bulletin.objects.create(
        title="Lịch cắt điện ngày mai", body="Ủy ban nhân dân tỉnh thông báo lịch cắt điện ngày mai.",
        priority=Priority.PRIORITY, state=State.PUBLISHED, origin_unit=tree["province"], produced_at=now,
        published_at=now, created_by=editor, updated_by=editor,
    )  # fmt: skip
    BroadcastHandoff.objects.create(bulletin=bulletin, unit=tree["a"], kind=BroadcastHandoff.Kind.PRIORITY)
    assert handoffs.consume()["priority"] == 1
    auto = Command.objects.get(issued_by__isnull=True, params__item_id=handoffs.bulletin_item_id(bulletin))
    q = auto.params
    events += [
        e for d in devices for e in (
            _log(d, "start", now, item_id=q["item_id"], duration=q["duration_s"], priority=3, command_id=auto.id),
            _log(d, "end", now, item_id=q["item_id"], offset=q["duration_s"], duration=q["duration_s"], priority=3,
                 command_id=auto.id),
        )
    ]  # fmt: skip

    # 4. an emergency by the approver through the API, repeated twice; one cluster hears only the first
    appr = client_for(approver)
    body = {"unit": tree["a"].code, "text": "Cảnh báo lũ quét.", "repeat": 2, "totp": totp_now(approver)}
    r = appr.post("/api/v1/broadcast/emergencies", json.dumps(body), content_type="application/json")
    assert r.status_code == 201, r.content
    e = Emergency.objects.get()
    for d in devices:
        for _k in range(1 if d == devices[2] else 2):
            events += [
                _log(d, "start", now, item_id=e.item_id, duration=e.duration_s, priority=1, command_id=e.command_id),
                _log(d, "end", now, item_id=e.item_id, offset=e.duration_s, duration=e.duration_s, priority=1,
                     command_id=e.command_id),
            ]  # fmt: skip
    _ingest(events, acks)
    # the silent cluster of the schedule was offline since before 00:01
    Alarm.objects.create(device=devices[2], unit=tree["a"], kind=Alarm.Kind.OFFLINE, raised_at=at - dt.timedelta(hours=2),
                         cleared_at=at + dt.timedelta(minutes=30))  # fmt: skip
    return {"devices": devices, "others": others, "operator": operator, "approver": approver, "schedule": s,
            "entry_id": entry_id, "play_now": play_now, "auto": auto, "emergency": e, "bulletin": bulletin,
            "op": op, "tree": tree, "notice": notice}  # fmt: skip


def _expected(key: str, day: dict[str, Any]) -> dict[str, int]:
    """Counts of one slot straight from the play-log rows (not through the proof code): a cluster played when its
    "end" events cover every repetition, partly when it has an "interrupted" or fewer ends."""
    if key == day["entry_id"]:
        logs, repeat = PlayLog.objects.filter(manifest_entry_id=key), 1
    else:
        logs = PlayLog.objects.filter(command_id=uuid.UUID(key[2:]))
        repeat = int(Command.objects.get(pk=uuid.UUID(key[2:])).params.get("repeat") or 1)
    ends: dict[str, int] = {}
    for device_id in logs.filter(kind="end").values_list("device_id", flat=True):
        ends[device_id] = ends.get(device_id, 0) + 1
    played = {d for d, n in ends.items() if n >= repeat}
    partly = (set(ends) | set(logs.filter(kind="interrupted").values_list("device_id", flat=True))) - played
    planned = len(day["devices"])
    return {"planned": planned, "played": len(played), "partly": len(partly),
            "missed": planned - len(played) - len(partly)}  # fmt: skip


def test_every_play_appears_in_proof_plan_and_dashboard_with_its_starter(day: dict[str, Any]) -> None:
    op: Client = day["op"]
    html = op.get("/broadcast/proof/").content.decode()
    slots = _slots(html)
    keys = {
        day["entry_id"]: ("schedule", "Theo lịch — Nguyễn Văn An", "Bản tin sáng"),
        f"c-{day['play_now'].id}": ("play_now", "Phát ngay — Nguyễn Văn An", "Lịch tiêm chủng"),
        f"c-{day['auto'].id}": ("province_auto", "Tỉnh phát tự động", "Lịch cắt điện ngày mai"),
        f"c-{day['emergency'].command_id}": (
            "emergency",
            "Phát khẩn cấp — Trần Thị Bình",
            "Cảnh báo lũ quét.",
        ),
    }
    assert set(slots) == set(keys), slots
    for key, (origin, starter, title) in keys.items():
        assert slots[key]["origin"] == origin
        assert slots[key]["starter"] == starter
        assert title in html
        expected = _expected(key, day)
        got = {k: slots[key][k] for k in expected}
        assert got == expected, (origin, got, expected)
    # the reasons, in Vietnamese words, never the protocol's codes
    assert "ngoài khung giờ cho phép (1)" in html and "lệnh đã hết hạn (1)" in html
    assert "cụm loa mất kết nối (1)" in html
    # the page counts in the database; the expand judges cluster by cluster: they agree on every slot
    for key in keys:
        part = op.get("/broadcast/proof/slot/", {"key": key}, headers={"HX-Request": "true"}).content.decode()
        cells = re.findall(r'<td class="(played|partly|missed|pending)">', part)
        by_status = {s: cells.count(s) for s in ("played", "partly", "missed", "pending")}
        assert by_status == {s: slots[key][s] for s in by_status if s in slots[key]} | (
            {"pending": by_status["pending"]} if "pending" not in slots[key] else {}
        ), (key, by_status, slots[key])
    for english in ("outside_window", "preempted", "expired", "no_report", "idle", "mains", ">played<"):
        assert english not in html
    totals = {k: int(v) for k, v in re.findall(r'data-total="(\w+)">(\d+)<', html)}
    assert totals["planned"] == 20 and totals["slots"] == 4
    assert totals["played"] == sum(_expected(k, day)["played"] for k in keys)

    # in English: the same page, English words (the label table goes through the catalogue)
    en = op.get("/broadcast/proof/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Played automatically by the province" in en and "Started by" in en
    assert "outside the allowed hours (1)" in en and "the command had expired (1)" in en
    for vietnamese in ("Tỉnh phát tự động", "ngoài khung giờ", "Người/nguồn phát", "không phát"):
        assert vietnamese not in en

    # the plan for today and the next 24 hours holds the same four plays with their starters
    plan = _slots(op.get("/broadcast/plan/").content.decode())
    assert {k: v["starter"] for k, v in plan.items()} == {k: v[1] for k, v in keys.items()}
    # the dashboard: today's plays with planned / played / missed
    dash = op.get("/").content.decode()
    assert "data-today-plays" in dash
    dash_totals = dict(re.findall(r'<strong data-total="(\w+)">(\d+)</strong>', dash))
    assert dash_totals["planned"] == "20" and dash_totals["played"] == str(totals["played"])
    # "4 lượt phát · dự kiến 20" read as two counts of the same thing: the second is per cluster
    assert re.search(r"\d+</strong> lượt phát; tính theo cụm loa: dự kiến <strong", dash)
    assert "Tỉnh phát tự động" in dash and "Phát khẩn cấp — Trần Thị Bình" in dash

    # commune B sees none of A's plays
    b_op = Client()
    b_user = User.objects.create_user(username="op_b", password="x" * 20, full_name="op_b")
    from loa.accounts.models import RoleAssignment

    RoleAssignment.objects.create(user=b_user, role=Role.COMMUNE_OPERATOR, unit=day["tree"]["b"])
    b_op.force_login(b_user)
    assert _slots(b_op.get("/broadcast/proof/").content.decode()) == {}


def test_expand_shows_clusters_by_name_and_thon_and_the_csv_has_one_row_per_cluster_per_slot(
    day: dict[str, Any],
) -> None:
    op: Client = day["op"]
    key = day["entry_id"]
    part = op.get("/broadcast/proof/slot/", {"key": key}, headers={"HX-Request": "true"})
    assert part.status_code == 200
    text = part.content.decode()
    for name in NAMES_A + NAMES_ZONE:
        assert name in text
    assert text.count("Tổ dân phố 1") == 2  # the two clusters of the thôn/tổ dân phố
    assert "cụm loa mất kết nối" in text  # the silent cluster had an offline alarm
    assert "<html" not in text  # a fragment for the expand
    full = op.get("/broadcast/proof/slot/", {"key": key}).content.decode()
    assert "<html" in full and NAMES_A[0] in full  # without htmx, a page
    assert op.get("/broadcast/proof/slot/", {"key": "c-" + str(uuid.uuid4())}).status_code == 404

    r = op.get("/broadcast/proof/", {"format": "csv"})
    assert r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[5] == "cụm loa" and header[7] == "thôn/tổ dân phố"
    assert len(body) == 4 * 5  # four slots × five clusters of commune A
    pairs = {(row[2], row[6]) for row in body}
    assert len(pairs) == 20  # one row per cluster per slot
    assert {row[5] for row in body} == set(NAMES_A + NAMES_ZONE)
    assert not {d.device_id for d in day["others"]} & {row[6] for row in body}
    starters = {row[3] for row in body}
    assert {"Tỉnh phát tự động", "Phát ngay — Nguyễn Văn An", "Phát khẩn cấp — Trần Thị Bình"} <= starters
    zone_rows = [row for row in body if row[5] in NAMES_ZONE]
    assert {row[7] for row in zone_rows} == {"Tổ dân phố 1"}


def test_the_pages_cost_a_fixed_number_of_queries(
    day: dict[str, Any], make_programme: Callable[..., Programme], tree: dict[str, Unit]
) -> None:
    """No query per slot or per cluster: adding slots and clusters does not add queries."""
    op: Client = day["op"]

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert op.get(url).status_code == 200
        return len(ctx.captured_queries)

    urls = ["/broadcast/proof/", "/broadcast/plan/", "/", f"/broadcast/proof/slot/?key={day['entry_id']}"]
    before = [count(u) for u in urls]
    # more clusters, more schedules and more play-now commands
    more = _devices(tree["zone_a"], [f"Cụm loa thêm {i}" for i in range(6)])
    today = timezone.now().astimezone(LOCAL_TZ).date()
    for hh in ("00:02", "00:03", "00:04"):
        s = Schedule.objects.create(unit=tree["a"], programme=make_programme(tree["a"], f"Lịch {hh}"), title=hh,
                                    kind="once", times=[hh], start_date=today, created_by=day["operator"])  # fmt: skip
        s.target_units.set([tree["a"]])
    compile_manifests(local_to_utc(today, dt.time(0, 1)) - dt.timedelta(minutes=59))  # after the fixture's
    for _ in range(3):
        r = send_from_console(
            op, {"unit": tree["a"].code, "action": "play", "bulletin_id": str(day["notice"].pk)}
        )
        assert r.status_code == 302
    assert len(_slots(op.get("/broadcast/proof/").content.decode())) == 4 + 3 + 3
    assert len(more) == 6
    after = [count(u) for u in urls]
    assert after == before, dict(zip(urls, zip(before, after, strict=True), strict=True))


HOSTILE = '=HYPERLINK("http://lua-dao.example/x","Bấm vào đây")'


def test_the_csv_export_neutralises_formulas_and_a_device_reason_is_a_protocol_code(
    day: dict[str, Any],
) -> None:
    """Issue 20, item 5: a reason sent by a device (``=HYPERLINK(…)``) is stored as ``unknown`` by the gateway, and
    text typed by people (a cluster's name) that starts like a formula is exported as text, not run by Excel."""
    op: Client = day["op"]
    device = day["devices"][0]
    Device.objects.filter(pk=device.pk).update(name=HOSTILE)
    when = timezone.now()
    raw = {
        "v": 1,
        "device_id": device.device_id,
        "events": [
            {"v": 1, "event_id": str(uuid.uuid4()), "device_id": device.device_id, "kind": "refused",
             "item_id": "tay-chay", "at": when.isoformat(), "priority": 4, "reason": HOSTILE},
        ],
    }  # fmt: skip
    result = Ingestor().ingest_batch(
        [Incoming(topics.playlog_topic(device.device_id), json.dumps(raw).encode())]
    )
    assert result.playlog_events == 1
    assert PlayLog.objects.get(item_id="tay-chay").reason == "unknown"

    r = op.get("/broadcast/proof/", {"format": "csv"})
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert f"'{HOSTILE}" in cells, "the hostile name is exported, as text"
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_the_counted_summary_agrees_with_the_cluster_by_cluster_verdicts(
    tree: dict[str, Unit],
    make_devices: Callable[[Unit, int], list[Device]],
    make_programme: Callable[..., Programme],
) -> None:
    """The summary pages let the database count; the expand and the CSV judge each cluster. Same data, same
    counts and reasons — including a refused delivery after the command's window and a partly heard play."""
    devices = make_devices(tree["a"], 4)
    now = timezone.now()
    today = now.astimezone(LOCAL_TZ).date()
    at = local_to_utc(today, dt.time(0, 1))
    programme = make_programme(tree["a"], "Sáng", (300.0,))
    s = Schedule.objects.create(unit=tree["a"], programme=programme, title="Sáng", kind="once", times=["00:01"],
                                start_date=today)  # fmt: skip
    s.target_units.set([tree["a"]])
    compile_manifests(at - dt.timedelta(hours=1))
    sched = {"item_id": f"pi-{programme.items.get().pk}", "entry_id": f"s{s.pk}-{at:%Y%m%dT%H%M%S}Z-0"}
    events = [_log(d, "end", at, **sched, offset=300, duration=300) for d in devices[:2]]
    events.append(_log(devices[2], "refused", at, **sched, reason="outside_window"))
    # a command of today whose window is over; "3 hours ago" was yesterday when the suite ran at 00:30
    issued = max(now - dt.timedelta(hours=3), at)
    command = Command.objects.create(
        id=uuid.uuid4(), action="play", params={"item_id": "media-1", "duration_s": 10.0, "priority": 4},
        topic="loa/v1/g/22/06652/cmd", seq=1, unit=tree["a"], target_unit=tree["a"], message={},
        issued_at=issued, expires_at=issued + (now - issued) / 3,
    )  # fmt: skip
    for i, d in enumerate(devices):
        CommandDelivery.objects.create(command=command, device=d, state="refused" if i == 3 else "done",
                                       reason="expired" if i == 3 else "")  # fmt: skip
    events += [
        _log(devices[0], "end", now, item_id="media-1", duration=10.0, command_id=command.id),
        _log(devices[1], "end", now, item_id="media-1", duration=3.0, command_id=command.id),
    ]
    _ingest(events)
    since, until = plays.local_day_range(today, today)
    detail = {x.key: (x.counts, sorted(x.reasons)) for x in plays.slots(tree["a"], since, until, detail=True)}
    summary = {
        x.key: (x.counts, sorted(x.reasons)) for x in plays.slots(tree["a"], since, until, detail=False)
    }
    assert summary == detail
    assert detail[f"c-{command.id}"] == (
        {"played": 1, "partly": 1, "missed": 2, "pending": 0, "planned": 4},
        [("expired", 1), ("incomplete", 1), ("no_report", 1)],
    )
    assert detail[sched["entry_id"]][1] == [("no_report", 1), ("outside_window", 1)]
