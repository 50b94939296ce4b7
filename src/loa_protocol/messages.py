"""Pydantic models of every protocol v1 message.

Every message carries ``v: 1``; unknown fields are refused; datetimes must carry a time zone and are normalised to
UTC (a naive datetime is refused). Use :func:`decode` to turn a payload from the wire into a model with a clear
Vietnamese error and a machine-readable code when it is bad.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from loa_protocol.ladder import PlayClass
from loa_protocol.topics import DEVICE_ID_RE
from loa_protocol.windows import HHMM_RE as WINDOW_HHMM_RE

MAX_PAYLOAD_BYTES = 256 * 1024
MAX_PLAYLOG_EVENTS = 500
# Device-side limits (protocol.md §1): a device must accept a command up to MAX_COMMAND_BYTES and a manifest up to
# MAX_MANIFEST_BYTES, and refuses anything larger as ``too_large``; the server never sends more.
MAX_COMMAND_BYTES = 16 * 1024
MAX_MANIFEST_BYTES = 1024 * 1024


def _to_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
DeviceId = Annotated[str, Field(pattern=DEVICE_ID_RE.pattern, examples=["loa-3f9a0c12b7e4"])]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Priority = Annotated[int, Field(ge=1, le=4, description="1 emergency, 2 live, 3 priority bulletin, 4 normal")]
Volume = Annotated[int, Field(ge=0, le=100)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
HHMM_RE = WINDOW_HHMM_RE

# Why a device refused, cut short or failed something (play-log ``reason`` and command-ack ``reason``): one of these
# codes, optionally followed by ":" or " " and a plain argument (``preempted_by:em-1a2b``, ``repeat 2/3``).
# Anything else a device sends is stored as ``unknown``: a reason is shown on pages and exported to spreadsheets,
# so free text from a device (``=HYPERLINK(…)``) must never reach them.
REASON_CODES = frozenset(
    {
        # the agent's player and ladder (loa_agent.core)
        "outside_window", "window_closed", "preempted", "preempted_by", "live_busy", "stopped", "cancelled",
        "next", "resumed", "repeat", "media_missing", "stream_url_invalid", "interrupted", "incomplete", "error",
        "not_supported",  # an action this kind of device does not have (a board action sent to a loudspeaker)
        # checks of signed commands and manifests (loa_protocol.signing)
        "unsigned", "bad_signature", "expired", "not_yet_valid", "replayed", "wrong_topic", "wrong_device",
        "stale_manifest", "invalid", "too_large", "malformed_json", "unsupported_version", "before_enrolment",
        # media downloads (loa_agent.media)
        "download_failed", "sha256_mismatch", "media_forbidden",
        # what the server stores for anything else
        "unknown",
    }
)  # fmt: skip
_REASON_CODE_RE = re.compile(r"^([a-z][a-z0-9_]{0,63})")
_REASON_RE = re.compile(r"^([a-z][a-z0-9_]{0,63})(?:[: ]([A-Za-z0-9][A-Za-z0-9._:/-]{0,199}))?$")


def normalise_reason(value: Any) -> str | None:
    """A reason code of :data:`REASON_CODES` with its plain argument; a known code followed by anything else is
    cut to the code; anything else is ``unknown``. ``None`` and ``""`` are ``None``."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        return "unknown"
    code = _REASON_CODE_RE.match(value)
    if code is None or code.group(1) not in REASON_CODES:
        return "unknown"
    return value if _REASON_RE.match(value) else code.group(1)


ReasonCode = Annotated[Annotated[str, Field(max_length=270)] | None, BeforeValidator(normalise_reason)]

# the play classes of the ladder (loa_protocol.ladder.PlayClass), under their older names
PRIORITY_EMERGENCY = PlayClass.EMERGENCY
PRIORITY_LIVE = PlayClass.LIVE
PRIORITY_BULLETIN = PlayClass.PRIORITY
PRIORITY_NORMAL = PlayClass.NORMAL


class Message(BaseModel):
    """Base of every message: protocol version 1, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = 1


# --- enrolment (HTTPS POST /api/v1/fleet/enrol) -------------------------------------------------------------


class EnrolRequest(Message):
    code: Annotated[str, Field(min_length=4, max_length=64, description="one-time enrolment code")]
    serial: ShortText
    imei: Annotated[str | None, Field(pattern=r"^[0-9]{14,16}$")] = None
    vendor: ShortText
    model: ShortText
    firmware: ShortText


class EnrolResponse(Message):
    device_id: DeviceId
    mqtt_url: Annotated[str, Field(pattern=r"^mqtts?://[^/\s:]+(:[0-9]{1,5})?/?$")]
    mqtt_username: str
    mqtt_password: str
    server_public_key: Annotated[str, Field(description="base64 of the raw 32-byte Ed25519 public key")]
    unit_codes: Annotated[list[str], Field(min_length=1, description="unit codes from the root to the leaf")]
    subscriptions: list[str]
    media_base_url: str
    manifest_url: str


# --- device → server ----------------------------------------------------------------------------------------


class Status(Message):
    device_id: DeviceId
    ts: UtcDatetime
    uptime_s: Annotated[int, Field(ge=0)]
    state: Literal["idle", "playing", "paused", "stopped"]
    current_item: str | None = None
    priority: Priority | None = None
    volume: Volume
    link: Literal["ethernet", "wifi", "4g", "3g", "fm", "unknown"] = "unknown"
    signal_dbm: Annotated[int, Field(ge=-150, le=0)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    power: Literal["mains", "battery", "solar", "unknown"] = "unknown"
    battery_pct: Annotated[int, Field(ge=0, le=100)] | None = None
    temperature_c: Annotated[float, Field(ge=-60, le=150)] | None = None
    storage_free_mb: Annotated[int, Field(ge=0)] | None = None
    firmware: ShortText
    clock_offset_ms: int | None = None
    manifest_version: Annotated[int, Field(ge=0)] | None = None


PlayLogKind = Literal["start", "end", "interrupted", "refused", "error"]


class PlayLogEvent(Message):
    event_id: Annotated[UUID, Field(description="generated by the device; the server ingests each once")]
    device_id: DeviceId
    kind: PlayLogKind
    item_id: Annotated[str, Field(min_length=1, max_length=200)]
    media_sha256: Sha256 | None = None
    at: UtcDatetime
    offset_s: Annotated[float, Field(ge=0)] = 0.0
    duration_s: Annotated[float, Field(ge=0)] | None = None
    priority: Priority
    command_id: UUID | None = None
    schedule_id: str | None = None
    manifest_entry_id: str | None = None
    reason: ReasonCode = None


class PlayLogBatch(Message):
    device_id: DeviceId
    events: Annotated[list[PlayLogEvent], Field(min_length=1, max_length=MAX_PLAYLOG_EVENTS)]

    @model_validator(mode="after")
    def _same_device(self) -> PlayLogBatch:
        for event in self.events:
            if event.device_id != self.device_id:
                raise ValueError("mọi sự kiện trong lô phải thuộc cùng thiết bị gửi lô")
        return self


AckStatus = Literal["received", "done", "refused", "failed"]


class CommandAck(Message):
    command_id: UUID
    device_id: DeviceId
    status: AckStatus
    reason: ReasonCode = None
    at: UtcDatetime


# --- server → device ----------------------------------------------------------------------------------------

Action = Literal[
    "play",
    "stop",
    "pause",
    "resume",
    "next",
    "volume",
    "reboot",
    "refresh_manifest",
    # e-bulletin boards only (fetched over HTTPS by the board, never published to clusters; protocol.md "Boards")
    "reload",
    "screen_on",
    "screen_off",
    "brightness",
    "screenshot",
    "kill_switch",
]
BOARD_ACTIONS = frozenset({"reload", "screen_on", "screen_off", "brightness", "screenshot", "kill_switch"})


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MediaKind = Literal["file", "stream"]
MEDIA_KIND_DOC = (
    "file (default): media_url is a file the device downloads and checks against sha256 before playing it from its "
    "cache; stream: media_url is an http(s) live stream (a relay of VOV or the provincial station) played for "
    "duration_s, never downloaded, no sha256"
)
# Fields added after v1 was first published: left out of the wire form (and so of the signed canonical form) while
# they hold their default, so a file item is byte-for-byte what it was before streams existed.
_OMIT_WHEN_DEFAULT: dict[str, Any] = {"kind": "file", "sha256": None, "max_volume": None, "closed": False}


def _omit_defaults(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if not (k in _OMIT_WHEN_DEFAULT and v == _OMIT_WHEN_DEFAULT[k])}


class _MediaItem(_Params):
    """What a play command or a manifest entry plays: a cached file or a live stream."""

    @model_validator(mode="after")
    def _media(self) -> _MediaItem:
        kind, sha256 = getattr(self, "kind"), getattr(self, "sha256")  # noqa: B009 - fields of the subclasses
        if kind == "file" and sha256 is None:
            raise ValueError("tệp âm thanh (kind=file) phải có sha256")
        if kind == "stream" and sha256 is not None:
            raise ValueError("luồng tiếp sóng (kind=stream) không có sha256")
        return self

    @model_serializer(mode="wrap")
    def _wire(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _omit_defaults(handler(self))


class PlayParams(_MediaItem):
    """``play``: fetch (or take from the cache), check sha256, play through the priority ladder."""

    item_id: Annotated[
        str, Field(min_length=1, max_length=200, description="required: opaque id (stop, logs)")
    ]
    kind: Annotated[MediaKind, Field(description="optional; " + MEDIA_KIND_DOC)] = "file"
    media_url: Annotated[
        str,
        Field(
            min_length=1, max_length=2000, description="required: the file's content address or the stream"
        ),
    ]
    sha256: Annotated[Sha256 | None, Field(description="required for kind=file, absent for kind=stream")] = (
        None
    )
    duration_s: Annotated[
        float, Field(gt=0, description="required: length in seconds (a stream plays this long)")
    ]
    priority: Priority
    repeat: Annotated[int, Field(ge=1, le=100, description="optional, default 1: times to play it")] = 1
    volume: Annotated[
        Volume | None,
        Field(description="optional: 0-100 for this item; null or absent = keep the device's current volume"),
    ] = None
    play_until: Annotated[
        UtcDatetime | None,
        Field(description="optional: end of the item's window; an interrupted item resumes only before it"),
    ] = None


class StopParams(_Params):
    item_id: str | None = Field(
        default=None, description="stop only this item (a cancel broadcast); else all"
    )


class VolumeParams(_Params):
    """``volume``: set the device's volume (capped by the manifest's max_volume)."""

    volume: Annotated[int, Field(ge=0, le=100, description="required: the new volume, 0-100")]


class NoParams(_Params):
    """``pause``, ``resume``, ``next``, ``reboot``, ``refresh_manifest`` (and the boards' ``reload``,
    ``screen_on``, ``screen_off``, ``screenshot``): ``params`` is ``{}``."""


class BrightnessParams(_Params):
    """``brightness`` (boards): set the screen's brightness now, until the next step of its brightness schedule."""

    brightness: Annotated[int, Field(ge=0, le=100, description="required: the new brightness, 0-100 %")]


class KillSwitchParams(_Params):
    """``kill_switch`` (boards): ``engaged`` true = black screen and nothing else (emergencies included) until a
    ``kill_switch`` with ``engaged`` false; the board's manifest carries the same state."""

    engaged: Annotated[bool, Field(description="required: true = black screen, false = back to normal")]


PARAMS_BY_ACTION: dict[str, type[_Params]] = {
    "play": PlayParams,
    "stop": StopParams,
    "pause": NoParams,
    "resume": NoParams,
    "next": NoParams,
    "volume": VolumeParams,
    "reboot": NoParams,
    "refresh_manifest": NoParams,
    "reload": NoParams,
    "screen_on": NoParams,
    "screen_off": NoParams,
    "brightness": BrightnessParams,
    "screenshot": NoParams,
    "kill_switch": KillSwitchParams,
}


class Command(Message):
    id: UUID
    topic: Annotated[str, Field(min_length=1, max_length=300, description="the topic it is published on")]
    seq: Annotated[int, Field(gt=0, description="strictly increasing per topic")]
    issued_at: UtcDatetime
    expires_at: UtcDatetime
    action: Action
    params: dict[str, Any] = Field(default_factory=dict)
    signature: Annotated[str, Field(description="base64 Ed25519 signature; empty = unsigned")] = ""

    @model_validator(mode="after")
    def _check_params(self) -> Command:
        PARAMS_BY_ACTION[self.action].model_validate(self.params)
        if self.expires_at <= self.issued_at:
            raise ValueError("expires_at phải sau issued_at")
        return self

    def play_params(self) -> PlayParams:
        params = PARAMS_BY_ACTION[self.action].model_validate(self.params)
        if not isinstance(params, PlayParams):
            raise TypeError(f"lệnh {self.action} không có tham số phát")
        return params

    def typed_params(self) -> _Params:
        return PARAMS_BY_ACTION[self.action].model_validate(self.params)


# One schema per action (protocol.md §4): the same rules as Command's ``params`` check, as a discriminated union on
# ``action``, for the JSON Schema and for devices that want typed params. Command itself keeps ``params`` as the
# object received, so the signed canonical form of every v1 command is unchanged.


class _TypedCommand(Message):
    id: Annotated[UUID, Field(description="quoted in the ack and in play logs")]
    topic: Annotated[
        str, Field(min_length=1, max_length=300, description="must equal the topic it arrived on")
    ]
    seq: Annotated[int, Field(gt=0, description="strictly increasing per topic")]
    issued_at: UtcDatetime
    expires_at: UtcDatetime
    signature: Annotated[str, Field(description="base64 Ed25519 signature; missing or empty = unsigned")] = ""


class PlayCommand(_TypedCommand):
    action: Literal["play"]
    params: PlayParams


class StopCommand(_TypedCommand):
    action: Literal["stop"]
    params: StopParams = StopParams()


class VolumeCommand(_TypedCommand):
    action: Literal["volume"]
    params: VolumeParams


class SimpleCommand(_TypedCommand):
    action: Literal[
        "pause",
        "resume",
        "next",
        "reboot",
        "refresh_manifest",
        "reload",
        "screen_on",
        "screen_off",
        "screenshot",
    ]
    params: NoParams = NoParams()


class BrightnessCommand(_TypedCommand):
    action: Literal["brightness"]
    params: BrightnessParams


class KillSwitchCommand(_TypedCommand):
    action: Literal["kill_switch"]
    params: KillSwitchParams


TypedCommand = Annotated[
    PlayCommand | StopCommand | VolumeCommand | SimpleCommand | BrightnessCommand | KillSwitchCommand,
    Field(discriminator="action"),
]


class Window(_Params):
    start: Annotated[str, Field(description="HH:MM local time")]
    end: Annotated[
        str, Field(description="HH:MM local time; end < start spans midnight; end = start is the whole day")
    ]

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not HHMM_RE.match(value):
            raise ValueError("giờ phải có dạng HH:MM (00:00–23:59)")
        return value


class ManifestEntry(_MediaItem):
    entry_id: Annotated[str, Field(min_length=1, max_length=200)]
    start: UtcDatetime
    end: UtcDatetime
    item_id: Annotated[str, Field(min_length=1, max_length=200)]
    kind: Annotated[MediaKind, Field(description=MEDIA_KIND_DOC)] = "file"
    media_url: Annotated[str, Field(min_length=1, max_length=2000)]
    sha256: Annotated[Sha256 | None, Field(description="required for kind=file, absent for kind=stream")] = (
        None
    )
    duration_s: Annotated[float, Field(gt=0)]
    priority: Priority = PRIORITY_NORMAL
    volume: Volume | None = None
    schedule_id: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ManifestEntry:
        if self.end <= self.start:
            raise ValueError("end phải sau start")
        return self


class Manifest(Message):
    device_id: DeviceId
    version: Annotated[int, Field(ge=1)]
    generated_at: UtcDatetime
    valid_from: UtcDatetime
    valid_until: UtcDatetime
    timezone: str = "Asia/Ho_Chi_Minh"
    windows: list[Window] = Field(
        default_factory=list,
        description="allowed local windows (loa_protocol.windows): empty = always, the whole day included; "
        "end < start spans midnight; end = start is 24 hours",
    )
    closed: Annotated[
        bool,
        Field(
            description="no window is open (windows is then empty): only emergencies play; omitted when false"
        ),
    ] = False
    max_volume: Annotated[
        Volume | None,
        Field(
            description="the unit's volume cap: no normal or priority item plays louder; emergencies ignore it"
        ),
    ] = None
    entries: list[ManifestEntry] = Field(default_factory=list)
    signature: str = ""

    @model_serializer(mode="wrap")
    def _wire(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _omit_defaults(handler(self))


class ManifestAck(Message):
    """A device's report of a manifest it refused, published on its ``ack`` topic (protocol.md §6)."""

    device_id: DeviceId
    manifest_version: Annotated[
        int | None, Field(ge=1, description="the refused manifest's version; null when it could not be read")
    ]
    status: Literal["refused"] = "refused"
    reason: Annotated[
        ReasonCode,
        Field(
            description="unsigned, bad_signature, wrong_device, stale_manifest, too_large, malformed_json, invalid"
        ),
    ]
    at: UtcDatetime


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    code: Annotated[str, Field(description="machine-readable, e.g. enrol_code_invalid")]
    message: Annotated[str, Field(description="Vietnamese, for the technician")]
    details: Annotated[
        list[Any],
        Field(description="machine-readable context, e.g. the fields that failed validation; may be []"),
    ] = []


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx answer of the HTTP API (enrolment, manifest poll): ``{"error": {…}}``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    error: ErrorDetail


MESSAGE_MODELS: dict[str, type[Message]] = {
    cls.__name__: cls
    for cls in (
        EnrolRequest,
        EnrolResponse,
        Status,
        PlayLogEvent,
        PlayLogBatch,
        CommandAck,
        ManifestAck,
        Command,
        Manifest,
    )
}


# --- decoding with clear errors -----------------------------------------------------------------------------


class ProtocolError(ValueError):
    """A payload that is not a valid message. ``code`` is machine-readable, ``message`` is Vietnamese."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


M = TypeVar("M", bound=BaseModel)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(gốc)"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def decode(model: type[M], payload: bytes | str, max_bytes: int = MAX_PAYLOAD_BYTES) -> M:
    """Parse and validate one message. Raises :class:`ProtocolError` with code ``too_large``,
    ``malformed_json``, ``unsupported_version`` or ``invalid``."""
    raw = payload.encode("utf-8") if isinstance(payload, str) else payload
    if len(raw) > max_bytes:
        raise ProtocolError("too_large", f"Gói tin quá lớn: {len(raw)} byte (tối đa {max_bytes} byte).")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError("malformed_json", f"Gói tin không phải JSON UTF-8 hợp lệ: {exc}.") from None
    if not isinstance(data, dict):
        raise ProtocolError("invalid", "Gói tin phải là một đối tượng JSON.")
    if "v" in data and data["v"] != 1:
        raise ProtocolError(
            "unsupported_version", f"Phiên bản giao thức không được hỗ trợ: {data['v']!r} (chỉ hỗ trợ 1)."
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError("invalid", f"{model.__name__} không hợp lệ: {_describe(exc)}.") from None


def encode(message: BaseModel) -> bytes:
    """The wire form of a message: compact JSON, UTF-8."""
    return message.model_dump_json().encode("utf-8")
