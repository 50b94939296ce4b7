"""The rules of docs/protocol.md a device is checked against, each with the section it comes from.

A rule sends the device a stimulus through the harness (an enrolment, a command, a manifest, a broker restart) and
judges only what the device sends back over the wire (acks, status, play logs, presence, HTTP requests): no rule
looks inside the device. Rules run in the order below against one enrolled device.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
import uuid
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from loa_protocol import topics
from loa_protocol.conformance.harness import Harness, utcnow
from loa_protocol.messages import (
    CommandAck,
    Manifest,
    ManifestAck,
    ManifestEntry,
    PlayLogEvent,
    Window,
    encode,
)
from loa_protocol.signing import sign, sign_command

ACK_WAIT_S = 8.0
POLL_WAIT_S = (
    30.0  # the device under test must poll its manifest at least this often (its run command sets it)
)
TIMEZONE = "Asia/Ho_Chi_Minh"


class Device(Protocol):
    def enrol(self, code: str) -> tuple[int, str]: ...
    def start(self) -> None: ...
    def running(self) -> bool: ...


@dataclass
class Context:
    harness: Harness
    device: Device
    enrolled_at: dt.datetime | None = None
    manifest_version: int = (
        100  # the rules after the manifest.* ones publish their own manifests from here up
    )

    def next_version(self) -> int:
        self.manifest_version += 1
        return self.manifest_version


@dataclass(frozen=True)
class Rule:
    id: str
    section: str
    title: str
    check: Callable[[Context], tuple[bool, str]]


# ---- helpers ---------------------------------------------------------------------------------------------


def _cmd_topic(h: Harness) -> str:
    return topics.device_command_topic(h.device_id)


def _send(h: Harness, payload: bytes, topic: str | None = None) -> int:
    mark = h.mark()
    h.publish(topic or _cmd_topic(h), payload)
    return mark


def _command(h: Harness, action: str, params: dict[str, Any], **kw: Any) -> Any:
    topic = kw.pop("topic", _cmd_topic(h))
    key = kw.pop("key", h.private_key)
    seq = kw.pop("seq", None) or h.next_seq(topic)
    return sign_command(key, topic=topic, seq=seq, action=action, params=params, **kw)


def _acks_of(h: Harness, mark: int, command_id: uuid.UUID | str) -> list[CommandAck]:
    return [a for a in h.acks(mark) if isinstance(a, CommandAck) and str(a.command_id) == str(command_id)]


def _wait_ack(h: Harness, mark: int, command_id: uuid.UUID | str, status: str) -> CommandAck | None:
    found = h.wait_for(
        lambda: next((a for a in _acks_of(h, mark, command_id) if a.status == status), None), ACK_WAIT_S
    )
    return found if isinstance(found, CommandAck) else None


def _refused(
    h: Harness, payload: bytes, command_id: Any, reason: str, topic: str | None = None
) -> tuple[bool, str]:
    mark = _send(h, payload, topic)
    ack = _wait_ack(h, mark, command_id, "refused")
    acted = [a.status for a in _acks_of(h, mark, command_id) if a.status in ("received", "done")]
    if acted:
        return False, f"thiết bị đã nhận/thực hiện lệnh ({', '.join(acted)}) thay vì từ chối"
    if ack is None:
        return False, f"không có ack 'refused' trong {ACK_WAIT_S:.0f} giây"
    if (ack.reason or "").split(":")[0].split(" ")[0] != reason:
        return False, f"từ chối với lý do {ack.reason!r}, cần {reason!r}"
    return True, f"refused: {ack.reason}"


def _manifest(h: Harness, version: int, **kw: Any) -> Manifest:
    now = utcnow()
    key = kw.pop("key", h.private_key)
    manifest = Manifest(
        device_id=kw.pop("device_id", h.device_id),
        version=version,
        generated_at=now,
        valid_from=now - dt.timedelta(minutes=1),
        valid_until=now + dt.timedelta(hours=48),
        entries=[],
    )
    return sign(manifest, key)


def _manifest_refused(h: Harness, manifest: Manifest, reason: str) -> tuple[bool, str]:
    mark = _send(h, encode(manifest), topics.manifest_topic(h.device_id))
    found = h.wait_for(
        lambda: next(
            (
                a
                for a in h.acks(mark)
                if isinstance(a, ManifestAck) and a.manifest_version == manifest.version
            ),
            None,
        ),
        ACK_WAIT_S,
    )
    if not isinstance(found, ManifestAck):
        return False, f"không có ManifestAck cho phiên bản {manifest.version} trong {ACK_WAIT_S:.0f} giây"
    if found.reason != reason:
        return False, f"từ chối với lý do {found.reason!r}, cần {reason!r}"
    return True, f"refused: {found.reason}"


# ---- the rules --------------------------------------------------------------------------------------------


def enrol_bad_code(ctx: Context) -> tuple[bool, str]:
    status, _output = ctx.device.enrol("SAI" + ctx.harness.good_code)
    valid = [r for r in ctx.harness.enrol_requests if r.get("valid")]
    if not valid:
        return False, "thiết bị không gửi yêu cầu đăng ký hợp lệ (EnrolRequest.schema.json)"
    if status == 0:
        return False, "mã sai mà lệnh đăng ký vẫn báo thành công (mã thoát 0)"
    return True, f"mã thoát {status}"


def enrol_good_code(ctx: Context) -> tuple[bool, str]:
    status, output = ctx.device.enrol(ctx.harness.good_code)
    if status != 0 or not ctx.harness.enrolled:
        return False, f"đăng ký bằng mã đúng không xong (mã thoát {status}): {output[-300:]}"
    ctx.enrolled_at = utcnow()
    ctx.device.start()
    return True, "đã nhận thông tin đăng nhập"


def presence_online(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    found = h.wait_for(lambda: [r for r in h.since(0, topics.PRESENCE) if b"online" in r.payload], 15)
    if not found:
        return False, "không thấy trạng thái 'online' trên chủ đề presence trong 15 giây"
    return True, "online"


def status_valid(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    found = h.wait_for(lambda: h.statuses(0), 15)
    raw = h.since(0, topics.STATUS)
    if raw and not found:
        return False, "trạng thái gửi lên không đúng Status.schema.json"
    if not found:
        return False, "không có bản tin trạng thái nào trong 15 giây"
    if found[-1].device_id != h.device_id:
        return False, f"device_id {found[-1].device_id} ≠ {h.device_id}"
    return True, f"{len(found)} bản tin trạng thái hợp lệ"


def command_accepted(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    command = _command(h, "volume", {"volume": 40})
    mark = _send(h, encode(command))
    received = _wait_ack(h, mark, command.id, "received")
    done = _wait_ack(h, mark, command.id, "done")
    if received is None or done is None:
        seen = [a.status for a in _acks_of(h, mark, command.id)]
        return False, f"cần ack received rồi done, thấy {seen}"
    return True, "received, done"


def refuses_unsigned(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    command = _command(h, "volume", {"volume": 41}).model_copy(update={"signature": ""})
    return _refused(h, encode(command), command.id, "unsigned")


def refuses_forged(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    command = _command(h, "volume", {"volume": 42}, key=h.other_private_key)
    return _refused(h, encode(command), command.id, "bad_signature")


def refuses_modified(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    command = _command(h, "volume", {"volume": 43})
    tampered = json.loads(encode(command))
    tampered["params"]["volume"] = 100
    return _refused(h, json.dumps(tampered).encode(), command.id, "bad_signature")


def refuses_wrong_topic(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    group = topics.group_command_topic(["99"])
    command = _command(h, "volume", {"volume": 44}, topic=group)
    return _refused(h, encode(command), command.id, "wrong_topic")


def refuses_expired(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    issued = utcnow() - dt.timedelta(minutes=20)
    command = _command(
        h, "volume", {"volume": 45}, issued_at=issued, expires_at=issued + dt.timedelta(minutes=5)
    )
    return _refused(h, encode(command), command.id, "expired")


def refuses_not_yet_valid(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    command = _command(h, "volume", {"volume": 46}, issued_at=utcnow() + dt.timedelta(minutes=10))
    return _refused(h, encode(command), command.id, "not_yet_valid")


def refuses_before_enrolment(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    issued = (ctx.enrolled_at or utcnow()) - dt.timedelta(hours=1)
    command = _command(
        h, "volume", {"volume": 47}, issued_at=issued, expires_at=utcnow() + dt.timedelta(hours=1)
    )
    return _refused(h, encode(command), command.id, "before_enrolment")


def refuses_replay(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    first = _command(h, "volume", {"volume": 48})
    mark = _send(h, encode(first))
    if _wait_ack(h, mark, first.id, "received") is None:
        return False, "lệnh hợp lệ đầu tiên không được nhận"
    again = _command(h, "volume", {"volume": 49}, seq=first.seq)  # a new id, the same seq on the same topic
    return _refused(h, encode(again), again.id, "replayed")


def refuses_invalid(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    command = _command(h, "volume", {"volume": 50})
    body = json.loads(encode(command))
    body["action"] = "shell"  # no such action in v1 (and the signature no longer matches: schema comes first)
    return _refused(h, json.dumps(body).encode(), command.id, "invalid")


def plays_media(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    item = f"conformance-{uuid.uuid4().hex[:8]}"
    params = {
        "item_id": item, "media_url": h.media_url(h.silence_sha256), "sha256": h.silence_sha256,
        "duration_s": 0.4, "priority": 3,
    }  # fmt: skip
    command = _command(h, "play", params)
    hits_before = len(h.http)
    mark = _send(h, encode(command))
    done = _wait_ack(h, mark, command.id, "done")
    fetched = [x for x in h.http[hits_before:] if h.silence_sha256 in x.path]
    if fetched and fetched[0].auth != (h.device_id, h.device_password):
        return False, "tải tệp không kèm thông tin đăng nhập của thiết bị (HTTP Basic)"
    if done is None:
        seen = [a.status + (f":{a.reason}" if a.reason else "") for a in _acks_of(h, mark, command.id)]
        return False, f"không có ack 'done' trong {ACK_WAIT_S:.0f} giây ({seen})"
    logs = h.wait_for(
        lambda: [e for b in h.playlogs(mark) for e in b.events if e.item_id == item and e.kind == "end"],
        ACK_WAIT_S,
    )
    if not logs:
        return False, "không có sự kiện 'end' trong nhật ký phát cho mục vừa phát"
    return True, "tải bằng HTTP Basic, done, nhật ký phát start/end"


def refuses_wrong_media(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    claimed = "0" * 63 + "1"
    h.media[f"alias:{claimed}"] = b"ID3 not the file the command names"
    params = {
        "item_id": "conformance-bad-file", "media_url": h.media_url(claimed), "sha256": claimed,
        "duration_s": 0.4, "priority": 3,
    }  # fmt: skip
    command = _command(h, "play", params)
    mark = _send(h, encode(command))
    failed = _wait_ack(h, mark, command.id, "failed")
    if any(a.status == "done" for a in _acks_of(h, mark, command.id)):
        return False, "thiết bị phát tệp có sha256 không khớp"
    if failed is None or (failed.reason or "") != "sha256_mismatch":
        return False, f"cần ack failed/sha256_mismatch, thấy {failed.reason if failed else None!r}"
    return True, "failed: sha256_mismatch"


def follows_manifest(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    manifest = _manifest(h, 5)
    h.manifest = encode(manifest)
    mark = _send(h, encode(manifest), topics.manifest_topic(h.device_id))
    # a new manifest changes what the device reports: its status carries the version it now follows
    found = h.wait_for(lambda: [s for s in h.statuses(mark) if s.manifest_version == 5], 15)
    if not found:
        return False, "trạng thái không báo manifest_version 5 trong 15 giây sau khi gửi lịch phát"
    return True, "manifest_version 5"


def manifest_refuses_forged(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    return _manifest_refused(h, _manifest(h, 6, key=h.other_private_key), "bad_signature")


def manifest_refuses_stale(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    return _manifest_refused(h, _manifest(h, 3), "stale_manifest")


def manifest_refuses_other_device(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    return _manifest_refused(h, _manifest(h, 7, device_id=topics.new_device_id()), "wrong_device")


def event_ids_unique(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    events = [e for b in h.playlogs(0) for e in b.events]
    if not events:
        return False, "chưa có sự kiện nhật ký phát nào để kiểm tra"
    ids = [str(e.event_id) for e in events]
    # an upload repeated after a lost PUBACK may carry the same event again (at-least-once): the same id must mean
    # the same event, and two different events never share an id
    by_id: dict[str, Any] = {}
    for e in events:
        key = str(e.event_id)
        if key in by_id and by_id[key] != e:
            return False, f"hai sự kiện khác nhau cùng event_id {key}"
        by_id[key] = e
    return True, f"{len(set(ids))} sự kiện, mỗi mã một sự kiện"


def reconnects(ctx: Context) -> tuple[bool, str]:
    h = ctx.harness
    h.broker.stop()
    h.broker.start()
    returned = h.mark()
    h.wait_for(lambda: h.client.is_connected(), 10)
    online = h.wait_for(lambda: [r for r in h.since(returned, topics.PRESENCE) if b"online" in r.payload], 10)
    if not online:
        return False, "thiết bị không kết nối lại (presence online) trong 10 giây sau khi broker trở lại"
    command = _command(h, "volume", {"volume": 52})
    mark = _send(h, encode(command))
    if _wait_ack(h, mark, command.id, "done") is None:
        return False, "sau khi kết nối lại, lệnh hợp lệ không được thực hiện"
    return True, "kết nối lại và nhận lệnh"


# ---- windows, ladder, volume cap, streams, poll, outage: helpers ----------------------------------------------


def _local_hhmm(at: dt.datetime, minutes: int = 0) -> str:
    local = (at + dt.timedelta(minutes=minutes)).astimezone(zoneinfo.ZoneInfo(TIMEZONE))
    return f"{local.hour:02d}:{local.minute:02d}"


def _away_from_minute_edge() -> dt.datetime:
    """Now, at least 5 s before the next minute: a window built on the current minute still means what the rule
    says when the device reads it."""
    now = utcnow()
    if now.second >= 52:
        time.sleep(60.5 - now.second - now.microsecond / 1e6)
        now = utcnow()
    return now


def _publish_manifest(ctx: Context, *, wait: bool = True, **fields: Any) -> tuple[Manifest | None, str]:
    """A new signed manifest (retained, and the same bytes on the HTTP poll), then wait until the device's status
    reports it. Returns the manifest, or None with why."""
    h = ctx.harness
    now = utcnow()
    version = ctx.next_version()
    manifest = sign(
        Manifest(
            device_id=h.device_id, version=version, generated_at=now, valid_from=now - dt.timedelta(minutes=1),
            valid_until=now + dt.timedelta(hours=48), timezone=TIMEZONE, **fields,
        ),
        h.private_key,
    )  # fmt: skip
    h.manifest = encode(manifest)
    mark = _send(h, h.manifest, topics.manifest_topic(h.device_id))
    if wait and not h.wait_for(lambda: [s for s in h.statuses(mark) if s.manifest_version == version], 15):
        return None, f"trạng thái không báo manifest_version {version} trong 15 giây"
    return manifest, ""


def _play(h: Harness, item: str, priority: int, duration_s: float, **extra: Any) -> Any:
    params: dict[str, Any] = {
        "item_id": item, "media_url": h.media_url(h.silence_sha256), "sha256": h.silence_sha256,
        "duration_s": duration_s, "priority": priority,
    }  # fmt: skip
    params.update(extra)
    return _command(h, "play", {k: v for k, v in params.items() if v is not None})


def _events(h: Harness, mark: int, item: str, kind: str | None = None) -> list[PlayLogEvent]:
    seen: dict[str, PlayLogEvent] = {}
    for batch in h.playlogs(mark):
        for e in batch.events:
            if e.item_id == item and (kind is None or e.kind == kind):
                seen.setdefault(str(e.event_id), e)
    return list(seen.values())


def _wait_event(
    h: Harness, mark: int, item: str, kind: str, timeout: float = ACK_WAIT_S
) -> PlayLogEvent | None:
    found = h.wait_for(lambda: _events(h, mark, item, kind), timeout)
    return found[0] if found else None


def _item(name: str) -> str:
    return f"conf-{name}-{uuid.uuid4().hex[:6]}"


def _refused_play(h: Harness, command: Any, reason: str) -> tuple[bool, str]:
    """A play the device's own rules stop (§6, after the checks): `received` may come first, `done` never."""
    mark = _send(h, encode(command))
    ack = _wait_ack(h, mark, command.id, "refused")
    if any(a.status == "done" for a in _acks_of(h, mark, command.id)) or _events(
        h, mark, command.params["item_id"], "start"
    ):
        return False, "thiết bị đã phát thay vì từ chối"
    if ack is None:
        return False, f"không có ack 'refused' trong {ACK_WAIT_S:.0f} giây"
    if (ack.reason or "").split(":")[0].split(" ")[0] != reason:
        return False, f"từ chối với lý do {ack.reason!r}, cần {reason!r}"
    return True, f"refused: {ack.reason}"


def _done_play(h: Harness, command: Any, timeout: float = ACK_WAIT_S) -> tuple[bool, str]:
    mark = _send(h, encode(command))
    found = h.wait_for(
        lambda: next(
            (a for a in _acks_of(h, mark, command.id) if a.status in ("done", "refused", "failed")), None
        ),
        timeout,
    )
    if not isinstance(found, CommandAck):
        return False, f"không có ack kết thúc cho {command.params['item_id']} trong {timeout:.0f} giây"
    if found.status != "done":
        return False, f"{command.params['item_id']}: ack {found.status}/{found.reason}, cần done"
    return True, "done"


# ---- windows, ladder, volume cap, streams, poll, outage: the rules ------------------------------------------


def windows_outside(ctx: Context) -> tuple[bool, str]:
    """§6, §9: a normal item while the windows are closed is refused `outside_window` — a manifest entry (a
    `refused` play-log event) and a play command (a `refused` ack) — and an emergency still plays."""
    h = ctx.harness
    now = _away_from_minute_edge()
    window = Window(start=_local_hhmm(now, 120), end=_local_hhmm(now, 180))  # opens in two hours
    entry = ManifestEntry(
        entry_id=f"conf-closed-{uuid.uuid4().hex[:6]}", start=now + dt.timedelta(seconds=3),
        end=now + dt.timedelta(seconds=60), item_id=_item("entry-closed"), media_url=h.media_url(h.silence_sha256),
        sha256=h.silence_sha256, duration_s=1.0, priority=4,
    )  # fmt: skip
    mark = h.mark()
    manifest, why = _publish_manifest(ctx, windows=[window], entries=[entry])
    if manifest is None:
        return False, why
    ok, detail = _refused_play(h, _play(h, _item("closed"), 4, 1.0), "outside_window")
    if not ok:
        return False, f"lệnh phát mục thường ngoài khung giờ {window.start}–{window.end}: {detail}"
    ok, detail = _done_play(h, _play(h, _item("em-closed"), 1, 0.5))
    if not ok:
        return False, f"khẩn cấp ngoài khung giờ phải phát (không bị khung giờ chặn): {detail}"
    refused = _wait_event(h, mark, entry.item_id, "refused")
    if _events(h, mark, entry.item_id, "start"):
        return (
            False,
            f"mục {entry.entry_id} của lịch phát được phát ngoài khung giờ {window.start}–{window.end}",
        )
    if refused is None or (refused.reason or "").split(":")[0] != "outside_window":
        found = refused.reason if refused else None
        return False, f"mục lịch phát ngoài khung giờ: cần sự kiện refused/outside_window, thấy {found!r}"
    return True, f"mục lịch phát và lệnh thường: outside_window ({window.start}–{window.end}); khẩn cấp: done"


def windows_end_exclusive(ctx: Context) -> tuple[bool, str]:
    """§9: a window is open from `start` up to, not including, `end`."""
    h = ctx.harness
    now = _away_from_minute_edge()
    ending = Window(start=_local_hhmm(now, -60), end=_local_hhmm(now))  # ends at the current minute
    if _publish_manifest(ctx, windows=[ending])[0] is None:
        return False, "trạng thái không báo lịch phát mới"
    ok, detail = _refused_play(h, _play(h, _item("at-end"), 4, 0.5), "outside_window")
    if not ok:
        return (
            False,
            f"khung {ending.start}–{ending.end}, lúc {_local_hhmm(now)}: end không tính vào khung ({detail})",
        )
    now = _away_from_minute_edge()
    starting = Window(start=_local_hhmm(now), end=_local_hhmm(now, 60))  # opens at the current minute
    if _publish_manifest(ctx, windows=[starting])[0] is None:
        return False, "trạng thái không báo lịch phát mới"
    ok, detail = _done_play(h, _play(h, _item("at-start"), 4, 0.5))
    if not ok:
        return (
            False,
            f"khung {starting.start}–{starting.end}, lúc {_local_hhmm(now)}: start tính vào khung ({detail})",
        )
    return True, f"{ending.start}–{ending.end}: refused; {starting.start}–{starting.end}: done"


def windows_whole_day(ctx: Context) -> tuple[bool, str]:
    """§9: `00:00–00:00` (end = start) is the whole day, and `[]` is no restriction."""
    h = ctx.harness
    results = []
    for windows in ([Window(start="00:00", end="00:00")], [Window(start="13:30", end="13:30")], []):
        if _publish_manifest(ctx, windows=windows)[0] is None:
            return False, "trạng thái không báo lịch phát mới"
        ok, detail = _done_play(h, _play(h, _item("whole-day"), 4, 0.5))
        label = f"{windows[0].start}–{windows[0].end}" if windows else "[]"
        if not ok:
            return False, f"khung {label} là cả ngày: mục thường phải phát ({detail})"
        results.append(label)
    return True, "cả ngày: " + ", ".join(results)


def ladder_preempts(ctx: Context) -> tuple[bool, str]:
    """§7: an emergency cuts a normal item off at once; the normal item resumes after it."""
    h = ctx.harness
    if _publish_manifest(ctx, windows=[])[0] is None:
        return False, "trạng thái không báo lịch phát mới"
    normal, emergency = _item("normal"), _item("em")
    mark = _send(h, encode(_play(h, normal, 4, 8.0)))
    if _wait_event(h, mark, normal, "start") is None:
        return False, "mục thường không bắt đầu phát"
    _send(h, encode(_play(h, emergency, 1, 1.0)))
    cut = _wait_event(h, mark, normal, "interrupted")
    started = _wait_event(h, mark, emergency, "start", 2.0)
    try:
        if cut is None:
            return (
                False,
                "khẩn cấp đến khi mục thường đang phát: mục thường không bị cắt (không có 'interrupted')",
            )
        if started is None or started.at < cut.at:
            return False, "khẩn cấp không bắt đầu ngay sau khi cắt mục thường"
        if not (cut.reason or "").startswith("preempted_by"):
            return False, f"lý do cắt {cut.reason!r}, cần preempted_by:<item>"
        resumed_events = h.wait_for(
            lambda: [e for e in _events(h, mark, normal, "start") if e.offset_s > 0], ACK_WAIT_S
        )
        if not resumed_events:
            return False, "mục thường không phát tiếp sau khẩn cấp"
    finally:
        _send(h, encode(_command(h, "stop", {"item_id": normal})))
    return (
        True,
        f"interrupted ({cut.reason}), khẩn cấp phát, mục thường phát tiếp từ {resumed_events[0].offset_s:.1f} s",
    )


def ladder_no_preempt(ctx: Context) -> tuple[bool, str]:
    """§7: a normal item arriving during an emergency waits for it; it never cuts it off."""
    h = ctx.harness
    if _publish_manifest(ctx, windows=[])[0] is None:
        return False, "trạng thái không báo lịch phát mới"
    emergency, normal = _item("em"), _item("normal")
    mark = _send(h, encode(_play(h, emergency, 1, 3.0)))
    if _wait_event(h, mark, emergency, "start") is None:
        return False, "khẩn cấp không bắt đầu phát"
    _send(h, encode(_play(h, normal, 4, 0.5)))
    end = _wait_event(h, mark, emergency, "end")
    start = _wait_event(h, mark, normal, "start")
    if _events(h, mark, emergency, "interrupted"):
        return False, "mục thường (4) cắt ngang khẩn cấp (1)"
    if end is None or start is None:
        return False, "khẩn cấp không phát hết hoặc mục thường không phát sau nó"
    if start.at < end.at:
        return (
            False,
            f"mục thường bắt đầu ({start.at:%H:%M:%S.%f}) trước khi khẩn cấp kết thúc ({end.at:%H:%M:%S.%f})",
        )
    return True, "mục thường chờ khẩn cấp phát hết rồi mới phát"


def volume_cap(ctx: Context) -> tuple[bool, str]:
    """§9: `max_volume` caps a `volume` command; an emergency plays above it at its own volume."""
    h = ctx.harness
    if _publish_manifest(ctx, windows=[], max_volume=30)[0] is None:
        return False, "trạng thái không báo lịch phát mới"
    command = _command(h, "volume", {"volume": 80})
    mark = _send(h, encode(command))
    if _wait_ack(h, mark, command.id, "done") is None:
        return False, "lệnh âm lượng 80 không được thực hiện (ack done)"
    idle = h.wait_for(lambda: [s for s in h.statuses(mark) if s.current_item is None], 15)
    if not idle:
        return False, "không có bản tin trạng thái sau lệnh âm lượng"
    if any(s.volume > 30 for s in h.statuses(mark) if s.current_item is None):
        return False, f"âm lượng báo {max(s.volume for s in idle)} > trần max_volume 30"
    emergency = _item("em-loud")
    mark = _send(h, encode(_play(h, emergency, 1, 2.0, volume=90)))
    loud = h.wait_for(lambda: [s for s in h.statuses(mark) if s.current_item == emergency], 10)
    _wait_event(h, mark, emergency, "end")
    if not loud:
        return False, "không có bản tin trạng thái khi khẩn cấp đang phát"
    if loud[0].volume != 90:
        return (
            False,
            f"khẩn cấp volume 90 phát ở {loud[0].volume} (khẩn cấp bỏ qua trần, phát ở âm lượng của nó)",
        )
    return True, f"lệnh 80 → {idle[-1].volume} (trần 30); khẩn cấp → {loud[0].volume}"


def streams(ctx: Context) -> tuple[bool, str]:
    """§4, §9: `kind: stream` plays an http(s) stream, never anything else (`stream_url_invalid`)."""
    h = ctx.harness
    if _publish_manifest(ctx, windows=[])[0] is None:
        return False, "trạng thái không báo lịch phát mới"
    for url in ("file:///etc/passwd", "rtsp://127.0.0.1/live", "http:// 127.0.0.1/x"):
        bad = _play(h, _item("bad-stream"), 4, 1.0, kind="stream", sha256=None, media_url=url)
        ok, detail = _refused_play(h, bad, "stream_url_invalid")
        if not ok:
            return False, f"luồng {url!r}: {detail}"
    item = _item("stream")
    good = _play(h, item, 4, 1.0, kind="stream", sha256=None, media_url=f"{h.server_url}/stream/vov1.aac")
    mark = h.mark()
    ok, detail = _done_play(h, good)
    if not ok:
        return False, f"luồng http hợp lệ: {detail}"
    if _wait_event(h, mark, item, "end", 2.0) is None:
        return False, "luồng đã phát không có 'end' trong nhật ký phát"
    return True, "file://, rtsp://, URL có khoảng trắng: stream_url_invalid; http: done"


def manifest_poll(ctx: Context) -> tuple[bool, str]:
    """§9: with the broker down, the device fetches its manifest over HTTP(S) with its credentials and takes it."""
    h = ctx.harness
    now = utcnow()
    version = ctx.next_version()
    manifest = sign(
        Manifest(device_id=h.device_id, version=version, generated_at=now, valid_from=now - dt.timedelta(minutes=1),
                 valid_until=now + dt.timedelta(hours=48), timezone=TIMEZONE),
        h.private_key,
    )  # fmt: skip
    h.broker.stop()
    try:
        h.manifest = encode(manifest)  # only on the poll: never published on MQTT
        stopped = time.monotonic()  # a poll before this instant may have fetched the previous manifest
        path = f"/api/v1/fleet/devices/{h.device_id}/manifest"
        polled = h.wait_for(
            lambda: [x for x in h.http if x.at > stopped and x.path == path and x.status == 200], POLL_WAIT_S
        )
    finally:
        h.broker.start()
    if not polled:
        return False, f"không lấy lịch phát qua HTTP trong {POLL_WAIT_S:.0f} giây khi broker ngừng"
    if polled[0].auth != (h.device_id, h.device_password):
        return False, "lấy lịch phát không kèm thông tin đăng nhập của thiết bị (HTTP Basic)"
    h.wait_for(lambda: h.client.is_connected(), 10)
    mark = h.mark()
    taken = h.wait_for(lambda: [s for s in h.statuses(mark) if s.manifest_version == version], 20)
    if not taken:
        return (
            False,
            f"đã tải lịch phát {version} qua HTTP nhưng trạng thái không báo nó sau khi broker trở lại",
        )
    return True, f"tải qua HTTP sau {polled[0].at - stopped:.1f} s, theo phiên bản {version}"


def playlog_after_outage(ctx: Context) -> tuple[bool, str]:
    """§8, §9: entries played from the cache while the broker is down are all uploaded when it is back, oldest
    first; an event repeated by an at-least-once upload is the same event."""
    h = ctx.harness
    now = utcnow()
    first = now + dt.timedelta(seconds=10)
    entries = [
        ManifestEntry(
            entry_id=f"conf-outage-{i}", start=first + dt.timedelta(seconds=2 * i),
            end=first + dt.timedelta(seconds=2 * i + 1.5), item_id=f"conf-outage-{uuid.uuid4().hex[:6]}-{i}",
            media_url=h.media_url(h.silence_sha256), sha256=h.silence_sha256, duration_s=1.0, priority=4,
        )
        for i in range(3)
    ]  # fmt: skip
    manifest, why = _publish_manifest(ctx, windows=[], entries=entries)
    if manifest is None:
        return False, why
    mark = h.mark()
    if utcnow() > first - dt.timedelta(seconds=1):
        return False, "thiết bị nhận lịch phát quá chậm để kịp ngừng broker trước mục đầu tiên"
    h.broker.stop()
    try:
        down = utcnow()
        h.wait_for(lambda: False, (entries[-1].end - utcnow()).total_seconds() + 3)
    finally:
        h.broker.start()
    outage = (utcnow() - down).total_seconds()
    wanted = {(e.item_id, kind) for e in entries for kind in ("start", "end")}

    def arrived() -> list[PlayLogEvent]:
        return [e for b in h.playlogs(mark) for e in b.events]

    h.wait_for(lambda: wanted <= {(e.item_id, e.kind) for e in arrived()}, 20)
    events = arrived()
    missing = wanted - {(e.item_id, e.kind) for e in events}
    if missing:
        return False, f"mất {len(missing)} sự kiện phát trong lúc mất kết nối: {sorted(missing)}"
    by_id: dict[str, PlayLogEvent] = {}
    firsts: list[PlayLogEvent] = []
    for e in events:
        key = str(e.event_id)
        if key in by_id:
            if by_id[key] != e:
                return False, f"hai sự kiện khác nhau cùng event_id {key}"
            continue
        by_id[key] = e
        firsts.append(e)
    ours = [e for e in firsts if (e.item_id, e.kind) in wanted]
    if len(ours) != len(wanted):
        return (
            False,
            f"{len(ours)} sự kiện khác nhau cho {len(wanted)} việc đã xảy ra (một việc, một event_id)",
        )
    if any(b.at < a.at for a, b in itertools.pairwise(ours)):
        order = ", ".join(f"{e.kind}@{e.at:%H:%M:%S.%f}"[:-3] for e in ours)
        return False, f"gửi không theo thứ tự cũ trước: {order}"
    return (
        True,
        f"broker ngừng {outage:.0f} s: {len(ours)} sự kiện, đủ, đúng thứ tự, mỗi sự kiện một event_id",
    )


RULES: list[Rule] = [
    Rule("enrol.bad_code", "§3", "Mã đăng ký sai: thiết bị báo lỗi, không coi là đã đăng ký", enrol_bad_code),
    Rule("enrol.good_code", "§3", "Mã đăng ký đúng: nhận và lưu thông tin đăng nhập", enrol_good_code),
    Rule("presence.online", "§2", "Kết nối và báo 'online' (giữ lại) trên chủ đề presence", presence_online),
    Rule("status.schema", "§8", "Bản tin trạng thái đúng lược đồ, đúng mã thiết bị", status_valid),
    Rule("command.accepted", "§4, §6", "Lệnh hợp lệ: ack received rồi done", command_accepted),
    Rule("command.unsigned", "§6 #5", "Từ chối lệnh không ký: unsigned", refuses_unsigned),
    Rule("command.forged", "§6 #6", "Từ chối lệnh ký bằng khóa khác: bad_signature", refuses_forged),
    Rule("command.modified", "§6 #6", "Từ chối lệnh bị sửa sau khi ký: bad_signature", refuses_modified),
    Rule("command.wrong_topic", "§6 #7", "Từ chối lệnh đăng lại sang chủ đề khác: wrong_topic", refuses_wrong_topic),
    Rule("command.not_yet_valid", "§6 #8", "Từ chối lệnh phát hành ở tương lai: not_yet_valid", refuses_not_yet_valid),
    Rule("command.expired", "§6 #9", "Từ chối lệnh hết hạn: expired", refuses_expired),
    Rule("command.before_enrolment", "§6 #10", "Từ chối lệnh từ trước khi đăng ký: before_enrolment", refuses_before_enrolment),
    Rule("command.replayed", "§6 #11", "Từ chối lệnh phát lại (seq cũ trên cùng chủ đề): replayed", refuses_replay),
    Rule("command.invalid", "§6 #4", "Từ chối lệnh sai lược đồ (hành động lạ): invalid", refuses_invalid),
    Rule("media.play", "§4, §6, §8", "Tải tệp bằng HTTP Basic, phát, ack done, nhật ký start/end", plays_media),
    Rule("media.sha256", "§6", "Tệp sai sha256: không phát, ack failed/sha256_mismatch", refuses_wrong_media),
    Rule("manifest.follow", "§9", "Theo lịch phát mới (manifest_version trong trạng thái)", follows_manifest),
    Rule("manifest.forged", "§6", "Từ chối lịch phát ký bằng khóa khác, báo ManifestAck", manifest_refuses_forged),
    Rule("manifest.stale", "§6", "Từ chối lịch phát cũ hơn, báo ManifestAck", manifest_refuses_stale),
    Rule("manifest.wrong_device", "§6", "Từ chối lịch phát của thiết bị khác, báo ManifestAck", manifest_refuses_other_device),
    Rule("playlog.event_ids", "§8", "Mỗi sự kiện nhật ký phát một event_id riêng", event_ids_unique),
    Rule("reconnect", "§2", "Kết nối lại sau khi broker khởi động lại, nhận lệnh tiếp", reconnects),
    Rule("windows.outside", "§6, §9", "Ngoài khung giờ: mục thường refused/outside_window, khẩn cấp vẫn phát", windows_outside),
    Rule("windows.end_exclusive", "§9", "Khung giờ gồm start, không gồm end", windows_end_exclusive),
    Rule("windows.whole_day", "§9", "Khung start = end (00:00–00:00) và [] là cả ngày", windows_whole_day),
    Rule("ladder.preempt", "§7", "Khẩn cấp cắt ngang mục thường, mục thường phát tiếp sau", ladder_preempts),
    Rule("ladder.no_preempt", "§7", "Mục thường không cắt ngang khẩn cấp, chờ nó phát xong", ladder_no_preempt),
    Rule("volume.cap", "§9", "Trần max_volume giới hạn lệnh âm lượng; khẩn cấp vượt trần", volume_cap),
    Rule("stream.kind", "§4, §9", "kind stream: chỉ phát http(s), còn lại refused/stream_url_invalid", streams),
    Rule("manifest.poll", "§9", "Broker ngừng: lấy lịch phát qua HTTP (Basic) và theo nó", manifest_poll),
    Rule("playlog.outage", "§8", "Phát từ bộ nhớ khi mất broker; gửi đủ, cũ trước, không trùng khi trở lại", playlog_after_outage),
]  # fmt: skip
