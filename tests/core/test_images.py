"""normalize_image: each refusal code on real files, and what an accepted image becomes."""

import io
from collections.abc import Callable

import pytest
from PIL import Image, ImageFile

from core.errors import InvalidInput
from core.images import (
    ImageRefused,
    RefusalCode,
    check_caption,
    display_filename,
    normalize_image,
)
from tests import imagefactory as f

MAX_PIXELS = 40_000_000


def _reopen(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    ("make", "fmt"), [(f.png_bytes, "PNG"), (f.jpeg_bytes, "JPEG"), (f.webp_bytes, "WEBP")]
)
def test_accepted_formats_become_rgb_jpeg(make: Callable[..., bytes], fmt: str) -> None:
    result = normalize_image(make(80, 48, seed=3), max_pixels=MAX_PIXELS)
    assert (result.width, result.height, result.source_format) == (80, 48, fmt)
    stored = _reopen(result.data)
    assert (stored.format, stored.mode, stored.size) == ("JPEG", "RGB", (80, 48))
    original = f.shapes_image(80, 48, seed=3)
    assert _close(stored.getpixel((40, 24)), original.getpixel((40, 24)), 20)


def test_same_content_in_other_encodings_hashes_alike() -> None:
    # PNG and lossless WebP hold identical pixels: identical normalized bytes and hash.
    png = normalize_image(f.png_bytes(seed=5), max_pixels=MAX_PIXELS)
    webp = normalize_image(f.webp_bytes(seed=5), max_pixels=MAX_PIXELS)
    tagged = normalize_image(f.png_with_text_bytes(64, 64, seed=5), max_pixels=MAX_PIXELS)
    assert png.content_hash == webp.content_hash == tagged.content_hash
    assert png.data == webp.data
    other = normalize_image(f.png_bytes(seed=6), max_pixels=MAX_PIXELS)
    assert other.content_hash != png.content_hash


def test_exif_orientation_is_applied() -> None:
    # Stored 48×24 with red on the left; orientation 6 means "turn 90° clockwise to view".
    result = normalize_image(f.split_jpeg_bytes(orientation=6), max_pixels=MAX_PIXELS)
    assert (result.width, result.height) == (24, 48)
    upright = _reopen(result.data)
    assert _close(upright.getpixel((12, 6)), f.RED, 40)  # red is now on top
    assert _close(upright.getpixel((12, 42)), f.BLUE, 40)
    assert "exif" not in upright.info  # and the tag is gone, so no viewer turns it twice


def test_metadata_is_stripped() -> None:
    source = _reopen(f.jpeg_with_metadata_bytes())
    assert source.getexif()  # the factory really put EXIF and a comment in
    assert "comment" in source.info
    stored = _reopen(normalize_image(f.jpeg_with_metadata_bytes(), max_pixels=MAX_PIXELS).data)
    assert not stored.getexif()
    assert not {"exif", "comment", "icc_profile", "dpi", "parameters"} & set(stored.info)
    assert (
        b"LeakyCam"
        not in normalize_image(f.jpeg_with_metadata_bytes(), max_pixels=MAX_PIXELS).data
    )
    text = normalize_image(f.png_with_text_bytes(), max_pixels=MAX_PIXELS).data
    assert b"secret prompt" not in text


def test_transparency_is_flattened_onto_white() -> None:
    result = normalize_image(f.rgba_png_bytes(), max_pixels=MAX_PIXELS)
    assert _close(_reopen(result.data).getpixel((5, 5)), f.WHITE, 2)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", RefusalCode.not_an_image),
        (f.random_bytes(), RefusalCode.not_an_image),
        (b"%PDF-1.7 not a picture at all", RefusalCode.not_an_image),
        (f.gif_bytes(), RefusalCode.unsupported_format),
        (f.tiff_bytes(), RefusalCode.unsupported_format),
        (f.bmp_bytes(), RefusalCode.unsupported_format),
        (f.animated_webp_bytes(), RefusalCode.unsupported_format),
        (f.truncated_jpeg_bytes(), RefusalCode.corrupt_image),
        (f.truncated_png_bytes(), RefusalCode.corrupt_image),
        (f.bomb_png_bytes(), RefusalCode.too_many_pixels),
        (f.bomb_png_bytes(8000, 6000), RefusalCode.too_many_pixels),
    ],
    ids=[
        "empty",
        "random",
        "pdf",
        "gif",
        "tiff",
        "bmp",
        "animated-webp",
        "truncated-jpeg",
        "truncated-png",
        "bomb-900MP",
        "bomb-48MP",
    ],
)
def test_refusals(data: bytes, code: RefusalCode) -> None:
    with pytest.raises(ImageRefused) as caught:
        normalize_image(data, max_pixels=MAX_PIXELS)
    assert caught.value.code == code
    assert caught.value.message


def test_unsupported_format_names_the_format() -> None:
    with pytest.raises(ImageRefused, match="GIF images are not accepted; send JPEG, PNG or WebP"):
        normalize_image(f.gif_bytes(), max_pixels=MAX_PIXELS)


def test_pixel_limit_is_checked_from_the_header(monkeypatch: pytest.MonkeyPatch) -> None:
    # A bomb must be refused before any pixel is decoded: make decoding itself fail loudly.
    class Decoded(BaseException):  # not an Exception: the refusal handlers must not catch it
        pass

    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise Decoded("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(Decoded):
        normalize_image(f.png_bytes(), max_pixels=MAX_PIXELS)  # the trap works
    with pytest.raises(ImageRefused) as caught:
        normalize_image(f.bomb_png_bytes(8000, 6000), max_pixels=MAX_PIXELS)
    assert caught.value.code == RefusalCode.too_many_pixels
    assert "8000×6000" in caught.value.message


def test_the_pixel_limit_is_configurable() -> None:
    normalize_image(f.png_bytes(100, 100), max_pixels=10_000)
    with pytest.raises(ImageRefused) as caught:
        normalize_image(f.png_bytes(100, 101), max_pixels=10_000)
    assert caught.value.code == RefusalCode.too_many_pixels


def test_check_caption() -> None:
    assert check_caption("  a red fox, snow  ", max_chars=20) == "a red fox, snow"
    assert check_caption("x" * 20, max_chars=20) == "x" * 20
    for bad in ["x" * 21, "line\nbreak", "tab\there", "bell\x07", "zero\u200bwidth"]:
        with pytest.raises(InvalidInput) as caught:
            check_caption(bad, max_chars=20)
        assert caught.value.code == "INVALID_CAPTION"


def test_display_filename() -> None:
    assert display_filename("../../etc/passwd") == "passwd"
    assert display_filename("C:\\Users\\me\\cat.jpg") == "cat.jpg"
    assert display_filename("a\x00b\nc.png") == "abc.png"
    assert display_filename("") == "image"
    assert display_filename(None) == "image"
    long = display_filename("n" * 500 + ".jpeg")
    assert len(long) <= 120 and long.endswith(".jpeg")
