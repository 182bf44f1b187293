"""Small, deterministic test images as bytes: good ones, broken ones and hostile ones.

Everything is generated with Pillow (or by hand where Pillow refuses to write it), so tests
never depend on files checked into the repository.
"""

import io
import random
import struct
import zlib

from PIL import Image, ImageDraw

RED = (220, 30, 30)
BLUE = (30, 30, 220)
WHITE = (255, 255, 255)

EXIF_ORIENTATION = 0x0112
EXIF_MAKE = 0x010F
EXIF_MODEL = 0x0110
EXIF_GPS_IFD = 0x8825


def shapes_image(width: int = 64, height: int = 64, seed: int = 0) -> Image.Image:
    """An RGB picture of a few coloured shapes; different seeds give different pictures."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = rng.randrange(x0, width + 1), rng.randrange(y0, height + 1)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
    return image


def encode(image: Image.Image, fmt: str, **save_args: object) -> bytes:
    """Encode a Pillow image into a format's bytes."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save_args)
    return buffer.getvalue()


def png_bytes(width: int = 64, height: int = 64, seed: int = 0) -> bytes:
    return encode(shapes_image(width, height, seed), "PNG")


def jpeg_bytes(width: int = 64, height: int = 64, seed: int = 0, quality: int = 95) -> bytes:
    return encode(shapes_image(width, height, seed), "JPEG", quality=quality)


def webp_bytes(width: int = 64, height: int = 64, seed: int = 0) -> bytes:
    return encode(shapes_image(width, height, seed), "WEBP", lossless=True)


def gif_bytes(width: int = 64, height: int = 64, seed: int = 0) -> bytes:
    return encode(shapes_image(width, height, seed), "GIF")


def tiff_bytes(width: int = 64, height: int = 64, seed: int = 0) -> bytes:
    return encode(shapes_image(width, height, seed), "TIFF")


def bmp_bytes(width: int = 64, height: int = 64, seed: int = 0) -> bytes:
    return encode(shapes_image(width, height, seed), "BMP")


def animated_webp_bytes(width: int = 32, height: int = 32, frames: int = 3) -> bytes:
    images = [shapes_image(width, height, seed) for seed in range(frames)]
    return encode(images[0], "WEBP", save_all=True, append_images=images[1:], lossless=True)


def rgba_png_bytes(width: int = 32, height: int = 32) -> bytes:
    """A fully transparent PNG (with black colour channels), to check alpha is flattened."""
    return encode(Image.new("RGBA", (width, height), (0, 0, 0, 0)), "PNG")


def noise_png_bytes(width: int = 128, height: int = 128, seed: int = 0) -> bytes:
    """Random pixels: PNG cannot compress them, so the file is about width × height × 3 bytes."""
    rng = random.Random(seed)
    return encode(
        Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3)), "PNG"
    )


def split_jpeg_bytes(orientation: int = 6, width: int = 48, height: int = 24) -> bytes:
    """A JPEG whose stored pixels are red on the left half and blue on the right half, with
    an EXIF orientation tag (6 = a viewer turns it 90° clockwise: red ends up on top)."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    return encode(image, "JPEG", quality=95, exif=exif)


def jpeg_with_metadata_bytes(width: int = 32, height: int = 32, seed: int = 0) -> bytes:
    """A JPEG carrying a camera make/model, a GPS block and a comment: all must be stripped."""
    exif = Image.Exif()
    exif[EXIF_MAKE] = "LeakyCam"
    exif[EXIF_MODEL] = "Model 7"
    exif.get_ifd(EXIF_GPS_IFD)[2] = (48.0, 51.0, 29.0)  # GPSLatitude
    image = shapes_image(width, height, seed)
    return encode(image, "JPEG", quality=95, exif=exif, comment=b"secret comment")


def png_with_text_bytes(width: int = 32, height: int = 32, seed: int = 0) -> bytes:
    """A PNG with a tEXt chunk (e.g. a generator's prompt), which must be stripped."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("parameters", "a secret prompt")
    return encode(shapes_image(width, height, seed), "PNG", pnginfo=info)


def truncated(data: bytes, keep: float = 0.6) -> bytes:
    """The first `keep` share of a file, as left by an interrupted transfer."""
    return data[: max(1, int(len(data) * keep))]


def truncated_jpeg_bytes() -> bytes:
    return truncated(jpeg_bytes(256, 256, seed=7))


def truncated_png_bytes() -> bytes:
    return truncated(noise_png_bytes(64, 64, seed=7))


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def bomb_png_bytes(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid-looking PNG of a few hundred bytes whose header declares width × height pixels.

    Decoding it would allocate gigabytes; a safe reader refuses it from the header alone.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    row = b"\x00" + b"\x00" * (width * 3)  # filter byte + one black row
    idat = zlib.compress(row, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def random_bytes(size: int = 4096, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)
