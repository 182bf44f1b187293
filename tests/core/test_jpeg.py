"""read_jpeg: the segment walk, the bare copy it keeps, and the damaged structures it refuses."""

import io

import pytest
from PIL import Image

from core.jpeg import JpegStructureError, UnsupportedJpeg, read_jpeg
from tests import imagefactory as f


def _pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB").tobytes()


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_the_bare_copy_decodes_to_the_same_pixels_without_metadata(progressive: bool) -> None:
    image = f.shapes_image(96, 64, seed=4)
    exif = Image.Exif()
    exif[0x010F] = "LeakyCam"
    data = f.encode(
        image, "JPEG", quality=90, progressive=progressive, exif=exif, comment=b"secret comment"
    )
    layout = read_jpeg(data + b"trailing junk after the end marker")
    assert (layout.width, layout.height, layout.blocks) == (96, 64, 12 * 8)
    assert layout.frame == (0xC2 if progressive else 0xC0)
    assert _pixels(layout.bare) == _pixels(data)
    assert b"LeakyCam" not in layout.bare and b"secret" not in layout.bare
    assert b"JFIF" not in layout.bare and layout.bare.endswith(b"\xff\xd9")
    assert 0 < layout.scan_bytes < len(layout.bare)


def test_adobe_segment_is_kept() -> None:
    # APP14 "Adobe" tells a decoder whether three components are RGB or YCbCr: it must stay.
    cmyk = f.encode(f.shapes_image(16, 16).convert("CMYK"), "JPEG")
    assert b"Adobe" in cmyk and b"Adobe" in read_jpeg(cmyk).bare


def test_restart_markers_stay_inside_the_scan() -> None:
    data = f.encode(f.shapes_image(64, 64, seed=2), "JPEG", restart_marker_blocks=1)
    assert _pixels(read_jpeg(data).bare) == _pixels(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n", "start marker"),
        (f.jpeg_bytes(64, 64)[:-2], "truncated"),  # no end marker
        (f.jpeg_bytes(64, 64)[:300], "truncated"),  # cut inside the tables
        (b"\xff\xd8\xff\xd9", "no frame header"),
        (b"\xff\xd8\xff\xd0\xff\xd9", "unexpected marker"),
    ],
    ids=["not-jpeg", "no-eoi", "cut-in-tables", "empty", "stray-restart"],
)
def test_damaged_structures_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(JpegStructureError, match=message):
        read_jpeg(data)


def test_arithmetic_coding_is_unsupported() -> None:
    data = bytearray(f.jpeg_bytes(32, 32))
    sof = data.index(b"\xff\xc0")
    data[sof + 1] = 0xC9  # SOF9: arithmetic-coded sequential
    with pytest.raises(UnsupportedJpeg):
        read_jpeg(bytes(data))
