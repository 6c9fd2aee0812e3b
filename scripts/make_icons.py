"""Draw the app icons (run once; the PNGs are committed): python scripts/make_icons.py"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

BRAND = (0, 59, 111)
WHITE = (255, 255, 255)
OUT = Path(__file__).resolve().parents[1] / "static" / "icons"


def icon(size: int, maskable: bool = False) -> Image.Image:
    image = Image.new("RGB", (size, size), BRAND)
    draw = ImageDraw.Draw(image)
    pad = size * (0.22 if maskable else 0.14)
    # a hub: a rounded box with three signal arcs above it
    box = (pad, size * 0.52, size - pad, size - pad)
    draw.rounded_rectangle(box, radius=size * 0.06, fill=WHITE)
    cx, cy = size / 2, size * 0.52
    for width in (0.34, 0.24, 0.14):
        r = size * width
        draw.arc((cx - r, cy - r, cx + r, cy + r), 210, 330, fill=WHITE, width=max(2, size // 28))
    dot = size * 0.035
    draw.ellipse((cx - dot, cy - dot * 3, cx + dot, cy - dot), fill=WHITE)
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        icon(size).save(OUT / f"icon-{size}.png", optimize=True)
    icon(512, maskable=True).save(OUT / "icon-maskable-512.png", optimize=True)
    icon(180).save(OUT / "apple-touch-icon.png", optimize=True)


if __name__ == "__main__":
    main()
