"""Draws the site's default share card, static/img/share-default.png (1200 x 630 PNG).

It is generic on purpose (the site's name is a setting): a speech bubble holding a few lines
of a letter, and the words "Take action" and "Write to your state legislators", in the
stylesheet's colours, with the font Pillow ships (``ImageFont.load_default``). Made with:

    .venv/bin/python -m advocacy.images.default_card static/img/share-default.png
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 630
NAVY = "#083f75"  # --accent-dark in static/site.css
BLUE = "#0b5cab"  # --accent
PALE = "#d6e6f7"
WHITE = "#ffffff"


def draw() -> Image.Image:
    card = Image.new("RGB", (WIDTH, HEIGHT), NAVY)
    pen = ImageDraw.Draw(card)
    # A band along the bottom.
    pen.rectangle((0, HEIGHT - 36, WIDTH, HEIGHT), fill=BLUE)
    # The speech bubble, its tail, and the lines of a letter inside it.
    pen.rounded_rectangle((90, 140, 430, 400), radius=36, fill=WHITE)
    pen.polygon([(150, 396), (230, 396), (140, 470)], fill=WHITE)
    for top, right in ((190, 380), (240, 380), (290, 380), (340, 300)):
        pen.rounded_rectangle((140, top, right, top + 22), radius=11, fill=BLUE)
    # The words.
    heading = ImageFont.load_default(size=112)
    line = ImageFont.load_default(size=44)
    pen.text((500, 175), "Take action", font=heading, fill=WHITE)
    pen.text((506, 330), "Write to your state", font=line, fill=PALE)
    pen.text((506, 385), "legislators", font=line, fill=PALE)
    return card


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m advocacy.images.default_card OUTPUT.png", file=sys.stderr)
        return 2
    draw().save(Path(argv[0]), "PNG", optimize=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
