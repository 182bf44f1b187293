"""Bulk import: a `.zip` of images with `.txt` caption sidecars, unpacked in memory, and the
upload of a batch (zips expanded) in requests the daemon accepts.

`cat1.png` takes its caption from `cat1.txt` beside it (same folder, same name). Folders are
walked; `__MACOSX` and hidden entries are skipped; everything else that is not an image or a
sidecar is refused with its reason. An archive is refused whole when it lists too many entries
or declares too many bytes (zip bombs), and every entry is read within a byte bound, so a lying
header cannot make it larger than that.
"""

import io
import posixpath
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field

from bots.common import care_texts
from bots.common.client import DaemonClient
from bots.common.schemas import Actor, Upload
from core.enums import RefusalCode
from daemon.schemas import RefusedImage, UploadResult

MB = 1024 * 1024
MAX_ENTRIES = 500  # entries of one archive, folders and skipped ones included
MAX_TOTAL_BYTES = 200 * MB  # unpacked, all entries together
MAX_ENTRY_BYTES = 25 * MB  # unpacked, one image (the daemon's default largest file)
MAX_SIDECAR_BYTES = 64 * 1024
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})
CAPTION_SUFFIX = ".txt"
# One request to the daemon: well under its `max_upload_bytes`, and quick to answer.
BATCH_FILES = 20
BATCH_BYTES = 32 * MB


@dataclass
class Unpacked:
    """What an archive held: the images to upload (captioned) and the entries refused."""

    uploads: list[Upload] = field(default_factory=list)
    refused: list[RefusedImage] = field(default_factory=list)


def is_zip(upload: Upload) -> bool:
    """Whether an upload is an archive to unpack (by its name, as the person sent it)."""
    return upload.filename.lower().endswith(".zip")


def _refused(filename: str, message: str, code: RefusalCode) -> RefusedImage:
    return RefusedImage(filename=filename, code=code, message=str(message))


def _skipped(path: str) -> bool:
    """Folders, macOS resource forks and hidden files: not the person's pictures."""
    parts = path.split("/")
    return path.endswith("/") or any(p.startswith((".", "__MACOSX")) for p in parts if p)


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes | None:
    """The entry's bytes, or None past `limit` (whatever its header says)."""
    with archive.open(info) as entry:
        data = entry.read(limit + 1)
    return data if len(data) <= limit else None


def unpack(archive_upload: Upload) -> Unpacked:
    """The images and captions of a zip; the archive itself refused when it cannot be read or
    passes the limits."""
    name, out = archive_upload.filename, Unpacked()
    try:
        archive = zipfile.ZipFile(io.BytesIO(archive_upload.data))
    except zipfile.BadZipFile:
        out.refused.append(_refused(name, care_texts.ZIP_UNREADABLE, RefusalCode.not_an_image))
        return out
    with archive:
        infos = archive.infolist()
        declared = sum(i.file_size for i in infos)
        if len(infos) > MAX_ENTRIES:
            message = care_texts.ZIP_TOO_MANY.format(count=len(infos), max=MAX_ENTRIES)
            out.refused.append(_refused(name, message, RefusalCode.file_too_large))
        elif declared > MAX_TOTAL_BYTES:
            message = care_texts.ZIP_TOO_BIG.format(size=declared // MB, max=MAX_TOTAL_BYTES // MB)
            out.refused.append(_refused(name, message, RefusalCode.file_too_large))
        else:
            _entries(archive, [i for i in infos if not _skipped(i.filename)], out)
    return out


def _entries(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], out: Unpacked) -> None:
    images: list[tuple[str, bytes]] = []
    captions: dict[str, str] = {}
    budget = MAX_TOTAL_BYTES
    for info in infos:
        path = info.filename
        stem, suffix = posixpath.splitext(path)
        shown = posixpath.basename(path)
        suffix = suffix.lower()
        if suffix not in IMAGE_SUFFIXES and suffix != CAPTION_SUFFIX:
            out.refused.append(_refused(shown, care_texts.ZIP_NOT_IMAGE, RefusalCode.not_an_image))
            continue
        if info.flag_bits & 0x1:
            out.refused.append(_refused(shown, care_texts.ZIP_ENCRYPTED, RefusalCode.not_an_image))
            continue
        limit = min(budget, MAX_SIDECAR_BYTES if suffix == CAPTION_SUFFIX else MAX_ENTRY_BYTES)
        try:
            data = _read(archive, info, limit)
        except (zipfile.BadZipFile, EOFError, NotImplementedError, ValueError):
            message = care_texts.ZIP_BROKEN_ENTRY
            out.refused.append(_refused(shown, message, RefusalCode.corrupt_image))
            continue
        if data is None:
            message = care_texts.ZIP_ENTRY_TOO_BIG.format(max=limit // MB or 1)
            out.refused.append(_refused(shown, message, RefusalCode.file_too_large))
            continue
        budget -= len(data)
        if suffix == CAPTION_SUFFIX:
            captions[stem.casefold()] = data.decode("utf-8-sig", errors="replace").strip()
        else:
            images.append((path, data))
    _pair(images, captions, out)


def _pair(images: list[tuple[str, bytes]], captions: dict[str, str], out: Unpacked) -> None:
    """Each image with the caption of its sidecar; sidecars without an image are refused."""
    used: set[str] = set()
    for path, data in images:
        key = posixpath.splitext(path)[0].casefold()
        used.add(key)
        caption = captions.get(key) or None
        out.uploads.append(Upload(posixpath.basename(path), data, caption))
    for key in sorted(set(captions) - used):
        shown = posixpath.basename(key) + CAPTION_SUFFIX
        out.refused.append(
            _refused(shown, care_texts.ZIP_LONELY_CAPTION, RefusalCode.not_an_image)
        )


def expand(uploads: Sequence[Upload]) -> Unpacked:
    """The uploads with every zip replaced by its images; names made unique, so captions map
    one to one."""
    out = Unpacked()
    for up in uploads:
        if is_zip(up):
            inner = unpack(up)
            out.uploads += inner.uploads
            out.refused += inner.refused
        else:
            out.uploads.append(up)
    seen: dict[str, int] = {}
    unique = []
    for up in out.uploads:
        n = seen[up.filename] = seen.get(up.filename, 0) + 1
        name = up.filename if n == 1 else f"{n}_{up.filename}"
        unique.append(Upload(name, up.data, up.caption))
    out.uploads = unique
    return out


def batches(uploads: list[Upload]) -> list[list[Upload]]:
    batches: list[list[Upload]] = [[]]
    size = 0
    for up in uploads:
        if batches[-1] and (len(batches[-1]) >= BATCH_FILES or size + len(up.data) > BATCH_BYTES):
            batches.append([])
            size = 0
        batches[-1].append(up)
        size += len(up.data)
    return [b for b in batches if b]


async def upload(
    client: DaemonClient,
    actor: Actor,
    dataset_id: int,
    uploads: Sequence[Upload],
    refused: Sequence[RefusedImage] = (),
) -> UploadResult:
    """Upload a batch (zips unpacked) in requests of a bounded size: one answer for all, each
    file added or refused with its reason; `refused`: files refused before any download."""
    expanded = expand(uploads)
    result = UploadResult(added=[], refused=[*refused, *expanded.refused])
    for batch in batches(expanded.uploads):
        answer = await client.upload_images(actor, dataset_id, batch)
        result.added += answer.added
        result.refused += answer.refused
    return result
