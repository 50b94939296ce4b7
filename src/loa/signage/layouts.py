"""Screen classes and the built-in layouts drawn for each (pure: no Django).

A layout is a set of zones in screen pixels. ``full``: one zone, the whole screen. ``main_ticker_clock``: the main
area, a ticker strip along the bottom and the clock at the bottom right. Zones are computed from the screen's real
width and height, so a custom screen gets the same proportions; the strip is taller on small LED panels, where a
tenth of 96 px would be unreadable.
"""

from __future__ import annotations

from dataclasses import dataclass

from loa_protocol.board import STANDARD_SCREEN_SIZES

# (width, height) of the standard classes: the protocol's one vocabulary (loa_protocol.board.SCREEN_CLASSES), which
# the fleet's ScreenClass uses too (tests/loa/fleet/test_screen_classes.py)
SCREEN_SIZES: dict[str, tuple[int, int]] = dict(STANDARD_SCREEN_SIZES)
SCREEN_LABELS: dict[str, str] = {
    "landscape": "Màn hình ngang 1920×1080",
    "portrait": "Màn hình dọc 1080×1920",
    "led_192x96": "Bảng LED 192×96",
    "led_384x192": "Bảng LED 384×192",
}
DEFAULT_CLASSES = ("landscape", "portrait")
LAYOUT_LABELS: dict[str, str] = {
    "main_ticker_clock": "Vùng chính, dòng chữ chạy và đồng hồ",
    "full": "Toàn màn hình",
}


@dataclass(frozen=True)
class ZoneBox:
    zone_id: str
    role: str
    x: int
    y: int
    width: int
    height: int

    def as_dict(self) -> dict[str, object]:
        return {
            "zone_id": self.zone_id, "role": self.role, "x": self.x, "y": self.y,
            "width": self.width, "height": self.height,
        }  # fmt: skip


def is_led(width: int, height: int) -> bool:
    return max(width, height) <= 512


def zones(layout: str, width: int, height: int) -> list[ZoneBox]:
    """The zones of ``layout`` on a ``width``×``height`` screen."""
    if layout == "full":
        return [ZoneBox("main", "full", 0, 0, width, height)]
    if layout != "main_ticker_clock":
        raise ValueError(f"unknown layout {layout!r}")
    strip = max(1, round(height * (0.25 if is_led(width, height) else 0.1)))
    clock_w = max(1, round(width * (0.34 if width < height or is_led(width, height) else 0.2)))
    return [
        ZoneBox("main", "main", 0, 0, width, height - strip),
        ZoneBox("ticker", "ticker", 0, height - strip, width - clock_w, strip),
        ZoneBox("clock", "clock", width - clock_w, height - strip, clock_w, strip),
    ]


def main_zone(layout: str, width: int, height: int) -> ZoneBox:
    return zones(layout, width, height)[0]


def standard_class(screen_class: str, orientation: str, width: int, height: int) -> str:
    """The standard class whose renditions a board shows: its own, or for a custom screen the nearest one."""
    if screen_class in SCREEN_SIZES:
        return screen_class
    if is_led(width, height):
        return "led_192x96" if max(width, height) <= 256 else "led_384x192"
    return "portrait" if orientation == "portrait" or height > width else "landscape"
