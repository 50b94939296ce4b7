"""The board manifest: what an e-bulletin board (bảng tin điện tử) shows for the next 48 hours, signed by the server.

A board is a fleet device (``loa-`` + 12 hex, enrolled with a one-time code, HTTP Basic with its own credentials).
Its manifest is signed with Ed25519 exactly like a cluster's :class:`loa_protocol.messages.Manifest`: the signature
covers the canonical JSON of the message without its top-level ``signature`` (:func:`loa_protocol.signing.sign`,
protocol.md §5). The reference player (``/board/``, ``src/loa/signage/static/signage/player/``) verifies it in the
browser with WebCrypto and refuses a forged, foreign or expired one, keeping the last good one.

What a board does with it (protocol.md, "Boards"):

* ``killed``: black screen, nothing else (the kill switch against hijacks); it wins over everything, emergencies
  included — a board under the kill switch is one nobody trusts to show anything.
* ``emergency`` (a :class:`BoardEmergency`, itself signed so it can also travel alone on the push channel): the whole
  screen at once in the emergency style with the alert text and "issued at", until ``ends_at`` or a cancel (the next
  manifest or push without it, or the same emergency with ``cancelled_at``). Windows do not apply.
* otherwise, only inside the screen-on ``windows`` (:mod:`loa_protocol.windows`, read in ``timezone``; ``[]`` is
  always on, ``closed`` never): the timeline. Of the entries whose ``start`` ≤ now < ``end``, the one with the
  lowest ``priority`` number (then the latest ``start``) is shown, switched to at the next slide boundary. An entry
  names a layout; each zone of the layout cycles through the entry's slides for that zone in order, each for its
  ``duration_s`` (a video for its ``duration_s`` too, looped or cut).
* ``brightness`` (:class:`BrightnessStep`, read in ``timezone``): from each step's ``at`` on, the screen has that
  ``percent`` until the next step (the day's last step holds past midnight; ``[]`` = the player's own, 100 %). A
  ``brightness`` command sets it now, until the next step begins.
* ``valid_until`` (48 hours after ``issued_at``): a player refuses a manifest that has expired, keeps the last good
  one and keeps showing it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from loa_protocol.messages import HHMM_RE, DeviceId, Message, Sha256, UtcDatetime, Window, _Params

BOARD_MANIFEST_TTL = dt.timedelta(hours=48)
# A manifest is at most this large on the wire: the server's compiler never sends more, a player refuses more.
MAX_BOARD_MANIFEST_BYTES = 1024 * 1024

SlideKind = Literal["text", "image", "video", "pdf_page", "bulletin", "ticker", "clock"]
ZoneRole = Literal["full", "main", "ticker", "clock", "side"]
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")]
Pixels = Annotated[int, Field(ge=1, le=16384)]


# The one vocabulary of screen classes (protocol.md §9b "Screen classes"): the fleet's BoardScreen.screen_class
# (loa.fleet.models.ScreenClass), the content prepared per class (loa.signage) and the manifest all use these names.
# A standard class has a fixed resolution; ``custom`` gives its own width and height (content of the nearest
# standard class, scaled).
ScreenClassName = Literal["landscape", "portrait", "led_192x96", "led_384x192", "custom"]
SCREEN_CLASSES: dict[str, tuple[int, int] | None] = {
    "landscape": (1920, 1080),
    "portrait": (1080, 1920),
    "led_192x96": (192, 96),
    "led_384x192": (384, 192),
    "custom": None,
}
# (width, height) of the standard classes
STANDARD_SCREEN_SIZES: dict[str, tuple[int, int]] = {k: v for k, v in SCREEN_CLASSES.items() if v is not None}
LED_SCREEN_CLASSES = ("led_192x96", "led_384x192")


class Screen(_Params):
    """The board's screen: ``screen_class`` is one of :data:`SCREEN_CLASSES` (``landscape`` 1920×1080,
    ``portrait`` 1080×1920, the small LED panels ``led_192x96`` and ``led_384x192``, or ``custom``); width and
    height are the real pixels the layouts are drawn for, in the orientation the board is mounted."""

    screen_class: ScreenClassName
    width: Pixels
    height: Pixels
    orientation: Literal["landscape", "portrait"]


class Zone(_Params):
    """A rectangle of the screen, in screen pixels from the top left corner."""

    zone_id: Id
    role: ZoneRole = "main"
    x: Annotated[int, Field(ge=0, le=16384)] = 0
    y: Annotated[int, Field(ge=0, le=16384)] = 0
    width: Pixels
    height: Pixels


class Layout(_Params):
    layout_id: Id
    name: Annotated[str, Field(max_length=200)] = ""
    zones: Annotated[list[Zone], Field(min_length=1, max_length=16)]

    @model_validator(mode="after")
    def _unique_zones(self) -> Layout:
        ids = [z.zone_id for z in self.zones]
        if len(ids) != len(set(ids)):
            raise ValueError("mã vùng (zone_id) trong một bố cục phải khác nhau")
        return self


class Media(_Params):
    """A file the player downloads (HTTP Basic with the board's credentials), checks by sha256 and caches by it."""

    url: Annotated[str, Field(min_length=1, max_length=2000)]
    sha256: Sha256
    bytes: Annotated[int, Field(ge=1, le=2**40)]
    mime: Annotated[str, Field(pattern=r"^(image|video|application)/[a-z0-9.+-]{1,100}$")]


class SlideText(_Params):
    """Text of a text, ticker or bulletin slide. ``font_px`` is what the server's auto-fit found for the zone at the
    screen's resolution (the player uses it as the starting size and only shrinks if the text still overflows)."""

    title: Annotated[str, Field(max_length=500)] = ""
    body: Annotated[str, Field(max_length=10_000)] = ""
    font_px: Annotated[int, Field(ge=4, le=2000)] | None = None
    align: Literal["left", "center", "right"] = "left"


class Slide(_Params):
    """One thing a zone shows for ``duration_s``.

    * ``text``, ``ticker``: ``text``; ``image``, ``pdf_page`` (the page rendered to an image), ``video``: ``media``;
    * ``bulletin``: ``text`` (title, summary), optionally ``media`` (its image), ``qr`` (an image of the QR code of
      ``url``, the bulletin's public page);
    * ``clock``: nothing (local date and time in the manifest's ``timezone``).
    """

    slide_id: Id
    kind: SlideKind
    duration_s: Annotated[float, Field(gt=0, le=86_400)]
    zone: Id
    media: Media | None = None
    text: SlideText | None = None
    qr: Media | None = None
    url: Annotated[str, Field(max_length=2000)] | None = None
    bulletin_id: Annotated[str, Field(max_length=200)] | None = None

    @model_validator(mode="after")
    def _content(self) -> Slide:
        if self.kind in ("image", "video", "pdf_page") and self.media is None:
            raise ValueError(f"trang kiểu {self.kind} phải có media")
        if self.kind in ("text", "ticker", "bulletin") and self.text is None:
            raise ValueError(f"trang kiểu {self.kind} phải có text")
        if self.kind == "video" and self.media is not None and not self.media.mime.startswith("video/"):
            raise ValueError("trang video phải có media kiểu video/…")
        if (
            self.kind in ("image", "pdf_page")
            and self.media is not None
            and not self.media.mime.startswith("image/")
        ):
            raise ValueError(f"trang {self.kind} phải có media kiểu image/…")
        return self


class TimelineEntry(_Params):
    """A playlist scheduled from ``start`` to ``end`` (end exclusive) on ``layout_id``: its slides, in order."""

    entry_id: Id
    start: UtcDatetime
    end: UtcDatetime
    playlist_id: Id
    layout_id: Id
    priority: Annotated[int, Field(ge=3, le=4, description="3 province priority content, 4 normal")] = 4
    schedule_id: Annotated[str, Field(max_length=200)] | None = None
    slides: Annotated[list[Slide], Field(min_length=1, max_length=500)]

    @model_validator(mode="after")
    def _ordered(self) -> TimelineEntry:
        if self.end <= self.start:
            raise ValueError("end phải sau start")
        return self


MAX_BRIGHTNESS_STEPS = 24


class BrightnessStep(_Params):
    """From ``at`` (HH:MM, the manifest's ``timezone``) on, the screen shows at ``percent`` of full brightness."""

    at: Annotated[str, Field(description="HH:MM local time", examples=["06:00", "18:30"])]
    percent: Annotated[int, Field(ge=0, le=100)]

    @model_validator(mode="after")
    def _hhmm(self) -> BrightnessStep:
        if not HHMM_RE.match(self.at):
            raise ValueError("giờ phải có dạng HH:MM (00:00–23:59)")
        return self


def brightness_at(steps: list[BrightnessStep] | list[dict[str, Any]], hhmm: str) -> int | None:
    """The brightness a schedule gives at local time ``hhmm``: the last step at or before it, else the day's last
    step (it holds past midnight); ``None`` without steps. The reference player's ``brightnessAt`` is the same."""
    pairs = sorted(
        (s.at, s.percent) if isinstance(s, BrightnessStep) else (str(s["at"]), int(s["percent"]))
        for s in steps
    )
    if not pairs:
        return None
    current = pairs[-1][1]
    for at, percent in pairs:
        if at <= hhmm:
            current = percent
    return current


class BoardEmergency(Message):
    """An emergency as boards show it, signed on its own (the push channel carries it alone) and inside the
    manifest. ``unit_code`` is the area: a board shows it only when the code is one of its own units' codes.
    ``cancelled_at`` set: the emergency is over (the cancel broadcast)."""

    emergency_id: Id
    unit_code: Annotated[str, Field(pattern=r"^[0-9]{2}([0-9]{3})?(\.[0-9A-Za-z]{1,10})*$")]
    title: Annotated[str, Field(min_length=1, max_length=300)]
    text: Annotated[str, Field(max_length=5000)] = ""
    issued_at: UtcDatetime
    ends_at: UtcDatetime | None = None
    cancelled_at: UtcDatetime | None = None
    signature: str = ""


class BoardManifest(Message):
    """What one board shows for the next 48 hours. See the module docstring for how a player reads it."""

    kind: Literal["board"] = "board"
    device_id: DeviceId
    version: Annotated[int, Field(ge=1)]
    issued_at: UtcDatetime
    valid_until: UtcDatetime
    timezone: str = "Asia/Ho_Chi_Minh"
    screen: Screen
    windows: list[Window] = Field(
        default_factory=list,
        description="screen-on windows (loa_protocol.windows): [] = always on; end < start spans midnight",
    )
    closed: Annotated[
        bool, Field(description="no screen-on window at all: dark unless an emergency is on")
    ] = False
    killed: Annotated[
        bool, Field(description="kill switch: black screen, nothing shown, emergencies included")
    ] = False
    emergency: BoardEmergency | None = None
    brightness: list[BrightnessStep] = Field(
        default_factory=list,
        max_length=MAX_BRIGHTNESS_STEPS,
        description="brightness schedule, sorted by time: from each step on, that percent until the next; [] = 100 %",
    )
    layouts: list[Layout] = Field(default_factory=list)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    signature: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> BoardManifest:
        if self.valid_until <= self.issued_at:
            raise ValueError("valid_until phải sau issued_at")
        times = [step.at for step in self.brightness]
        if times != sorted(set(times)):
            raise ValueError("các mốc độ sáng (brightness) phải theo thứ tự giờ và khác nhau")
        layouts = {layout.layout_id: layout for layout in self.layouts}
        if len(layouts) != len(self.layouts):
            raise ValueError("mã bố cục (layout_id) phải khác nhau")
        for entry in self.timeline:
            layout = layouts.get(entry.layout_id)
            if layout is None:
                raise ValueError(f"mục {entry.entry_id}: bố cục {entry.layout_id} không có trong lịch")
            zones = {zone.zone_id for zone in layout.zones}
            for slide in entry.slides:
                if slide.zone not in zones:
                    raise ValueError(
                        f"trang {slide.slide_id}: vùng {slide.zone} không có trong bố cục {layout.layout_id}"
                    )
        return self

    def media(self) -> list[Media]:
        """Every file the board needs, once each (by sha256)."""
        seen: dict[str, Media] = {}
        for entry in self.timeline:
            for slide in entry.slides:
                for media in (slide.media, slide.qr):
                    if media is not None:
                        seen.setdefault(media.sha256, media)
        return list(seen.values())


BOARD_MODELS: dict[str, type[Message]] = {"BoardManifest": BoardManifest, "BoardEmergency": BoardEmergency}


def signed_emergency(emergency: BoardEmergency, private_key: Any) -> BoardEmergency:
    from loa_protocol.signing import sign

    return sign(emergency, private_key)


def verify_board_manifest(
    manifest: BoardManifest,
    public_key: Any,
    device_id: str,
    now: dt.datetime,
    current_version: int | None = None,
) -> None:
    """Raise :class:`loa_protocol.signing.CommandRejected` unless a board may take ``manifest``: signed by the
    server, for this board, not expired, not older than ``current_version``; its emergency (if any) signed too."""
    from loa_protocol.signing import CommandRejected, signature_is_valid

    if not manifest.signature:
        raise CommandRejected("unsigned")
    if not signature_is_valid(manifest, public_key):
        raise CommandRejected("bad_signature")
    if manifest.device_id != device_id:
        raise CommandRejected("wrong_device", manifest.device_id)
    if now >= manifest.valid_until:
        raise CommandRejected("expired", f"valid_until {manifest.valid_until.isoformat()}")
    if current_version is not None and manifest.version < current_version:
        raise CommandRejected("stale_manifest", f"{manifest.version} < {current_version}")
    if manifest.emergency is not None and not signature_is_valid(manifest.emergency, public_key):
        raise CommandRejected("bad_signature", "emergency")
