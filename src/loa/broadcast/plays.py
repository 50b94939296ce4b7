"""Every play on a unit's clusters in a time range, whatever started it — the one query behind the 24-hour plan,
the proof of play, its CSV and the dashboard.

A play is one **slot**: something meant to play at one time on some clusters. Two records make slots:

| started by | where it is recorded | planned on a cluster | what the cluster did |
|---|---|---|---|
| a schedule | the manifest revisions (``ManifestRevision``), one entry per programme item and session | the entry is in the cluster's manifest in force at its start | play logs with that ``manifest_entry_id`` |
| "Phát ngay" (:func:`loa.fleet.play.do_play_now`), a province priority bulletin played by itself (:mod:`loa.broadcast.handoffs`), an emergency (:mod:`loa.broadcast.emergency`) | a signed ``play`` command (``Command``) with one delivery per cluster | a delivery of the command | play logs with that ``command_id``, and the delivery's ack |

Who started it: a schedule's author; a command's issuer (``Phát ngay``); an emergency's sender; no person for a
province priority bulletin (``Tỉnh phát tự động``). Results per cluster: ``played`` (≥ 95 % of every repetition
heard), ``partly``, ``missed`` with a reason code (the protocol's, see :mod:`loa.labels`), or ``pending``.
A fixed number of queries whatever the number of slots and clusters (tested with a query budget).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import CharField, Count, Q
from django.db.models.functions import Cast
from django.utils import timezone

from loa.broadcast import proof
from loa.broadcast.handoffs import bulletin_item_id
from loa.broadcast.models import Emergency, ProgrammeItem, Schedule
from loa.broadcast.recurrence import LOCAL_TZ
from loa.exports import csv_document
from loa.labels import label
from loa.units.models import Level, Unit

# how long after its expected end an unanswered command play still counts as "not yet" rather than missed
REPORT_GRACE = dt.timedelta(minutes=10)
STATUSES = ("played", "partly", "missed", "pending")


@dataclass
class ClusterResult:
    device_id: str
    status: str
    reason: str = ""
    played_s: float = 0.0


@dataclass
class Slot:
    key: str  # the manifest entry id, or "c-<command id>"
    start: dt.datetime
    end: dt.datetime
    title: str
    origin: str  # schedule | play_now | province_auto | emergency | system (labels "origin")
    started_by: str = ""  # the person, when a person started it
    priority: int = 4
    schedule_id: int | None = None
    command_id: str = ""
    clusters: list[ClusterResult] = field(default_factory=list)  # with ``detail``
    tally: Counter[str] | None = None  # without ``detail``: clusters per status, counted by the database
    tally_reasons: Counter[str] | None = None
    cancelled: bool = False  # a cancelled emergency: what had not played yet never will, it is not pending

    @property
    def counts(self) -> dict[str, int]:
        if self.tally is not None:
            out = {s: self.tally.get(s, 0) for s in STATUSES} | {"planned": sum(self.tally.values())}
        else:
            c = Counter(r.status for r in self.clusters)
            out = {s: c.get(s, 0) for s in STATUSES} | {"planned": len(self.clusters)}
        if self.cancelled:
            out["pending"] = 0
        return out

    @property
    def reasons(self) -> list[tuple[str, int]]:
        """(reason code, clusters) of the missed and partly played, most frequent first."""
        if self.tally_reasons is not None:
            return self.tally_reasons.most_common()
        c = Counter(r.reason for r in self.clusters if r.status in ("missed", "partly") and r.reason)
        return c.most_common()

    @property
    def starter(self) -> str:
        """Who or what started it, in words: "Phát ngay — Nguyễn Văn An", "Tỉnh phát tự động"…"""
        what = label(self.origin, "origin")
        return f"{what} — {self.started_by}" if self.started_by else what

    @property
    def local_start(self) -> dt.datetime:
        return self.start.astimezone(LOCAL_TZ)

    @property
    def day(self) -> str:
        """The local day of its start, as the pages' ``since`` takes it."""
        return self.local_start.date().isoformat()


def local_day_range(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """``[since 00:00, until+1 00:00)`` in Asia/Ho_Chi_Minh, as aware datetimes."""
    start = dt.datetime.combine(since, dt.time.min, tzinfo=LOCAL_TZ)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=LOCAL_TZ)
    return start, end


def slots(
    unit: Unit,
    since: dt.datetime,
    until: dt.datetime,
    *,
    now: dt.datetime | None = None,
    schedule_id: int | None = None,
    key: str | None = None,
    detail: bool = True,
) -> list[Slot]:
    """Every slot of ``unit``'s subtree starting in ``[since, until)``, by start time; ``key`` keeps one slot.

    With ``detail`` each slot lists its clusters (the expand, the CSV); without, the database counts them and only
    the clusters with something to say (a refusal, an alarm, a failed delivery) are looked at one by one — the
    summary pages of a province of thousands of clusters."""
    now = now or timezone.now()
    out: list[Slot] = []
    if key is None or not key.startswith("c-"):
        out += _schedule_slots(unit, since, until, now, schedule_id, key, detail)
    if schedule_id is None and (key is None or key.startswith("c-")):
        out += _command_slots(unit, since, until, now, key, detail)
    out.sort(key=lambda s: (s.start, s.priority, s.key))
    return out


# --- scheduled plays ------------------------------------------------------------------------------------------


def _schedule_slots(
    unit: Unit,
    since: dt.datetime,
    until: dt.datetime,
    now: dt.datetime,
    schedule_id: int | None,
    key: str | None,
    detail: bool,
) -> list[Slot]:
    from loa.fleet.models import PlayLog

    sets = proof.planned_sets(unit.path, since, until, entry_id=key)
    if schedule_id is not None:
        sets = {k: v for k, v in sets.items() if v[0].get("schedule_id") == str(schedule_id)}
    if not sets:
        return []
    entries = {eid: e for eid, (e, _devices) in sets.items()}
    item_pks = {int(e["item_id"][3:]) for e in entries.values() if e["item_id"][:3] == "pi-" and e["item_id"][3:].isdecimal()}  # fmt: skip
    items = dict(ProgrammeItem.objects.filter(pk__in=item_pks).values_list("pk", "title"))
    schedules: dict[int, dict[str, Any]] = {
        s["pk"]: dict(s)
        for s in Schedule.objects.filter(
            pk__in={
                int(e["schedule_id"]) for e in entries.values() if str(e.get("schedule_id") or "").isdecimal()
            }
        ).values("pk", "title", "priority", "created_by__full_name", "created_by__username")
    }
    if detail:
        by_entry: dict[str, list[ClusterResult]] = defaultdict(list)
        for r in proof.report(unit, since, until, schedule_id=schedule_id, now=now, entry_id=key):
            by_entry[r.entry_id].append(ClusterResult(r.device_id, r.status, r.reason, r.played_s))
    else:
        logs = PlayLog.objects.filter(
            unit__path__startswith=unit.path,
            manifest_entry_id__in=list(entries),
            at__gte=since - proof.LOG_SLACK,
            at__lt=until + proof.LOG_SLACK,
        )
        plans = {}
        for eid, (e, devices) in sets.items():
            end = dt.datetime.fromisoformat(e["end"])
            plans[eid] = proof.Plan(len(devices), float(e["duration_s"]), dt.datetime.fromisoformat(e["start"]), end,
                               devices)  # fmt: skip
        tallies = proof.tally(
            plans, logs, "manifest_entry_id", now, offline=proof.offline_alarms(unit.path, since, until)
        )
    out = []
    for entry_id, e in entries.items():
        sid = int(e["schedule_id"]) if str(e.get("schedule_id") or "").isdecimal() else None
        s = schedules.get(sid or 0, {})
        item = items.get(int(e["item_id"][3:])) if e["item_id"][3:].isdecimal() else None
        title = s.get("title") or ""
        if item and item != title:
            title = f"{title} — {item}" if title else item
        slot = Slot(
            key=entry_id,
            start=dt.datetime.fromisoformat(e["start"]),
            end=dt.datetime.fromisoformat(e["end"]),
            title=title or e["item_id"],
            origin="schedule",
            started_by=s.get("created_by__full_name") or s.get("created_by__username") or "",
            priority=int(s.get("priority") or e.get("priority") or 4),
            schedule_id=sid,
        )
        if detail:
            slot.clusters = by_entry.get(entry_id, [])
        else:
            slot.tally, slot.tally_reasons = tallies[entry_id]
        out.append(slot)
    return out


# --- plays started by a command -------------------------------------------------------------------------------


def _ancestor_paths(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["".join(p + "/" for p in parts[:i]) for i in range(1, len(parts))]


def _command_slots(
    unit: Unit, since: dt.datetime, until: dt.datetime, now: dt.datetime, key: str | None, detail: bool
) -> list[Slot]:
    from loa.audit.models import AuditEntry
    from loa.fleet.models import Command, CommandDelivery, PlayLog

    commands = Command.objects.filter(
        action=Command.Action.PLAY, issued_at__gte=since, issued_at__lt=until
    ).filter(Q(unit__path__startswith=unit.path) | Q(unit__path__in=_ancestor_paths(unit.path)))
    if key is not None:
        try:
            commands = commands.filter(pk=uuid.UUID(key[2:]))
        except ValueError:
            return []
    cmds = list(
        commands.values(
            "id",
            "params",
            "issued_at",
            "expires_at",
            "issued_by__full_name",
            "issued_by__username",
            "unit__path",
        )
    )
    if not cmds:
        return []
    ids = [c["id"] for c in cmds]
    # command ids compared as text without dashes: no UUID built per row (thousands per province-wide play)
    deliveries_qs = CommandDelivery.objects.filter(
        command_id__in=ids, device__unit__path__startswith=unit.path
    ).annotate(cid=Cast("command_id", CharField()))
    logs = PlayLog.objects.filter(
        command_id__in=ids, unit__path__startswith=unit.path, at__gte=since - proof.LOG_SLACK
    ).annotate(cid=Cast("command_id", CharField()))
    deliveries: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    planned_n: dict[str, int] = {}
    acks: dict[tuple[str, str], tuple[str, str]] = {}
    alarm_pairs: set[tuple[str, str]] = set()
    offline = proof.offline_alarms(unit.path, min(c["issued_at"] for c in cmds), until)
    if detail:
        for cid, dev, state, ack_reason in deliveries_qs.values_list("cid", "device_id", "state", "reason"):
            deliveries[cid.replace("-", "")].append((str(dev), state, ack_reason))
        planned_n = {k: len(v) for k, v in deliveries.items()}
        heard = proof.heard_seconds(logs, "cid")
        reasons = proof.last_reasons(logs, "cid")
    else:
        for cid, n in deliveries_qs.order_by().values("cid").annotate(n=Count("id")).values_list("cid", "n"):
            planned_n[cid.replace("-", "")] = n
        for cid, dev, state, ack_reason in deliveries_qs.filter(
            Q(state__in=("refused", "failed", "expired")) | Q(device_id__in=list(offline))
        ).values_list("cid", "device_id", "state", "reason"):
            pair = (str(dev), cid.replace("-", ""))
            acks[pair] = (state, ack_reason)
            if str(dev) in offline:
                alarm_pairs.add(pair)
    emergencies = {
        e["command_id"]: e
        for e in Emergency.objects.filter(command_id__in=ids).values(
            "command_id", "title", "state", "created_by__full_name", "created_by__username"
        )
    }
    earliest = min(c["issued_at"] for c in cmds)
    titles: dict[str, str] = {}
    for object_id, data in AuditEntry.objects.filter(
        action="fleet.command_sent",
        at__gte=earliest - dt.timedelta(minutes=5),
        object_id__in=[str(i) for i in ids],
    ).values_list("object_id", "data"):
        if isinstance(data, dict) and data.get("title"):
            titles[object_id] = str(data["title"])
    bulletin_titles = _handoff_titles(unit, earliest, until)
    out = []
    plans: dict[str, proof.Plan] = {}
    for c in cmds:
        hexid = c["id"].hex
        if not planned_n.get(hexid):
            continue  # a command to another commune of the province, nothing here
        params = c["params"] or {}
        item_id = str(params.get("item_id", ""))
        duration = float(params.get("duration_s") or 0.0)
        repeat = max(1, int(params.get("repeat") or 1))
        person = c["issued_by__full_name"] or c["issued_by__username"] or ""
        emergency = emergencies.get(c["id"])
        if emergency is not None:
            origin, title = "emergency", emergency["title"]
            person = emergency["created_by__full_name"] or emergency["created_by__username"] or person
        elif person:
            origin, title = "play_now", titles.get(str(c["id"]), "")
        elif item_id in bulletin_titles:
            origin, title = "province_auto", bulletin_titles[item_id]
        else:
            origin, title = "system", titles.get(str(c["id"]), "")
        start = c["issued_at"]
        expected = duration * repeat
        open_until = max(c["expires_at"], start + dt.timedelta(seconds=expected)) + REPORT_GRACE
        slot = Slot(
            key=f"c-{c['id']}",
            start=start,
            end=start + dt.timedelta(seconds=expected),
            title=title or bulletin_titles.get(item_id, "") or item_id,
            origin=origin,
            started_by=person,
            priority=int(params.get("priority") or 4),
            command_id=str(c["id"]),
            cancelled=emergency is not None and emergency["state"] == Emergency.State.CANCELLED,
        )
        if detail:
            for device_id, state, ack_reason in deliveries[hexid]:
                k = (device_id, hexid)
                status, reason, played = proof.judge(
                    heard.get(k), reasons.get(k, ""), expected=expected, start=start, open_until=open_until,
                    now=now, offline=offline.get(device_id, []),
                )  # fmt: skip
                status, reason = proof.with_ack(
                    status, reason, heard.get(k), (state, ack_reason), "incomplete"
                )
                slot.clusters.append(ClusterResult(device_id, status, reason, round(played, 3)))
        else:
            plans[hexid] = proof.Plan(planned_n[hexid], expected, start, open_until)
        out.append(slot)
    if not detail and plans:
        forms = {
            k: [k, str(uuid.UUID(k))] for k in plans
        }  # the id as SQLite and as PostgreSQL cast it to text
        tallies = proof.tally(plans, logs, "cid", now, offline=offline, acks=acks, alarm_pairs=alarm_pairs,
                         partly_reason="incomplete", key_forms=forms, count_key="command_id")  # fmt: skip
        for slot in out:
            slot.tally, slot.tally_reasons = tallies[slot.command_id.replace("-", "")]
    return out


def _handoff_titles(unit: Unit, since: dt.datetime, until: dt.datetime) -> dict[str, str]:
    """Item id → title of the province priority bulletins handed to this unit's communes in the range."""
    from loa.content.models import BroadcastHandoff

    handoffs_ = (
        BroadcastHandoff.objects.filter(
            kind=BroadcastHandoff.Kind.PRIORITY,
            created_at__lt=until,
            created_at__gte=since - dt.timedelta(days=1),
        )
        .filter(Q(unit__path__startswith=unit.path) | Q(unit__path__in=_ancestor_paths(unit.path)))
        .select_related("bulletin")
        .only("bulletin__uid", "bulletin__title")
    )
    return {bulletin_item_id(h.bulletin): h.bulletin.title for h in handoffs_}


# --- clusters by name and zone, totals, CSV -------------------------------------------------------------------


@dataclass(frozen=True)
class Cluster:
    device_id: str
    name: str  # the cluster's name, else its id
    zone: str  # the thôn/bản/tổ dân phố it belongs to, "" when none
    commune: str


def clusters_of(unit: Unit, device_ids: Iterable[str] | None = None) -> dict[str, Cluster]:
    """Name, thôn and commune of the unit's clusters (one query). A cluster's thôn is its unit when that is a zone,
    as :attr:`loa.fleet.models.Device.zone` says."""
    from loa.fleet.models import Device

    qs = Device.objects.filter(unit__path__startswith=unit.path)
    if device_ids is not None:
        qs = qs.filter(device_id__in=list(device_ids))
    out = {}
    for d in qs.values("device_id", "name", "unit__name", "unit__level", "unit__parent__name"):
        in_zone = d["unit__level"] == Level.ZONE
        out[d["device_id"]] = Cluster(
            d["device_id"],
            d["name"] or d["device_id"],
            d["unit__name"] if in_zone else "",
            (d["unit__parent__name"] if in_zone else d["unit__name"]) or "",
        )
    return out


def totals(slots_: list[Slot]) -> dict[str, int]:
    out = dict.fromkeys((*STATUSES, "planned", "slots"), 0)
    for s in slots_:
        for k, n in s.counts.items():
            out[k] += n
    out["slots"] = len(slots_)
    return out


def to_csv(unit: Unit, slots_: list[Slot]) -> str:
    """One row per cluster per slot, with the slot's time, title and starter and the cluster's name and thôn."""
    names = clusters_of(unit, {r.device_id for s in slots_ for r in s.clusters})
    header = ["giờ dự kiến", "kết thúc dự kiến", "nội dung", "người/nguồn phát", "lịch", "cụm loa", "mã cụm loa",
              "thôn/tổ dân phố", "xã/phường", "kết quả", "lý do", "số giây đã phát"]  # fmt: skip
    rows = []
    for s in slots_:
        for r in s.clusters:
            c = names.get(r.device_id) or Cluster(r.device_id, r.device_id, "", "")
            rows.append([
                f"{s.start.astimezone(LOCAL_TZ):%d/%m/%Y %H:%M:%S}",
                f"{s.end.astimezone(LOCAL_TZ):%d/%m/%Y %H:%M:%S}",
                s.title, s.starter, s.schedule_id or "", c.name, c.device_id, c.zone, c.commune,
                label(r.status, "play_status"), label(r.reason, "reason") if r.reason else "",
                f"{r.played_s:.0f}",
            ])  # fmt: skip
    return csv_document(header, rows)
