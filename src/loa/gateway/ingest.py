"""Batch ingest of device messages: statuses, presence, play logs and command acks.

One call of :func:`ingest_batch` writes a whole batch in one transaction with bulk statements (never one
database write per message). Bad payloads are counted and logged and never raise. The caller acknowledges the
MQTT messages of a batch only after this function returned, that is after the transaction committed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from loa.analytics import counters
from loa.fleet import adapters, broker, conf
from loa.fleet.models import (
    Alarm,
    Command,
    CommandDelivery,
    DeliveryState,
    Device,
    DeviceKind,
    PlayLog,
    StatusSample,
)
from loa_protocol import topics
from loa_protocol.messages import CommandAck, ManifestAck, ProtocolError, Status, decode

log = logging.getLogger("loa.gateway")

# An ack whose command is not in the database yet is held this long (and at most this many), then dropped and counted
# (acks_unmatched): a command is stored before it is published, so only an ack of a command whose transaction is
# still committing — or a forged id — waits here.
EARLY_ACK_HOLD_S = 60.0
EARLY_ACK_MAX = 20_000


@dataclass
class Incoming:
    topic: str
    payload: bytes
    received_at: float = field(default_factory=time.time)


class Counters:
    """Thread-safe counters, shown in the console and written to ``GatewayState``."""

    def __init__(self) -> None:
        self._c: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._c[key] += n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._c)

    def __getitem__(self, key: str) -> int:
        with self._lock:
            return self._c[key]


@dataclass
class DeviceInfo:
    pk: int
    unit_id: int


class DeviceDirectory:
    """device_id → (pk, unit) for enrolled, non-revoked devices; unknown ids are re-checked after a while."""

    def __init__(self, negative_ttl_s: float = 30.0) -> None:
        self._known: dict[str, DeviceInfo] = {}
        self._unknown: dict[str, float] = {}
        self.negative_ttl_s = negative_ttl_s

    def resolve(self, ids: set[str]) -> dict[str, DeviceInfo]:
        now = time.monotonic()
        missing = {i for i in ids if i not in self._known and self._unknown.get(i, 0) < now}
        if missing:
            for pk, device_id, unit_id in Device.objects.filter(
                device_id__in=missing, revoked_at__isnull=True
            ).values_list("pk", "device_id", "unit_id"):
                self._known[device_id] = DeviceInfo(pk, unit_id)
                self._unknown.pop(device_id, None)
            for i in missing - set(self._known):
                self._unknown[i] = now + self.negative_ttl_s
        return {i: self._known[i] for i in ids if i in self._known}

    def forget(self, device_id: str) -> None:
        self._known.pop(device_id, None)


class _BadLog:
    """Log bad payloads without flooding: at most ``per_minute`` lines a minute."""

    def __init__(self, per_minute: int = 20) -> None:
        self.per_minute = per_minute
        self._window = 0
        self._n = 0

    def __call__(self, topic: str, code: str, message: str) -> None:
        window = int(time.monotonic() // 60)
        if window != self._window:
            self._window, self._n = window, 0
        self._n += 1
        if self._n <= self.per_minute:
            log.warning("gói tin bị bỏ qua trên %s [%s]: %s", topic[:200], code, message[:300])


@dataclass
class BatchResult:
    statuses: int = 0
    playlog_events: int = 0
    acks: int = 0
    presence: int = 0
    rejected: int = 0


class Ingestor:
    def __init__(self, counters: Counters | None = None, directory: DeviceDirectory | None = None) -> None:
        self.counters = counters or Counters()
        self.directory = directory or DeviceDirectory()
        self._last_sample: dict[str, float] = {}
        self._open_alarms: set[str] | None = None
        self._bad = _BadLog()
        self.adapter = adapters.get("loa")  # the loa/v1 topics carry Loa's own protocol
        # acks whose command is not stored yet, with when they first came (monotonic): tried again with each batch
        self._early_acks: list[tuple[float, CommandAck]] = []

    def _reject(self, topic: str, code: str, message: str) -> None:
        self.counters.add("rejected")
        self.counters.add(f"rejected.{code}")
        self._bad(topic, code, message)

    def ingest_batch(self, batch: list[Incoming]) -> BatchResult:
        result = BatchResult()
        statuses: dict[str, Status] = {}
        samples: list[Status] = []
        online: dict[str, bool] = {}
        events: list[Any] = []
        acks: list[CommandAck] = []
        manifest_acks: list[ManifestAck] = []
        parsed: list[tuple[str, str, Any]] = []
        for msg in batch:
            where = topics.parse_device_topic(msg.topic)
            if where is None:
                self._reject(msg.topic, "bad_topic", "chủ đề không thuộc giao thức v1")
                continue
            device_id, kind = where
            try:
                if kind == topics.PRESENCE:
                    text = msg.payload.decode("utf-8", errors="replace").strip().strip('"')
                    if text not in (topics.PRESENCE_ONLINE, topics.PRESENCE_OFFLINE):
                        raise ProtocolError("invalid", "trạng thái hiện diện phải là online hoặc offline")
                    value: Any = text
                elif kind == topics.STATUS:
                    value = self.adapter.decode_status(msg.payload)
                elif kind == topics.PLAYLOG:
                    value = self.adapter.decode_playlog(msg.payload)
                elif b'"manifest_version"' in msg.payload:  # a refused manifest (protocol.md §6)
                    value = decode(ManifestAck, msg.payload)
                else:
                    value = self.adapter.decode_ack(msg.payload)
            except ProtocolError as exc:
                self._reject(msg.topic, exc.code, exc.message)
                continue
            if kind != topics.PRESENCE and value.device_id != device_id:
                self._reject(msg.topic, "device_mismatch", "mã thiết bị trong gói tin khác mã trong chủ đề")
                continue
            parsed.append((device_id, kind, value))
        known = self.directory.resolve({d for d, _k, _v in parsed})
        now_mono = time.monotonic()
        interval = float(conf.get("LOA_STATUS_SAMPLE_INTERVAL_S"))
        for device_id, kind, value in parsed:
            if device_id not in known:
                self._reject(
                    f"{topics.PREFIX}/d/{device_id}/{kind}",
                    "unknown_device",
                    "thiết bị chưa đăng ký hoặc đã thu hồi",
                )
                continue
            if kind == topics.STATUS:
                statuses[device_id] = value
                online[device_id] = True
                if now_mono - self._last_sample.get(device_id, -1e18) >= interval:
                    self._last_sample[device_id] = now_mono
                    samples.append(value)
                result.statuses += 1
            elif kind == topics.PRESENCE:
                online[device_id] = value == topics.PRESENCE_ONLINE
                result.presence += 1
            elif kind == topics.PLAYLOG:
                events += [(device_id, e) for e in value.events]
                result.playlog_events += len(value.events)
            elif isinstance(value, ManifestAck):
                manifest_acks.append(value)
            else:
                acks.append(value)
                result.acks += 1
        if statuses or online or events or acks or manifest_acks or self._early_acks:
            with transaction.atomic():
                self._write_statuses(statuses, samples, known)
                self._write_presence(online, statuses)
                self._write_playlogs(events, known)
                hold = self._write_acks(acks)
                self._write_manifest_refusals(manifest_acks, statuses, known)
            self._early_acks = hold  # only once the batch committed (a failed batch is tried again whole)
        self.counters.add("statuses", result.statuses)
        self.counters.add("presence", result.presence)
        self.counters.add("playlog_events", result.playlog_events)
        self.counters.add("acks", result.acks)
        return result

    # ---- writers (inside the batch transaction) ----

    def _write_statuses(
        self, statuses: dict[str, Status], samples: list[Status], known: dict[str, DeviceInfo]
    ) -> None:
        if not statuses:
            return
        now = timezone.now()
        json_param = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
        # The table name and placeholders only; every value is a bound parameter.
        table = Device._meta.db_table
        sql = f"UPDATE {table} SET last_seen = %s, online = %s, offline_since = NULL, last_status = {json_param}, firmware = %s WHERE id = %s"  # noqa: S608
        rows = []
        for device_id, st in statuses.items():
            rows.append(
                (now, True, json.dumps(st.model_dump(mode="json")), st.firmware[:64], known[device_id].pk)
            )
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)
        if samples:
            StatusSample.objects.bulk_create(
                [
                    StatusSample(
                        device_id=s.device_id,
                        at=s.ts,
                        state=s.state,
                        volume=s.volume,
                        link=s.link,
                        signal_dbm=s.signal_dbm,
                        power=s.power,
                        battery_pct=s.battery_pct,
                        temperature_c=s.temperature_c,
                        storage_free_mb=s.storage_free_mb,
                        clock_offset_ms=s.clock_offset_ms,
                    )
                    for s in samples
                ],
                batch_size=1000,
            )
            counters.ingest_samples(
                [(s.device_id, known[s.device_id].unit_id, s.ts) for s in samples], now=now
            )

    def _open_alarm_ids(self) -> set[str]:
        if self._open_alarms is None:
            self._open_alarms = {
                str(d)
                for d in Alarm.objects.filter(cleared_at__isnull=True, kind=Alarm.Kind.OFFLINE).values_list(
                    "device_id", flat=True
                )
            }
        return self._open_alarms

    def _write_presence(self, online: dict[str, bool], statuses: dict[str, Status]) -> None:
        if not online:
            return
        now = timezone.now()
        up = [d for d, v in online.items() if v and d not in statuses]
        down = [d for d, v in online.items() if not v]
        if up:
            Device.objects.filter(device_id__in=up).update(online=True, offline_since=None, last_seen=now)
        if down:
            Device.objects.filter(device_id__in=down, online=True).update(online=False, offline_since=now)
        healed = [d for d, v in online.items() if v and d in self._open_alarm_ids()]
        if healed:
            Alarm.objects.filter(
                device_id__in=healed, cleared_at__isnull=True, kind=Alarm.Kind.OFFLINE
            ).update(cleared_at=now)
            self._open_alarm_ids().difference_update(healed)

    def _write_playlogs(self, events: list[Any], known: dict[str, DeviceInfo]) -> None:
        if not events:
            return
        now = timezone.now()
        PlayLog.objects.bulk_create(
            [
                PlayLog(
                    device_id=device_id,
                    event_id=e.event_id,
                    unit_id=known[device_id].unit_id,
                    kind=e.kind,
                    item_id=e.item_id[:100],
                    media_sha256=e.media_sha256 or "",
                    at=e.at,
                    offset_s=e.offset_s,
                    duration_s=e.duration_s,
                    priority=e.priority,
                    command_id=e.command_id,
                    schedule_id=(e.schedule_id or "")[:100],
                    manifest_entry_id=(e.manifest_entry_id or "")[:100],
                    reason=(e.reason or "")[:300],
                    received_at=now,
                )
                for device_id, e in events
            ],
            batch_size=500,
            ignore_conflicts=True,
        )
        # today's seconds heard, of the rows this batch stored (a re-sent event kept its first received_at): found by
        # the batch's received_at (indexed), so a batch reads its own rows only; a filter on the devices and the day
        # read every row of each device's day, and a batch cost more as the day filled up
        wanted = {(d, e.event_id) for d, e in events if e.kind in counters.HEARD_KINDS}
        if not wanted:
            return
        stored = {
            (key := (str(device_id), event_id)): (key[0], unit_id, kind, at, duration_s)
            for device_id, event_id, unit_id, kind, at, duration_s in PlayLog.objects.filter(
                received_at=now, kind__in=counters.HEARD_KINDS
            ).values_list("device_id", "event_id", "unit_id", "kind", "at", "duration_s")
            if (str(device_id), event_id) in wanted
        }
        counters.ingest_play_logs(stored.values(), now=now)

    def _write_acks(self, acks: list[CommandAck]) -> list[tuple[float, CommandAck]]:
        """Move each ack's delivery row on (``received`` never downgrades a final state), inside the batch's
        transaction. An ack is never lost because its row is not there yet (docs/gateway.md, "Acks before their
        row"): a device may ack a command before its delivery row is written (a command published before its rows,
        or a device the command reached that was not in the unit when it was issued); the row is then created from
        the ack when the command is stored and its topic is one the device subscribes to (a device cannot make
        itself a row for another unit's command). An ack whose command is not stored yet is returned to be held and
        tried again (up to :data:`EARLY_ACK_HOLD_S`)."""
        now_mono = time.monotonic()
        held = [(t, a) for t, a in self._early_acks if now_mono - t < EARLY_ACK_HOLD_S]
        if dropped := len(self._early_acks) - len(held):
            self.counters.add("acks_unmatched", dropped)
            log.warning(
                "%d xác nhận lệnh bị bỏ: sau %.0f giây vẫn không có lệnh nào như vậy",
                dropped,
                EARLY_ACK_HOLD_S,
            )
        first_seen = {id(a): t for t, a in held}
        acks = [a for _t, a in held] + acks
        if not acks:
            return []
        if self._update_deliveries(acks) == len(acks):
            return []  # every ack moved its row on: the common case costs nothing more
        wanted = {(a.command_id, a.device_id) for a in acks}
        have = set(
            CommandDelivery.objects.filter(
                command_id__in={c for c, _d in wanted}, device_id__in={d for _c, d in wanted}
            ).values_list("command_id", "device_id")
        )
        missing = [a for a in acks if (a.command_id, a.device_id) not in have]
        if not missing:
            return []
        topic_of = dict(
            Command.objects.filter(pk__in={a.command_id for a in missing}).values_list("pk", "topic")
        )
        path_of = dict(
            Device.objects.filter(device_id__in={a.device_id for a in missing}).values_list(
                "device_id", "unit__path"
            )
        )
        hold: list[tuple[float, CommandAck]] = []
        rows: dict[tuple[Any, str], CommandDelivery] = {}
        for a in missing:
            topic = topic_of.get(a.command_id)
            if topic is None:
                hold.append((first_seen.get(id(a), now_mono), a))
                continue
            path = path_of.get(a.device_id)
            if path is None or topic not in topics.device_subscriptions(
                a.device_id, broker.unit_codes_of(path)
            ):
                self.counters.add("acks_foreign")
                continue
            rows.setdefault(
                (a.command_id, a.device_id),
                CommandDelivery(command_id=a.command_id, device_id=a.device_id, state=DeliveryState.SENT),
            )
        if rows:
            CommandDelivery.objects.bulk_create(list(rows.values()), ignore_conflicts=True)
            self._update_deliveries([a for a in missing if (a.command_id, a.device_id) in rows])
            self.counters.add("acks_before_row", len(rows))
        if len(hold) > EARLY_ACK_MAX:
            self.counters.add("acks_unmatched", len(hold) - EARLY_ACK_MAX)
            hold = hold[-EARLY_ACK_MAX:]
        return hold

    def _update_deliveries(self, acks: list[CommandAck]) -> int:
        """The acks' state changes on existing rows, in order; returns how many rows changed."""
        now = timezone.now()
        pk_field = Command._meta.pk
        assert pk_field is not None
        table = CommandDelivery._meta.db_table
        rows: dict[str, list[tuple[Any, ...]]] = {"received": [], "final": []}
        for ack in acks:
            command_id = pk_field.get_db_prep_value(ack.command_id, connection)
            reason = (ack.reason or "")[:300]
            rows["received" if ack.status == "received" else "final"].append(
                (ack.status, reason, ack.at, now, command_id, ack.device_id)
            )
        changed = 0
        with connection.cursor() as cursor:
            if rows["received"]:
                cursor.executemany(
                    f"UPDATE {table} SET state = %s, reason = %s, acked_at = %s, updated_at = %s "  # noqa: S608
                    "WHERE command_id = %s AND device_id = %s AND state IN ('pending', 'sent')",
                    rows["received"],
                )
                changed += max(cursor.rowcount, 0)
            if rows["final"]:
                cursor.executemany(
                    f"UPDATE {table} SET state = %s, reason = %s, acked_at = %s, updated_at = %s "  # noqa: S608
                    "WHERE command_id = %s AND device_id = %s AND state IN ('pending', 'sent', 'received')",
                    rows["final"],
                )
                changed += max(cursor.rowcount, 0)
        return changed

    def retry_held_acks(self) -> int:
        """Try the held acks again without new messages (the gateway's periodic check); returns how many are still
        held."""
        if self._early_acks:
            with transaction.atomic():
                hold = self._write_acks([])
            self._early_acks = hold
        return len(self._early_acks)

    def _write_manifest_refusals(
        self, refusals: list[ManifestAck], statuses: dict[str, Status], known: dict[str, DeviceInfo]
    ) -> None:
        """A refused manifest raises one open alarm per device (its reason and version in the detail); a status
        reporting a manifest version at least as new clears it (the device took a good manifest after all)."""
        now = timezone.now()
        if statuses:
            cleared = []
            for alarm_id, device_id, detail in Alarm.objects.filter(
                kind=Alarm.Kind.MANIFEST_REFUSED, cleared_at__isnull=True, device_id__in=list(statuses)
            ).values_list("id", "device_id", "detail"):
                refused = re.search(r"phiên bản (\d+)", detail)
                version = statuses[str(device_id)].manifest_version
                if version is not None and (refused is None or version >= int(refused.group(1))):
                    cleared.append(alarm_id)
            if cleared:
                Alarm.objects.filter(id__in=cleared).update(cleared_at=now)
        for ack in refusals:
            detail = f"{ack.reason or 'unknown'} (phiên bản {ack.manifest_version or '?'})"
            updated = Alarm.objects.filter(
                device_id=ack.device_id, kind=Alarm.Kind.MANIFEST_REFUSED, cleared_at__isnull=True
            ).update(detail=detail)
            if not updated:
                Alarm.objects.create(
                    device_id=ack.device_id,
                    unit_id=known[ack.device_id].unit_id,
                    kind=Alarm.Kind.MANIFEST_REFUSED,
                    raised_at=now,
                    detail=detail,
                )
            log.warning("cụm loa %s từ chối lịch phát: %s", ack.device_id, detail)
        self.counters.add("manifest_refusals", len(refusals))

    # ---- periodic checks ----

    def check_offline(
        self, now: dt.datetime | None = None, listening_s: float | None = None
    ) -> tuple[int, int]:
        """Mark silent devices offline; raise an alarm for devices offline past the grace period. (Also tries the
        held acks again: this is the gateway's periodic check.)

        ``listening_s``: how long the gateway has heard the broker without a break (0 while it is away; None: not
        known, as long as needed). A loudspeaker talks through the broker, so it is silent only when the gateway
        has listened for the whole ``LOA_DEVICE_OFFLINE_AFTER_S``: a broker outage, or the first minutes after
        it, do not turn every cluster into an offline one with an alarm. Boards report over HTTPS and are judged
        as always."""
        self.retry_held_acks()
        now = now or timezone.now()
        offline_after = float(conf.get("LOA_DEVICE_OFFLINE_AFTER_S"))
        silent_before = now - dt.timedelta(seconds=offline_after)
        alarm_before = now - dt.timedelta(seconds=float(conf.get("LOA_OFFLINE_ALARM_AFTER_S")))
        with transaction.atomic():
            silent = Device.objects.filter(online=True, last_seen__lt=silent_before)
            if listening_s is not None and listening_s < offline_after:
                silent = silent.exclude(kind=DeviceKind.LOUDSPEAKER)
            went_offline = silent.update(online=False, offline_since=now)
            open_ids = self._open_alarm_ids()
            due = list(
                Device.objects.active()
                .filter(online=False, offline_since__lt=alarm_before)
                .exclude(device_id__in=open_ids)
                .values_list("device_id", "unit_id", "offline_since")
            )
            Alarm.objects.bulk_create(
                [
                    Alarm(
                        device_id=d,
                        unit_id=u,
                        kind=Alarm.Kind.OFFLINE,
                        raised_at=now,
                        detail=f"Mất kết nối từ {since.isoformat() if since else '?'}",
                    )
                    for d, u, since in due
                ]
            )
        open_ids.update(d for d, _u, _s in due)
        if due:
            log.warning("%d cụm loa mất kết nối quá thời gian cho phép: đã báo động", len(due))
        self.counters.add("offline_alarms", len(due))
        return went_offline, len(due)


def expire_deliveries(now: dt.datetime | None = None) -> int:
    """Commands past their expiry: unpublished ones are never sent; undelivered deliveries become expired."""
    now = now or timezone.now()
    with transaction.atomic():
        Command.objects.filter(state=Command.State.PENDING, expires_at__lte=now).update(
            state=Command.State.EXPIRED
        )
        return CommandDelivery.objects.filter(
            command__expires_at__lte=now, state__in=(DeliveryState.PENDING, DeliveryState.SENT)
        ).update(state=DeliveryState.EXPIRED, reason="Hết hạn trước khi thiết bị xác nhận", updated_at=now)


def mark_published(command_ids: list[Any]) -> None:
    now = timezone.now()
    with transaction.atomic():
        Command.objects.filter(pk__in=command_ids, state=Command.State.PENDING).update(
            state=Command.State.PUBLISHED, published_at=now
        )
        CommandDelivery.objects.filter(command_id__in=command_ids, state=DeliveryState.PENDING).update(
            state=DeliveryState.SENT, sent_at=now, updated_at=now
        )


def pending_commands(limit: int = 200) -> list[Command]:
    """Unpublished, unexpired commands, in sequence order within each topic."""
    now = timezone.now()
    rows = list(
        Command.objects.filter(state=Command.State.PENDING, expires_at__gt=now)
        .order_by("topic", "seq")
        .only("id", "topic", "seq", "message", "expires_at")[:limit]
    )
    return rows
