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


def forged_jpeg(width: int, height: int) -> bytes:
    """A real 16×16 JPEG whose frame header claims width × height: a few hundred bytes that
    libjpeg would decode at full size, inventing grey for every missing block."""
    data = bytearray(f.jpeg_bytes(16, 16, seed=1))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def forged_png(width: int, height: int) -> bytes:
    return f.bomb_png_bytes(width, height)  # one compressed row behind a width × height header


def _no_decoding(monkeypatch: pytest.MonkeyPatch) -> type[BaseException]:
    class Decoded(BaseException):  # not an Exception: the refusal handlers must not catch it
        pass

    def trap(self: ImageFile.ImageFile) -> None:
        raise Decoded("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", trap)
    return Decoded


@pytest.mark.parametrize(
    "data",
    [forged_jpeg(6000, 6000), forged_jpeg(4000, 3000), forged_png(6000, 6000)],
    ids=["jpeg-36MP", "jpeg-12MP", "png-36MP"],
)
def test_headers_claiming_more_pixels_than_the_data_holds_are_refused_undecoded(
    data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(data) < 1000
    with Image.open(io.BytesIO(data)) as image:
        assert image.width * image.height >= 12_000_000  # within the pixel limit
    decoded = _no_decoding(monkeypatch)
    with pytest.raises(ImageRefused) as caught:
        normalize_image(data, max_pixels=MAX_PIXELS)
    assert not isinstance(caught.value, decoded)
    assert caught.value.code == RefusalCode.corrupt_image
    assert "cannot hold" in caught.value.message


def test_arithmetic_coded_jpeg_is_unsupported() -> None:
    data = bytearray(f.jpeg_bytes(32, 32))
    data[data.index(b"\xff\xc0") + 1] = 0xC9
    with pytest.raises(ImageRefused) as caught:
        normalize_image(bytes(data), max_pixels=MAX_PIXELS)
    assert caught.value.code == RefusalCode.unsupported_format


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_a_flat_but_complete_large_image_is_not_mistaken_for_a_forgery(progressive: bool) -> None:
    # The most compressible honest JPEG: one colour, optimized Huffman tables.
    flat = Image.new("RGB", (3000, 2000), (0, 0, 0))
    data = f.encode(flat, "JPEG", quality=50, optimize=True, progressive=progressive)
    result = normalize_image(data, max_pixels=MAX_PIXELS)
    assert (result.width, result.height) == (3000, 2000)
    assert normalize_image(f.encode(flat, "PNG"), max_pixels=MAX_PIXELS).width == 3000


def test_an_upright_jpeg_keeps_its_compressed_data() -> None:
    source = f.jpeg_with_metadata_bytes(200, 120, seed=3)
    result = normalize_image(source, max_pixels=MAX_PIXELS)
    # Same pixels as the upload decodes to (no second lossy pass), metadata gone.
    assert _reopen(result.data).tobytes() == _reopen(source).tobytes()
    assert len(result.data) < len(source) and b"LeakyCam" not in result.data
    assert (result.width, result.height, result.source_format) == (200, 120, "JPEG")
    # Quantization tables are the upload's own (quality 95 here, not re-encoded).
    assert _reopen(result.data).quantization == _reopen(source).quantization
    again = normalize_image(f.encode(_reopen(source), "JPEG", quality=60), max_pixels=MAX_PIXELS)
    assert again.content_hash != result.content_hash


def test_a_jpeg_tagged_srgb_keeps_its_data_but_not_the_profile() -> None:
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = f.encode(f.shapes_image(64, 64, seed=2), "JPEG", quality=90, icc_profile=srgb)
    result = normalize_image(source, max_pixels=MAX_PIXELS)
    stored = _reopen(result.data)
    assert "icc_profile" not in stored.info
    assert stored.tobytes() == _reopen(source).tobytes()


def test_a_damaged_scan_in_a_kept_jpeg_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    data = bytearray(f.jpeg_bytes(256, 256, seed=7))
    sos = data.index(b"\xff\xda")
    data[sos + 2 : sos + 4] = (0xFFFF).to_bytes(2, "big")  # a scan header past the end
    with pytest.raises(ImageRefused) as caught:
        normalize_image(bytes(data), max_pixels=MAX_PIXELS)
    assert caught.value.code == RefusalCode.corrupt_image
