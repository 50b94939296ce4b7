"""Layouts and the text fit, as tables (pure: no database)."""

from __future__ import annotations

import pytest

from loa.errors import Refusal
from loa.fleet.models import SCREEN_SIZES as FLEET_SIZES
from loa.signage import fit, layouts


def test_screen_classes_are_the_fleets() -> None:
    assert layouts.SCREEN_SIZES == {str(k): v for k, v in FLEET_SIZES.items()}


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920), (192, 96), (384, 192), (1366, 768)])
@pytest.mark.parametrize("name", ["main_ticker_clock", "full"])
def test_zones_tile_the_screen_without_overlap(name: str, size: tuple[int, int]) -> None:
    w, h = size
    zs = layouts.zones(name, w, h)
    assert sum(z.width * z.height for z in zs) == w * h
    for z in zs:
        assert 0 <= z.x and z.x + z.width <= w and 0 <= z.y and z.y + z.height <= h
    for i, a in enumerate(zs):
        for b in zs[i + 1 :]:
            assert (
                a.x + a.width <= b.x or b.x + b.width <= a.x or a.y + a.height <= b.y or b.y + b.height <= a.y
            )


@pytest.mark.parametrize(
    ("screen_class", "orientation", "size", "expected"),
    [
        ("landscape", "landscape", (1920, 1080), "landscape"),
        ("custom", "portrait", (768, 1366), "portrait"),
        ("custom", "landscape", (1366, 768), "landscape"),
        ("custom", "landscape", (256, 128), "led_192x96"),
        ("custom", "landscape", (320, 160), "led_384x192"),
    ],
)
def test_a_custom_screen_shows_the_nearest_standard_class(
    screen_class: str, orientation: str, size: tuple[int, int], expected: str
) -> None:
    assert layouts.standard_class(screen_class, orientation, *size) == expected


def test_fit_is_the_largest_size_that_fits_and_shorter_text_is_bigger() -> None:
    short = fit.fit("Họp dân", 1920, 972)
    long = fit.fit("Họp dân lúc 19:30 tại nhà văn hóa tổ dân phố số 1, mời bà con đến đúng giờ", 1920, 972)
    assert short.font_px > long.font_px
    # one pixel more would not fit
    pad = round(972 * fit.PADDING)
    bigger = fit._fits(
        fitting_text := " ".join(long.lines).replace("\n", " "),
        long.font_px + 1,
        1920 - 2 * pad,
        972 - 2 * pad,
    )
    assert bigger is None, fitting_text
    assert all(fit._font(long.font_px).getlength(line) <= 1920 - 2 * pad for line in long.lines)


def test_a_word_wider_than_the_zone_is_refused_with_the_reason() -> None:
    with pytest.raises(Refusal) as exc:
        fit.fit("Nghiêng" * 12, 192, 72, where="bảng led 192×96")
    assert exc.value.code == "text_does_not_fit"
    assert "có một từ quá dài so với chiều ngang của vùng" in exc.value.message
