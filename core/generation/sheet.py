"""The strength sheet: one row of tiles, the LoRA weight written under each (Pillow only)."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

MIN_LABEL_HEIGHT = 14


def label_of(weight: float) -> str:
    """How a weight is written under its tile (0, 0.4, 1, 1.25)."""
    return f"{weight:g}"


def strength_sheet(tiles: list[tuple[Image.Image, float]]) -> Image.Image:
    """The tiles side by side, each above a white strip with its weight.

    The sheet is `len(tiles) × tile width` wide; every tile has the first one's size.
    """
    if not tiles:
        raise ValueError("a strength sheet needs at least one tile")
    width, height = tiles[0][0].size
    strip = max(MIN_LABEL_HEIGHT, height // 6)
    font = ImageFont.load_default(size=max(strip * 3 // 4, 8))
    sheet = Image.new("RGB", (width * len(tiles), height + strip), "white")
    draw = ImageDraw.Draw(sheet)
    for column, (tile, weight) in enumerate(tiles):
        if tile.size != (width, height):
            raise ValueError(f"tile {column} is {tile.size}, not {(width, height)}")
        left = column * width
        sheet.paste(tile.convert("RGB"), (left, 0))
        draw.text(
            (left + width / 2, height + strip / 2),
            label_of(weight),
            fill="black",
            font=font,
            anchor="mm",
        )
    return sheet
