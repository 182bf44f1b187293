"""A JPEG's marker structure read without decoding: its frame, scan bytes, and a bare copy.

`read_jpeg` walks the segments from SOI to the first EOI and keeps only what a decoder needs:
the frame (SOF), quantization and Huffman tables (DQT, DHT), the restart interval (DRI), the
scans (SOS and their entropy-coded data) and Adobe's APP14, which says whether three
components are YCbCr or RGB. Everything else is dropped: APP0–APP13 and APP15 (JFIF, EXIF with
camera and GPS data, XMP, ICC profiles, MPF), comments, and whatever follows the first EOI
(the extra frames of an MPO, trailing junk). Dropping segments never touches the compressed
pixels, so the copy decodes to exactly the same image.

The walk also counts the entropy-coded bytes. A complete scan codes every 8×8 block of a
full-resolution component with at least one bit (Huffman codes are at least a bit long), so a
file with far fewer bytes than blocks cannot hold its picture: libjpeg would fill the rest with
grey at full size, from a few hundred bytes. `scan_bytes` lets the caller refuse it first.
"""

import re
from dataclasses import dataclass

SOI, EOI, SOS, DHT, DQT, DRI, APP14, TEM = 0xD8, 0xD9, 0xDA, 0xC4, 0xDB, 0xDD, 0xEE, 0x01
# Huffman-coded frames: baseline, extended sequential, progressive. The others (lossless,
# hierarchical, arithmetic-coded) are rare and would need checks of their own.
HUFFMAN_FRAMES = frozenset({0xC0, 0xC1, 0xC2})
OTHER_FRAMES = frozenset({0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
KEPT = frozenset({*HUFFMAN_FRAMES, DHT, DQT, DRI})
# Inside scan data 0xFF is followed by 0x00 (a stuffed byte) or RST0–RST7; anything else is the
# next marker (fill bytes before it stay with the scan data, where decoders skip them). No `+`
# on the 0xFF: the regex would retry at every 0xFF of the data, 20× slower.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


class JpegStructureError(ValueError):
    """The bytes do not form a JPEG this module can read; the message says why."""


class UnsupportedJpeg(JpegStructureError):
    """A well-formed JPEG of a kind that is not accepted (e.g. arithmetic-coded)."""


@dataclass(frozen=True)
class JpegLayout:
    """What the walk found: frame marker and size, entropy-coded bytes, the bare copy."""

    frame: int
    width: int
    height: int
    scan_bytes: int
    bare: bytes

    @property
    def blocks(self) -> int:
        """8×8 blocks of a full-resolution component."""
        return -(-self.width // 8) * -(-self.height // 8)


def read_jpeg(data: bytes) -> JpegLayout:
    """Walk the segments of a JPEG (raises `JpegStructureError` on a damaged structure)."""
    if data[:2] != b"\xff\xd8":
        raise JpegStructureError("it does not start with a JPEG start marker")
    kept = [data[:2]]
    frame: tuple[int, int, int] | None = None
    scan_bytes = 0
    pos = 2
    while True:
        marker, pos = _marker_at(data, pos)
        if marker == EOI:
            kept.append(b"\xff\xd9")
            break
        if marker in (SOI, TEM) or 0xD0 <= marker <= 0xD7:
            raise JpegStructureError(f"an unexpected marker 0xFF{marker:02X}")
        if pos + 2 > len(data):
            raise JpegStructureError("the file ends inside a segment header (truncated)")
        end = pos + int.from_bytes(data[pos : pos + 2], "big")
        if end - pos < 2 or end > len(data):
            raise JpegStructureError("a segment runs past the end of the file (truncated)")
        segment = data[pos - 2 : end]
        if marker in OTHER_FRAMES:
            raise UnsupportedJpeg(
                "lossless, hierarchical and arithmetic-coded JPEGs are not accepted"
            )
        if marker in HUFFMAN_FRAMES:
            if frame is not None:
                raise JpegStructureError("more than one frame header")
            frame = _frame(marker, segment)
        if marker in KEPT or (marker == APP14 and segment[4:9] == b"Adobe"):
            kept.append(segment)
        pos = end
        if marker == SOS:
            if frame is None:
                raise JpegStructureError("scan data comes before the frame header")
            kept.append(segment)
            found = _NEXT_MARKER.search(data, pos)
            if found is None:
                raise JpegStructureError("the scan data has no end marker (truncated)")
            kept.append(data[pos : found.start()])
            scan_bytes += found.start() - pos
            pos = found.start()
    if frame is None or scan_bytes == 0:
        raise JpegStructureError("it has no frame header or no scan data")
    marker, width, height = frame
    return JpegLayout(marker, width, height, scan_bytes, b"".join(kept))


def _marker_at(data: bytes, pos: int) -> tuple[int, int]:
    """The marker byte at `pos` (after any fill bytes) and the position after it."""
    if pos >= len(data) or data[pos] != 0xFF:
        raise JpegStructureError("the file ends before its end marker (truncated)")
    while pos < len(data) and data[pos] == 0xFF:
        pos += 1
    if pos >= len(data):
        raise JpegStructureError("the file ends before its end marker (truncated)")
    return data[pos], pos + 1


def _frame(marker: int, segment: bytes) -> tuple[int, int, int]:
    if len(segment) < 10:
        raise JpegStructureError("the frame header is too short")
    height = int.from_bytes(segment[5:7], "big")
    width = int.from_bytes(segment[7:9], "big")
    if not width or not height:
        raise JpegStructureError("the frame header declares no size")
    return marker, width, height
