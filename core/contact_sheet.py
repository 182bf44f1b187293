"""A dataset's contact sheet: numbered thumbnails of one page of its images in one PNG.

Pillow only. Each tile is the stored (normalized) image shrunk into a square cell, its number
in a badge at the top left; numbers count from the first image of the dataset's listing, so
page 2 starts at `PER_PAGE + 1`.
"""

import io

from PIL import Image, ImageDraw, ImageFont

COLUMNS = 5
CELL = 160  # a tile's square, in pixels
GAP = 6
BADGE = 30  # the number badge's height
BACKGROUND = (32, 32, 32)
BADGE_FILL = (255, 255, 255)
BADGE_TEXT = (0, 0, 0)


def tile_box(index: int) -> tuple[int, int, int, int]:
    """The (left, top, right, bottom) of the `index`-th tile of a sheet (0-based)."""
    row, column = divmod(index, COLUMNS)
    left, top = GAP + column * (CELL + GAP), GAP + row * (CELL + GAP)
    return left, top, left + CELL, top + CELL


def _thumbnail(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    # A JPEG decodes straight at a fraction of its size: a 40 MP photo costs little here.
    image.draft("RGB", (CELL, CELL))
    image = image.convert("RGB")
    image.thumbnail((CELL, CELL), Image.Resampling.LANCZOS)
    return image


def contact_sheet(images: list[bytes], first_number: int) -> bytes:
    """The PNG of `images` (stored bytes, in order) numbered from `first_number`."""
    if not images:
        raise ValueError("a contact sheet needs at least one image")
    rows = -(-len(images) // COLUMNS)
    columns = min(COLUMNS, len(images))
    size = (GAP + columns * (CELL + GAP), GAP + rows * (CELL + GAP))
    sheet = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=BADGE * 2 // 3)
    for index, data in enumerate(images):
        left, top, _, _ = tile_box(index)
        thumb = _thumbnail(data)
        sheet.paste(thumb, (left + (CELL - thumb.width) // 2, top + (CELL - thumb.height) // 2))
        label = str(first_number + index)
        width = int(draw.textlength(label, font=font)) + BADGE // 2
        draw.rectangle((left, top, left + width, top + BADGE), fill=BADGE_FILL)
        draw.text(
            (left + width / 2, top + BADGE / 2), label, fill=BADGE_TEXT, font=font, anchor="mm"
        )
    out = io.BytesIO()
    sheet.save(out, "PNG", optimize=False)
    return out.getvalue()
