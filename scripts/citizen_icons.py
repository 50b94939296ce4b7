"""Generate the public app's icons (committed PNGs in src/loa/citizen/static/citizen/icons/): a white loudspeaker
horn with sound waves on Loa's red. Run again only to change them: `.venv/bin/python scripts/citizen_icons.py`."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "src/loa/citizen/static/citizen/icons"
RED, WHITE = (179, 38, 30, 255), (255, 255, 255, 255)


def draw(size: int, *, maskable: bool) -> Image.Image:
    scale = 4  # drawn large, then reduced: smooth edges
    n = size * scale
    img = Image.new("RGBA", (n, n), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if maskable:
        d.rectangle((0, 0, n, n), fill=RED)
        inset = 0.2  # the safe zone of a maskable icon is the central 80 %
    else:
        d.rounded_rectangle((0, 0, n - 1, n - 1), radius=n // 5, fill=RED)
        inset = 0.12
    box = n * (1 - 2 * inset)

    def p(x: float, y: float) -> tuple[float, float]:
        return (n * inset + x * box, n * inset + y * box)

    # the horn: a small box and a flaring cone to the right
    d.rectangle((*p(0.08, 0.38), *p(0.26, 0.62)), fill=WHITE)
    d.polygon([p(0.26, 0.38), p(0.55, 0.12), p(0.55, 0.88), p(0.26, 0.62)], fill=WHITE)
    # three waves
    width = max(2, int(box * 0.06))
    for i, r in enumerate((0.16, 0.28, 0.40)):
        cx, cy = p(0.55, 0.5)
        rr = r * box
        d.arc((cx - rr, cy - rr, cx + rr, cy + rr), start=-40, end=40, fill=WHITE, width=width - i)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        draw(size, maskable=False).save(OUT / f"icon-{size}.png", optimize=True)
    draw(512, maskable=True).save(OUT / "maskable-512.png", optimize=True)
    print("icons written to", OUT)


if __name__ == "__main__":
    main()
